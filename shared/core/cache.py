"""What a container remembers for a while: per-key values trusted for ``ttl_s`` seconds after they were read.

A warm Lambda container serves many requests; reading slowly changing configuration (a user's budget cap,
the routing overrides, the flag document) on every one costs a round trip each time. A cache trades that
for a bounded delay: a change made anywhere is in effect in every container within ``ttl_s``. A load that
raises caches nothing, so the next call reads again; a caller that prefers the last value to an error
catches in its ``load`` and returns :meth:`TtlCache.last`. The clock is injected (``time.monotonic`` by
default: wall-clock jumps do not expire or extend an entry).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key, each fresh until ``ttl_s`` seconds after it was loaded (``ttl_s=0``: always reloaded)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}  # key -> (fresh until, value)

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value while fresh, else ``load()``'s, remembered from now on."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and now < entry[0]:
            return entry[1]
        value = load()
        self._entries[key] = (now + self._ttl_s, value)
        return value

    def last(self, key: K, default: V) -> V:
        """The value last loaded for ``key``, fresh or not; ``default`` when none was."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else default
