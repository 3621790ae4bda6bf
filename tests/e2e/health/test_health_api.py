"""The health route says what the dashboard shows: each circuit's state and each queue's depth."""

from __future__ import annotations


def test_health_lists_each_providers_circuits_and_each_queues_depth(api) -> None:
    reply = api.call("GET", "/api/health/hybrid-orchestrator")
    assert reply.status == 200, reply.body
    checks = reply.body["checks"]
    assert set(checks["queue"]["depths"]) == {"workflows", "messages"}
    assert all(isinstance(depth, int) and depth >= 0 for depth in checks["queue"]["depths"].values())
    for provider in ("azureProvider", "openaiProvider"):
        circuits = checks[provider]["circuits"]
        assert circuits and set(circuits.values()) <= {"CLOSED", "OPEN", "HALF_OPEN"}
        assert all(name.startswith(provider.removesuffix("Provider") + ":") for name in circuits)
