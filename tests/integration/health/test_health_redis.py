"""The health route's cache probe against real Redis: truthful on a cluster, one connection, one probe per window.

The real ``functions/health`` handler in this process (a warm container), over the session's moto
server, its single Redis and the three-master cluster.
"""

from __future__ import annotations

import json

import pytest
import redis

from local.events import LambdaContext, build_http_event
from shared.sending.limiter import PROBE_SLOT_BUCKETS

PATH = "/api/health/hybrid-orchestrator"


def call_health(local_stack) -> tuple[int, dict]:
    event = build_http_event(
        method="GET",
        raw_path=PATH,
        raw_query="",
        headers=[("host", "127.0.0.1")],
        body=b"",
        route_key=f"GET {PATH}",
        source_ip="127.0.0.1",
    )
    context = LambdaContext(function_name="health", memory_limit_in_mb=256, timeout_s=10)
    result = local_stack.handlers.get("health")(event, context)
    return result["statusCode"], json.loads(result["body"])


@pytest.fixture
def stats_of():
    """``stats_of(url)``: (connections the server has accepted so far, limiter script calls it has run).

    Asked over one connection per server, opened on first use and kept, so asking adds nothing.
    """
    clients: dict[str, redis.Redis] = {}

    def stats(url: str) -> tuple[int, int]:
        client = clients.setdefault(url, redis.Redis.from_url(url))
        connections = client.info("stats")["total_connections_received"]
        calls = client.info("commandstats")
        return connections, sum(calls.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))

    yield stats
    for client in clients.values():
        client.close()


@pytest.mark.parametrize(
    ("mode", "status", "detail"),
    [("standalone", "unhealthy", "MovedError"), ("auto", "healthy", None), ("cluster", "healthy", None)],
)
def test_on_a_cluster_the_cache_is_unhealthy_exactly_when_the_limiter_could_not_decide(
    local_stack, redis_cluster, mode, status, detail
):
    settings = {"REDIS_URL": redis_cluster.url, "REDIS_CLUSTER_MODE": mode, "HEALTH_CACHE_S": "0"}
    with local_stack.override_settings(settings):
        code, body = call_health(local_stack)
    cache = body["checks"]["cache"]
    assert (cache["status"], cache.get("detail")) == (status, detail)
    # The cache alone is not critical: sending stops (fails closed), campaigns still run.
    assert code == 200 and body["status"] == ("degraded" if status == "unhealthy" else "healthy")


def test_twenty_probing_health_calls_reuse_one_redis_connection(local_stack, redis_server, stats_of):
    with local_stack.override_settings({"HEALTH_CACHE_S": "0"}):  # no cache: every call probes Redis
        assert call_health(local_stack)[1]["checks"]["cache"]["status"] == "healthy"
        connections_before, scripts_before = stats_of(redis_server.url)
        for _ in range(20):
            assert call_health(local_stack)[1]["checks"]["cache"]["status"] == "healthy"
        connections_after, scripts_after = stats_of(redis_server.url)
    assert scripts_after - scripts_before == 20 * PROBE_SLOT_BUCKETS  # it did probe, every time
    assert connections_after - connections_before == 0  # through the container's one connection


def test_twenty_probing_health_calls_on_a_cluster_open_no_new_connections(local_stack, redis_cluster, stats_of):
    settings = {"REDIS_URL": redis_cluster.url, "REDIS_CLUSTER_MODE": "cluster", "HEALTH_CACHE_S": "0"}
    with local_stack.override_settings(settings):
        assert call_health(local_stack)[1]["checks"]["cache"]["status"] == "healthy"
        before = [stats_of(node.url) for node in redis_cluster.nodes]
        for _ in range(20):
            call_health(local_stack)
        after = [stats_of(node.url) for node in redis_cluster.nodes]
    assert [a[0] - b[0] for a, b in zip(after, before, strict=True)] == [0, 0, 0]
    assert [a[1] - b[1] for a, b in zip(after, before, strict=True)] == [20, 20, 20]  # one probe key per shard


def test_within_the_cache_window_twenty_calls_probe_redis_once(local_stack, redis_server, stats_of):
    with local_stack.override_settings({"HEALTH_CACHE_S": "60"}):
        _, scripts_before = stats_of(redis_server.url)
        answers = [call_health(local_stack) for _ in range(20)]
        _, scripts_after = stats_of(redis_server.url)
    assert scripts_after - scripts_before == PROBE_SLOT_BUCKETS  # one probe, then the cached report
    assert all(answer == answers[0] for answer in answers)


def test_over_tls_the_cache_is_healthy_with_the_configured_ca_and_unhealthy_without(local_stack, redis_tls):
    settings = {"REDIS_URL": redis_tls.url, "HEALTH_CACHE_S": "0"}
    with local_stack.override_settings({**settings, "REDIS_SSL_CA_CERTS": str(redis_tls.tls.ca_cert)}):
        assert call_health(local_stack)[1]["checks"]["cache"]["status"] == "healthy"
    with local_stack.override_settings(settings):  # the system trust store has never seen the test CA
        cache = call_health(local_stack)[1]["checks"]["cache"]
    assert (cache["status"], cache["detail"]) == ("unhealthy", "ConnectionError")
