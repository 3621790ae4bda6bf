"""Integration tier: real moto server, real Redis and the provider simulator over HTTP (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from shared import container
from shared.settings import Settings, get_settings

CONTAINER_CACHES = [
    container.aws_client,
    container.workflow_store,
    container.price_table,
    container.circuit_store,
    container.circuit_config,
    container.provider_router,
    container.campaign_service,
]


def reset_container() -> None:
    """A fresh 'container': settings read again from the environment, clients rebuilt."""
    get_settings.cache_clear()
    for factory in CONTAINER_CACHES:
        factory.cache_clear()


@pytest.fixture
def settings(local_stack) -> Settings:
    reset_container()
    return get_settings()


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
