"""The one TTL cache: per key, fresh for ttl_s on an injected clock; a load that fails caches nothing."""

from __future__ import annotations

import threading
import time

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


def test_threads_missing_one_key_together_load_it_once():
    cache: TtlCache[str, int] = TtlCache(5)
    loads: list[int] = []
    start = threading.Barrier(8)

    def load() -> int:
        loads.append(1)
        time.sleep(0.05)  # long enough for every other thread to miss too
        return 7

    def worker(results: list[int]) -> None:
        start.wait()
        results.append(cache.get("cap", load))

    results: list[int] = []
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (results, len(loads)) == ([7] * 8, 1)


def test_with_ttl_zero_concurrent_calls_each_load_without_waiting():
    cache: TtlCache[str, int] = TtlCache(0)
    inside = threading.Barrier(2, timeout=2)  # both loads must be in flight at once, or this times out

    def load() -> int:
        inside.wait()
        return 1

    threads = [threading.Thread(target=cache.get, args=("k", load)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not inside.broken
