"""The one TTL cache: per key, fresh for ttl_s on an injected clock; a load that fails caches nothing."""

from __future__ import annotations

import pytest

from shared.core.cache import TtlCache


def test_each_key_is_loaded_once_per_ttl_on_the_injected_clock():
    now = [10.0]
    loads: list[str] = []
    cache: TtlCache[str, str] = TtlCache(5, clock=lambda: now[0])

    def load(key: str) -> str:
        loads.append(key)
        return f"{key}@{now[0]}"

    assert cache.get("a", lambda: load("a")) == "a@10.0"
    assert cache.get("b", lambda: load("b")) == "b@10.0"
    now[0] = 14.9
    assert cache.get("a", lambda: load("a")) == "a@10.0"
    now[0] = 15.0  # exactly ttl_s later: stale
    assert cache.get("a", lambda: load("a")) == "a@15.0"
    assert loads == ["a", "b", "a"]


def test_a_failed_load_caches_nothing_and_the_last_value_stays_available():
    cache: TtlCache[str, int] = TtlCache(0, clock=lambda: 0.0)
    assert cache.last("k", -1) == -1
    assert cache.get("k", lambda: 1) == 1

    def broken() -> int:
        raise OSError("unreadable")

    with pytest.raises(OSError):
        cache.get("k", broken)
    assert cache.last("k", -1) == 1
    assert cache.get("k", lambda: 2) == 2  # ttl 0: every call reads
