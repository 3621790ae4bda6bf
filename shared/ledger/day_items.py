"""A user's (or a tenant's) day item: the day total and the ``type_model`` sub-counters in one small item.

DynamoDB bills an ``UpdateItem`` on the larger of the item before and after it, 1 WRU per started KB, so
the sub-counters are kept short: each one's attributes are ``m<digest><field>``, where ``digest`` is 8 hex
digits of the SHA-256 of the ``type_model`` value and ``field`` one letter (``n`` nanos, ``r`` requests,
``i``/``o``/``c`` input/output/cached tokens, ``f`` fallbacks), and ``m<digest>l`` holds the value itself,
written once (``SET … = if_not_exists(…)``). A field is added only when its delta is non-zero (absent
reads as 0), so a caption's sub-counter is five attributes, ~70 bytes beside its ~50-byte label. A user of
one campaign type on both its routes, whose day was folded from six shards (DynamoDB rolls a shard about every
4 hours; each mark ~72 bytes), stays under 1 KB: one WRU per fold; each more model adds ~130 bytes, so a user
of all four types across six shards pays 2.

Collisions: two ``type_model`` values with the same 32-bit digest would share a sub-counter (and the first
one's label). The values are the served routes' type x deployment x model, a few dozen at most: the chance
of any collision among 50 values is about 3 in 10 million, and it is the same every day (a route set that
collides would collide in every test).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from shared.ledger.store import Counters

_PREFIX = "m"
_LABEL = "l"
_FIELDS = {"n": "nanos", "r": "requests", "i": "tokens_in", "o": "tokens_out", "f": "fallbacks", "c": "cached_tokens"}
_ATTRIBUTE = re.compile(rf"^{_PREFIX}([0-9a-f]{{8}})([{''.join(_FIELDS)}{_LABEL}])$")


def digest(value: str) -> str:
    """8 hex digits naming one ``type_model`` value's sub-counter."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def sub_counter_adds(by_value: Mapping[str, Counters]) -> dict[str, int]:
    """The attributes to ``ADD`` for each value's delta: non-zero fields only."""
    adds: dict[str, int] = {}
    for value, counters in by_value.items():
        prefix = f"{_PREFIX}{digest(value)}"
        for letter, name in _FIELDS.items():
            amount = getattr(counters, name)
            if amount:
                adds[f"{prefix}{letter}"] = amount
    return adds


def sub_counter_labels(values: Iterable[str]) -> dict[str, str]:
    """The label attribute of each value (set once, if absent)."""
    return {f"{_PREFIX}{digest(value)}{_LABEL}": value for value in values}


def sub_counters(item: Mapping[str, Any]) -> dict[str, Counters]:
    """A day item's sub-counters by ``type_model`` value."""
    labels: dict[str, str] = {}
    fields: dict[str, dict[str, int]] = {}
    for name, raw in item.items():
        matched = _ATTRIBUTE.match(name)
        if matched is None:
            continue
        key, letter = matched.groups()
        if letter == _LABEL:
            labels[key] = str(raw)
        else:
            fields.setdefault(key, {})[_FIELDS[letter]] = int(raw)
    return {labels[key]: Counters(**values) for key, values in fields.items() if key in labels}
