"""Feature flags in the running local server: legacy path, rollout, admin view, changes without a restart."""

from __future__ import annotations

import copy
import time

import pytest

from shared.routing.flags import rollout_bucket

CAMPAIGN = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "rollout"}}


@pytest.fixture
def flags(api):
    """The local flag document, restored after the test."""
    original = api.call("GET", "/_local/flags").body

    def put(document):
        reply = api.call("PUT", "/_local/flags", document)
        assert reply.status == 200, reply.body

    yield original, put
    put(original)
    time.sleep(1.2)  # FLAGS_CACHE_S is 1 s locally


def wait_for_path(api, user, expected, timeout_s=5.0):
    """Campaigns until one takes the expected path (a flag change is seen within the cache's lifetime)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = api.call("POST", "/api/v2/campaigns/hybrid", CAMPAIGN, token=api.token(user))
        assert reply.status == 200, reply.body
        if reply.body["data"]["path"] == expected or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)


def test_kill_switch_off_sends_campaigns_down_the_legacy_path_without_a_restart(api, flags):
    original, put = flags
    assert wait_for_path(api, "rollout-u1", "hybrid").body["data"]["provider"] == "azure"
    killed = copy.deepcopy(original)
    killed["hybrid_orchestrator_enabled"]["default"] = False
    put(killed)
    reply = wait_for_path(api, "rollout-u1", "legacy")
    data = reply.body["data"]
    assert data["path"] == "legacy"
    assert (data["provider"], data["model"]) == ("openai", "gpt-4o")  # one provider, no Azure planner
    assert reply.body["metrics"]["cost"]["costMicros"] > 0  # costs are still recorded
    status = api.call("GET", f"/api/v2/campaigns/status?workflowId={data['workflowId']}", token=api.token("rollout-u1"))
    assert status.body["data"]["path"] == "legacy"


def test_legacy_path_has_no_fallback_matrix(api, flags):
    original, put = flags
    killed = copy.deepcopy(original)
    killed["hybrid_orchestrator_enabled"]["default"] = False
    put(killed)
    wait_for_path(api, "rollout-u2", "legacy")
    api.call("POST", "/_sim/faults", {"provider": "openai", "status": 500, "count": 4})
    try:
        reply = api.call("POST", "/api/v2/campaigns/hybrid", CAMPAIGN, token=api.token("rollout-u2"))
    finally:
        api.call("POST", "/_sim/faults", {"provider": "openai", "count": 0})
    assert reply.status == 503  # the hybrid path would have fallen back to Azure
    assert reply.headers["x-orchestrator-fallbacks"] == "1"


def test_percentage_rollout_and_admin_view(api, flags):
    original, put = flags
    partial = copy.deepcopy(original)
    partial["hybrid_rollout"]["rules"]["percentage rollout"]["conditions"][0]["value"]["END"] = 29
    put(partial)
    time.sleep(1.2)
    users = [f"rollout-user-{n}" for n in range(200)]
    admin = api.token("rollout-admin", admin=True)
    paths = {}
    for user in users:
        view = api.call("GET", f"/api/admin/feature-flags?userId={user}", token=admin)
        assert view.status == 200, view.body
        paths[user] = view.body["data"]["path"]
        assert paths[user] == ("hybrid" if rollout_bucket(user) < 30 else "legacy")
    assert 0.2 <= sum(p == "hybrid" for p in paths.values()) / len(users) <= 0.4
    flags_by_name = {f["name"]: f for f in view.body["data"]["flags"]}
    assert "percentage rollout" in flags_by_name["hybrid_rollout"]["rules"]
    inside = next(u for u in users if paths[u] == "hybrid")
    outside = next(u for u in users if paths[u] == "legacy")
    assert wait_for_path(api, inside, "hybrid").body["data"]["path"] == "hybrid"
    assert wait_for_path(api, outside, "legacy").body["data"]["path"] == "legacy"
    assert api.call("GET", f"/api/admin/feature-flags?userId={inside}", token=api.token(inside)).status == 403


def test_an_invalid_flag_document_is_refused(api, flags):
    reply = api.call("PUT", "/_local/flags", {"hybrid_rollout": {"rules": "not rules"}})
    assert reply.status == 400
