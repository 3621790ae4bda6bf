from shared.health.checks import CheckResult, NotConfiguredError, circuits_status, overall_status, run_check


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
