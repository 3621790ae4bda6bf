"""The sliding-window limiter against a real Redis: exact under concurrency, one round trip, fails closed.

The exactness tests run against the session's single Redis and against a three-master Redis
Cluster through the cluster client; the TLS tests against a TLS-only server with a throwaway CA.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict

import pytest
import redis
from redis.cluster import RedisCluster

from shared.sending.limiter import KEY_PREFIX, PROBE_KEY_PREFIX, SLIDING_LOG_SHA, SlidingWindowLimiter
from shared.sending.redis_connection import redis_client

LIMIT = 10
WINDOW_MS = 1000
WORKERS, ACCOUNTS, ATTEMPTS = 50, 20, 500

# A fixed-window counter (what the limiter must NOT be): the checker below has to catch it.
FIXED_WINDOW_LUA = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local key = KEYS[1] .. ':' .. math.floor(now_us / tonumber(ARGV[2]))
local n = redis.call('INCR', key)
redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2]) / 1000) * 2)
if n <= tonumber(ARGV[1]) then return {1, 0, now[1], now[2]} end
return {0, 0, now[1], now[2]}
"""


def worst_window(times_us: list[int], limit: int, window_us: int) -> int | None:
    """The shortest span holding ``limit + 1`` admitted sends, if one is shorter than the window.

    Every window, not fixed buckets: for sorted times, some window of length W holds more than
    ``limit`` sends exactly when ``t[i + limit] - t[i] < W`` for some i.
    """
    ordered = sorted(times_us)
    spans = [ordered[i + limit] - ordered[i] for i in range(len(ordered) - limit)]
    shortest = min(spans, default=None)
    return shortest if shortest is not None and shortest < window_us else None


def hammer(acquire, seed: int, attempts: int = ATTEMPTS) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """WORKERS threads x ``attempts`` decisions over ACCOUNTS accounts: admitted times (Redis clock), all times."""
    admitted: dict[str, list[int]] = defaultdict(list)
    decided: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    accounts = [f"acct-{seed}-{i:02d}" for i in range(ACCOUNTS)]
    start = threading.Barrier(WORKERS)

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        start.wait()
        for _ in range(attempts):
            account = rng.choice(accounts)
            allowed, server_us = acquire(account)
            with lock:
                decided[account].append(time.time_ns() // 1000)  # same host clock as Redis's TIME
                if allowed:
                    admitted[account].append(server_us)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return admitted, decided


@pytest.fixture
def client(redis_server):
    connection = redis_client(redis_server.url, 2.0)
    yield connection
    connection.close()


@pytest.fixture(params=["single", "cluster"])
def any_client(request):
    """The session's single Redis, or the three-master cluster (through the client ``auto`` picks)."""
    server = request.getfixturevalue("redis_server" if request.param == "single" else "redis_cluster")
    connection = redis_client(server.url, 2.0)
    assert isinstance(connection, RedisCluster) == (request.param == "cluster")
    yield connection
    connection.close()


def test_fifty_workers_never_get_more_than_the_limit_into_any_window_of_any_account(any_client):
    client = any_client
    limiter = SlidingWindowLimiter(client, LIMIT, WINDOW_MS)

    def acquire(account: str) -> tuple[bool, int]:
        decision = limiter.acquire(account)
        assert decision.reason != "unavailable"
        return decision.allowed, decision.server_time_us

    admitted, decided = hammer(acquire, seed=1)
    assert sum(len(v) for v in decided.values()) == WORKERS * ATTEMPTS
    for account, times in admitted.items():
        assert worst_window(times, LIMIT, WINDOW_MS * 1000) is None, account
        # Not by refusing everything: with demand far above the limit, every window is filled.
        span_us = max(decided[account]) - min(decided[account])
        assert len(times) >= LIMIT * (span_us // (WINDOW_MS * 1000)), account
    assert len(admitted) == ACCOUNTS
    assert max(client.zcard(KEY_PREFIX + account) for account in admitted) == LIMIT  # the log stays bounded


def test_the_window_checker_catches_a_fixed_window_limiter(client):
    sha = client.script_load(FIXED_WINDOW_LUA)

    def acquire(account: str) -> tuple[bool, int]:
        allowed, _, seconds, micros = client.evalsha(sha, 1, f"test:fixed:{account}", LIMIT, WINDOW_MS * 1000)
        return bool(allowed), int(seconds) * 1_000_000 + int(micros)

    admitted, _ = hammer(acquire, seed=2, attempts=150)  # 7,500 decisions cross window edges often enough
    assert any(worst_window(times, LIMIT, WINDOW_MS * 1000) is not None for times in admitted.values())


def test_a_limited_caller_is_told_when_the_oldest_send_leaves_the_window(any_client):
    client = any_client
    limiter = SlidingWindowLimiter(client, 3, 600)
    account = f"wait-{uuid.uuid4().hex[:8]}"
    admitted = [limiter.acquire(account) for _ in range(3)]
    assert all(d.allowed for d in admitted)
    refused = limiter.acquire(account)
    seconds, micros = client.time()  # any node of the cluster: they share this host's clock
    assert not refused.allowed and refused.reason == "limited"
    first_us, last_us, after_us = admitted[0].server_time_us, admitted[-1].server_time_us, seconds * 10**6 + micros
    # The oldest of the three leaves the window 600 ms after it was admitted.
    assert 600 - (after_us - first_us) / 1000 - 1 <= refused.retry_after_ms <= 600 - (last_us - first_us) / 1000 + 1
    time.sleep(refused.retry_after_ms / 1000 + 0.01)
    assert limiter.acquire(account).allowed
    assert 0 < client.pttl(KEY_PREFIX + account) <= 600  # the log expires with the window


def test_the_guard_widens_the_window(any_client):
    limiter = SlidingWindowLimiter(any_client, 1, 200, guard_ms=300)
    account = f"guard-{uuid.uuid4().hex[:8]}"
    assert limiter.acquire(account).allowed
    time.sleep(0.25)
    refused = limiter.acquire(account)
    assert not refused.allowed and 200 <= refused.retry_after_ms <= 300


def test_one_round_trip_per_decision_and_the_script_is_loaded_once(client):
    client.script_flush()
    client.config_resetstat()
    limiter = SlidingWindowLimiter(client, 5, 1000)
    decisions = 200
    for n in range(decisions):
        limiter.acquire(f"rt-{n % 7}")
    stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): entry["calls"] for name, entry in stats.items()}
    # The first EVALSHA meets NOSCRIPT, EVAL runs and caches it; every later decision is one EVALSHA.
    assert calls.get("eval") == 1
    assert calls.get("evalsha") == decisions
    assert client.script_exists(SLIDING_LOG_SHA) == [True]
    inner = {"zremrangebyscore", "zcard", "zadd", "pexpire", "zrange", "time"}
    outer = set(calls) - inner - {"eval", "evalsha", "info", "config|resetstat", "config"}
    assert outer == set(), outer  # nothing else was sent from the client


def test_redis_unreachable_means_not_now_quickly_never_send(redis_server):
    if not redis_server.managed:
        pytest.skip("an external REDIS_URL cannot be stopped")
    limiter = SlidingWindowLimiter(redis_client(redis_server.url, 0.2), 10, 1000, unavailable_retry_ms=7000)
    redis_server.stop()
    try:
        started = time.perf_counter()
        decisions = [limiter.acquire("down") for _ in range(5)]
        assert time.perf_counter() - started < 2
        assert all(not d.allowed and d.reason == "unavailable" and d.retry_after_s == 7 for d in decisions)
    finally:
        redis_server.start()
    assert limiter.acquire("down").allowed


def test_a_timeout_is_not_now_too(redis_server):
    blackhole = redis.Redis(host="10.255.255.1", port=6379, socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = SlidingWindowLimiter(blackhole, 10, 1000)
    decision = limiter.acquire("nowhere")
    assert not decision.allowed and decision.reason == "unavailable"


def test_on_a_cluster_each_shard_loads_the_script_once_and_every_decision_is_one_evalsha(redis_cluster):
    client = redis_client(redis_cluster.url, 2.0)
    try:
        client.execute_command("SCRIPT FLUSH", target_nodes=RedisCluster.PRIMARIES)
        client.execute_command("CONFIG RESETSTAT", target_nodes=RedisCluster.PRIMARIES)
        limiter = SlidingWindowLimiter(client, 5, 1000)
        decisions = 300
        assert all(limiter.acquire(f"shard-{n % 30}").reason != "unavailable" for n in range(decisions))
        stats = client.info("commandstats", target_nodes=RedisCluster.PRIMARIES)
        per_node = {
            node: {k.removeprefix("cmdstat_"): v["calls"] for k, v in info.items()} for node, info in stats.items()
        }
        assert len(per_node) == 3 and all(
            calls.get("eval") == 1 for calls in per_node.values()
        )  # NOSCRIPT once per shard
        assert sum(calls.get("evalsha", 0) for calls in per_node.values()) == decisions
    finally:
        client.close()


def test_a_standalone_client_on_a_cluster_fails_closed_for_most_accounts_and_its_probe_says_why(redis_cluster):
    standalone = redis_client(redis_cluster.url, 1.0, cluster_mode="standalone")
    try:
        limiter = SlidingWindowLimiter(standalone, 10, 1000)
        reasons = [limiter.acquire(f"moved-{n}").reason for n in range(60)]
        assert 20 <= reasons.count("unavailable") <= 55  # the two shards it is not talking to answer MOVED
        with pytest.raises(redis.exceptions.MovedError):
            limiter.probe()
    finally:
        standalone.close()


def test_the_probe_decides_on_every_shard_and_leaves_account_keys_alone(redis_cluster):
    client = redis_client(redis_cluster.url, 1.0)
    try:
        limiter = SlidingWindowLimiter(client, 10, 1000)
        assert limiter.probe() == 3  # one reserved key per primary
        for node in client.get_primaries():
            keys = client.keys("of:*", target_nodes=node)
            assert all(key.decode().startswith(PROBE_KEY_PREFIX) or key.decode().startswith(KEY_PREFIX) for key in keys)
        time.sleep(0.01)
        probe_keys = [
            k for node in client.get_primaries() for k in client.keys(PROBE_KEY_PREFIX + "*", target_nodes=node)
        ]
        assert probe_keys == []  # a 1 ms window: gone already
    finally:
        client.close()


def test_rediss_with_the_given_ca_decides_and_verifies_the_server(redis_tls):
    ca = str(redis_tls.tls.ca_cert)
    assert redis_tls.url.startswith("rediss://")
    client = redis_client(redis_tls.url, 1.0, ssl_ca_certs=ca)
    try:
        limiter = SlidingWindowLimiter(client, 2, 1000)
        account = f"tls-{uuid.uuid4().hex[:8]}"
        assert [limiter.acquire(account).reason for _ in range(3)] == ["admitted", "admitted", "limited"]
        assert limiter.probe() == 8
    finally:
        client.close()
    # Without the CA the system trust store decides, and it has never heard of this one: no decision.
    untrusted = SlidingWindowLimiter(redis_client(redis_tls.url, 1.0, cluster_mode="standalone"), 2, 1000)
    assert untrusted.acquire("tls-untrusted").reason == "unavailable"
    with pytest.raises(redis.exceptions.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.probe()
    # And the TLS-only port does not speak plain Redis.
    plain = SlidingWindowLimiter(
        redis_client(redis_tls.url.replace("rediss://", "redis://"), 0.5, cluster_mode="standalone"), 2, 1000
    )
    assert plain.acquire("tls-plain").reason == "unavailable"


def test_a_shard_away_fails_closed_for_its_accounts_only_and_quickly():
    from local.redis_server import RedisClusterServer

    with RedisClusterServer(masters=3) as cluster:  # its own: a cluster with a node away is no use to later tests
        client = redis_client(cluster.url, 0.2)
        limiter = SlidingWindowLimiter(client, 10, 1000)
        accounts = [f"away-{n}" for n in range(30)]
        assert all(limiter.acquire(account).allowed for account in accounts)
        away = cluster.nodes[2]
        on_away_node = {a for a in accounts if client.get_node_from_key(KEY_PREFIX + a).port == away.port}
        away.stop()
        started = time.perf_counter()
        decisions = {account: limiter.acquire(account) for account in accounts}
        assert time.perf_counter() - started < 5
        assert {a for a, d in decisions.items() if d.reason == "unavailable"} == on_away_node != set()
        assert all(d.allowed for a, d in decisions.items() if a not in on_away_node)
        with pytest.raises(redis.exceptions.ConnectionError):
            limiter.probe()
        client.close()
