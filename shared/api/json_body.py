"""The JSON text of every answer: compact, and numbers in fixed notation (``0.000022``, never ``2.2e-05``).

USD amounts are floats derived from exact micro-dollars, and Python writes a float below 1e-4 in
exponent notation. JSON allows it, but people, spreadsheets and the product's examples read
``0.000022``, so the answer's text rewrites every exponent-notation number in fixed notation. The
rewrite runs on the encoder's own output: outside string literals (which the pattern matches whole
and leaves untouched) a token with an exponent can only be a number, and its fixed form is the same
value with the same shortest digits, so the answer stays a JSON number with exactly that value.
Only negative exponents are rewritten: Python uses a positive one from 1e16 up, far beyond any
amount here, where a fixed form would read as an integer of a different value.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.shared.json_encoder import Encoder

# A whole string literal (kept as it is), or a number written with an exponent (rewritten).
_STRING_OR_EXPONENT = re.compile(r'("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?[eE]-\d+)')


def fixed_notation(number_text: str) -> str:
    """``2.2e-05`` → ``0.000022``: the same value and digits, no exponent."""
    return format(Decimal(number_text), "f")


def api_json(body: Any) -> str:
    """The resolver's serializer: compact JSON with every number in fixed notation."""
    text = json.dumps(body, separators=(",", ":"), cls=Encoder)
    if "e-" not in text:
        return text
    return _STRING_OR_EXPONENT.sub(lambda m: m.group(1) or fixed_notation(m.group(2)), text)
