"""The base of every wire model: Python names in code, camelCase on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Python names in code, camelCase on the wire.

    Models here build their validators on first use (``defer_build``): each function imports many
    models and uses a few, and building the others would cost its cold start for nothing.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)
