"""Identifier formats of the sending path, strict so they are safe inside keys we compose.

The idempotency key is ``<workflowId>#<recipientId>`` and the limiter's Redis key embeds the
account id, so neither id may contain ``#``, ``:``, spaces or braces. Both are the platform's
own ids: letters, digits, ``_`` and ``-``, starting with a letter or digit.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"
FAN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_RECIPIENTS = 1000

AccountId = Annotated[
    str,
    Field(pattern=ACCOUNT_ID_PATTERN, description="Creator account on the platform: 3-64 of [A-Za-z0-9_-]"),
]
FanId = Annotated[str, Field(pattern=FAN_ID_PATTERN, description="Fan id on the platform: 1-64 of [A-Za-z0-9_-]")]


def idempotency_key(workflow_id: str, recipient_id: str) -> str:
    """The producer's key of one send: the same fan of the same workflow is one message, forever."""
    return f"{workflow_id}#{recipient_id}"
