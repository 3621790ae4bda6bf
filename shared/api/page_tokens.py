"""``nextToken``: an opaque cursor that names its listing, so a token from one listing never resumes another.

The token is the listing's name and the sort key the next page starts after, as URL-safe base64 of
a small JSON object. It is not a secret (the caller sees only keys of their own listing); decoding
checks both parts and answers anything else with a 422 naming ``nextToken``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError


def encode_page_token(listing: str, last_key: str) -> str:
    """The token of the page after ``last_key`` in ``listing``."""
    raw = json.dumps({"o": listing, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, listing: str, key_pattern: re.Pattern[str]) -> str:
    """The sort key ``token`` resumes after; a token of another listing (or not a token at all) is a 422."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(data, dict) and data.get("o") == listing and key_pattern.match(str(data.get("k"))):
            return str(data["k"])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise RequestValidationError(
        [{"loc": ("query", "nextToken"), "msg": "not a nextToken of this listing", "type": "value_error"}]
    )
