"""Integration tier: real moto server, real Redis and the provider simulator over HTTP (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from shared.config.settings import Settings, get_settings
from shared.wiring import container
from tests.support.moto_tables import new_store, table  # noqa: F401  (fixtures for every module here)


@pytest.fixture
def settings(local_stack) -> Settings:
    container.clear_caches()  # a fresh 'container': settings read again from the environment
    return get_settings()


@pytest.fixture
def fresh_container(local_stack):
    """The composition root with nothing cached, before and after the test: a new Lambda container."""
    container.clear_caches()
    yield container
    container.clear_caches()


@pytest.fixture
def sim(local_stack):
    """The provider simulator, with no faults left over from another test."""
    local_stack.sim.reset()
    yield local_stack.sim
    local_stack.sim.reset()


@pytest.fixture(autouse=True)
def _fresh_breaker_counters():
    """Powertools keeps per-environment failure streaks at module level: each test is a new container."""
    from aws_lambda_powertools.utilities.circuit_breaker import base

    base._LOCAL_FAILURES.clear()
    base._LOCAL_SUCCESSES.clear()
    base._LAST_OBSERVED_STATE.clear()


@pytest.fixture(scope="session")
def redis_cluster():
    """A three-master Redis Cluster of our own (started on first use, stopped at the end of the session)."""
    from local.redis_server import RedisClusterServer

    with RedisClusterServer(masters=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_tls(tmp_path_factory):
    """A TLS-only redis-server (no plain port) with a throwaway CA; skipped when the binary has no TLS."""
    from local.redis_server import RedisServer, binary_supports_tls, find_redis_binary
    from local.tls import write_test_certificates

    binary, kind = find_redis_binary()
    if not binary_supports_tls(binary):
        pytest.skip(f"{kind} at {binary} was built without TLS (no OpenSSL in the binary)")
    with RedisServer(tls=write_test_certificates(tmp_path_factory.mktemp("redis-tls"))) as server:
        yield server
