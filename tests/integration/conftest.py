"""Integration tier: real moto server, real Redis and the provider simulator over HTTP (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from shared import container
from shared.config.settings import Settings, get_settings


@pytest.fixture
def settings(local_stack) -> Settings:
    container.clear_caches()  # a fresh 'container': settings read again from the environment
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
