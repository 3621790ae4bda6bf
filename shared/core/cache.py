"""What a container remembers for a while: per-key values trusted for ``ttl_s`` seconds after they were read.

A warm Lambda container serves many requests; reading slowly changing configuration (a user's budget cap,
the routing overrides, the flag document) on every one costs a round trip each time. A cache trades that
for a bounded delay: a change made anywhere is in effect in every container within ``ttl_s``. A load that
raises caches nothing, so the next call reads again; a caller that prefers the last value to an error
catches in its ``load`` and returns :meth:`TtlCache.last`. The clock is injected (``time.monotonic`` by
default: wall-clock jumps do not expire or extend an entry).

Concurrent misses of one key load once: a fan campaign admits its messages from worker threads, which all
miss together; without a per-key lock each would read the same item (one cap Query per thread).
"""

from __future__ import annotations

import threading
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
        self._locks: dict[K, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value while fresh, else ``load()``'s, remembered from now on; threads missing the
        same key together wait for one load (``ttl_s=0``: no waiting, every call loads)."""
        fresh = self._fresh(key)
        if fresh is not None or self._ttl_s <= 0:
            return fresh[0] if fresh is not None else self._load(key, load)
        with self._lock_of(key):
            fresh = self._fresh(key)  # loaded by the thread this one waited for
            return fresh[0] if fresh is not None else self._load(key, load)

    def _fresh(self, key: K) -> tuple[V] | None:
        entry = self._entries.get(key)
        return (entry[1],) if entry is not None and self._clock() < entry[0] else None

    def _load(self, key: K, load: Callable[[], V]) -> V:
        now = self._clock()
        value = load()
        self._entries[key] = (now + self._ttl_s, value)
        return value

    def _lock_of(self, key: K) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def last(self, key: K, default: V) -> V:
        """The value last loaded for ``key``, fresh or not; ``default`` when none was."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else default
