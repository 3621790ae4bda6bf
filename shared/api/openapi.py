"""One OpenAPI document for every route, merged from the handlers' own resolvers (never hand-written).

Each function keeps its own Powertools resolver; Powertools' ``OpenAPIMerge`` loads every
``<function>/app.py`` beside this function's code and merges their schemas, so the document
always says what the deployed code validates.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from shared.api.schemas import API_TITLE, API_VERSION, SECURITY_SCHEMES


@lru_cache(maxsize=1)
def openapi_document(functions_dir: Path) -> dict[str, Any]:
    """The merged document of every ``functions/<name>/app.py``; built once per container."""
    merge = OpenAPIMerge(
        title=API_TITLE,
        version=API_VERSION,
        description="Hybrid LLM campaigns: Azure OpenAI for planning, OpenAI for chat, priced per token.",
        security_schemes=SECURITY_SCHEMES,
        on_conflict="error",
    )
    for handler_file in sorted(functions_dir.glob("*/app.py")):
        if "build_resolver(" in handler_file.read_text():  # queue consumers serve no HTTP route
            merge.add_file(handler_file)
    return json.loads(merge.get_openapi_json_schema())
