import re

import redis
from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError
from redis.crc import key_slot

from shared.core.pricing import PriceTable
from shared.health.checks import (
    CheckResult,
    HealthCheck,
    NotConfiguredError,
    circuits_status,
    orchestrator_probe,
    overall_status,
    run_check,
)
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, RouteCandidate
from shared.sending.limiter import KEY_PREFIX, PROBE_KEY_PREFIX, PROBE_SLOT_BUCKETS, probe_keys


def result(status):
    return CheckResult(status, 1.0)


def test_probe_outcomes():
    assert run_check(lambda: None).status == "healthy"
    assert run_check(lambda: "degraded").status == "degraded"

    def broken():
        raise ConnectionError("down")

    def absent():
        raise NotConfiguredError("no redis")

    failed = run_check(broken)
    assert (failed.status, failed.detail) == ("unhealthy", "ConnectionError")
    assert run_check(absent).status == "not_configured"


def test_overall_status_rules():
    healthy = {n: result("healthy") for n in ("database", "cache", "queue", "azureProvider", "openaiProvider")}
    assert overall_status(healthy) == "healthy"
    assert overall_status({**healthy, "cache": result("not_configured")}) == "healthy"
    assert overall_status({**healthy, "azureProvider": result("unhealthy")}) == "degraded"
    assert overall_status({**healthy, "queue": result("unhealthy")}) == "degraded"
    assert overall_status({**healthy, "database": result("unhealthy")}) == "unhealthy"
    both_down = {**healthy, "azureProvider": result("unhealthy"), "openaiProvider": result("unhealthy")}
    assert overall_status(both_down) == "unhealthy"


def test_provider_status_from_its_circuits():
    assert circuits_status(["CLOSED", "CLOSED"]) == "healthy"
    assert circuits_status(["CLOSED", "OPEN"]) == "degraded"
    assert circuits_status(["HALF_OPEN"]) == "degraded"
    assert circuits_status(["OPEN", "OPEN"]) == "unhealthy"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_within_the_cache_window_the_probes_run_once_and_every_caller_gets_the_same_report():
    clock, runs = FakeClock(), []
    outcomes = iter(["healthy", "unhealthy"])

    def database():
        runs.append("database")

    def cache():
        runs.append("cache")
        if next(outcomes) == "unhealthy":
            raise ConnectionError("redis away")

    check = HealthCheck({"database": database, "cache": cache}, ttl_s=5, clock=clock)
    first = check.report()
    for _ in range(19):
        clock.now += 0.25  # up to 4.75 s after the probe: still inside the window
        assert check.report() is first
    assert runs == ["database", "cache"] and first.checks["cache"].status == "healthy"
    clock.now = 1005.0  # 5 s after the probe: expired
    second = check.report()
    assert runs == ["database", "cache", "database", "cache"]
    assert second.checks["cache"].status == "unhealthy" and second.status == "degraded"


def test_a_zero_window_probes_every_time():
    runs = []
    check = HealthCheck({"database": lambda: runs.append(1)}, ttl_s=0, clock=FakeClock())
    for _ in range(3):
        check.report()
    assert len(runs) == 3


def test_standalone_probe_keys_cover_the_slot_space_and_can_never_be_an_account_key():
    keys = probe_keys(redis.Redis())  # a client that never connects: the keys are computed locally
    buckets = {key_slot(key.encode()) * PROBE_SLOT_BUCKETS // 16384 for key in keys}
    assert len(keys) == PROBE_SLOT_BUCKETS and buckets == set(range(PROBE_SLOT_BUCKETS))
    account_key = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}")
    assert all(key.startswith(PROBE_KEY_PREFIX) and not account_key.fullmatch(key) for key in keys)


def routes(*candidates):
    return {"content_planning": [RouteCandidate(provider=p, model=m) for p, m in candidates]}


def orchestrator(table, deployments=DEFAULT_AZURE_DEPLOYMENTS, flags=lambda: "hybrid", states=None):
    def circuit_states(candidates):
        return {c.circuit_name: (states or {}).get(c.circuit_name, "CLOSED") for c in candidates}

    return run_check(orchestrator_probe(table, lambda: PriceTable.load(deployments), circuit_states, flags))


def test_the_orchestrator_is_healthy_when_every_candidate_is_priced_and_the_flags_read():
    check = orchestrator(
        routes(("azure", "planner-gpt-4o"), ("openai", "gpt-4o")), states={"openai:gpt-4o": "OPEN"}
    ).as_dict()
    assert check["status"] == "healthy" and check["flags"] == "readable" and check["routes"] == 1
    assert check["circuits"] == {
        "azure:planner-gpt-4o": "CLOSED",
        "openai:gpt-4o": "OPEN",
    }  # listed, judged by providers


def test_an_unmapped_deployment_degrades_it_and_a_route_with_nothing_priced_makes_it_unhealthy():
    some = orchestrator(routes(("azure", "unmapped-deployment"), ("openai", "gpt-4o"))).as_dict()
    assert some["status"] == "degraded" and some["unpriced"] == ["content_planning:azure:unmapped-deployment"]
    assert "unmapped-deployment" in some["detail"]
    none = orchestrator(routes(("azure", "planner-gpt-4o")), deployments={"planner-gpt-4o": "gpt-9-unpriced"})
    assert none.status == "unhealthy" and overall_status({"orchestrator": none}) == "unhealthy"


def test_unreadable_flags_degrade_it_and_prices_that_cannot_load_make_it_unhealthy():
    def unreadable():
        raise ConfigurationStoreError("no flags")

    flags_down = orchestrator(routes(("openai", "gpt-4o")), flags=unreadable).as_dict()
    assert (flags_down["status"], flags_down["flags"]) == ("degraded", "unreadable")

    def broken_prices():
        raise ValueError("prices.json is not JSON")

    probe = orchestrator_probe(routes(("openai", "gpt-4o")), broken_prices, lambda c: {}, lambda: None)
    assert run_check(probe).status == "unhealthy"
