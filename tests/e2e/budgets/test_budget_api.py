"""Hard monthly budgets over HTTP: an admin sets a user's cap through the thresholds route, and the user's
next campaign is refused with a 402 (block) or runs on the cheaper model (downgrade)."""

from __future__ import annotations

import time
import uuid

from shared.config.settings import get_settings
from tests.support.e2e import call

PLANNING = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "spring launch"}}
TENTH_OF_A_CENT = 1_000  # micro-dollars: below a content plan's maximum on gpt-4o, above it on gpt-4o-mini


def set_cap(api, user, action):
    body = {"scope": "user", "userId": user, "period": "monthly", "amountUsd": "0.001", "action": action}
    reply = call(api, "/api/v2/costs/thresholds", "ops-admin", admin=True, body=body)
    assert reply.status_code == 201, reply.text


def test_a_block_cap_refuses_the_next_campaign_with_402_and_the_figures(api):
    user = f"capped-{uuid.uuid4().hex[:8]}"
    first = call(api, "/api/v2/campaigns/hybrid", user, body=PLANNING)
    assert first.status_code == 200  # no cap yet
    api.wait_for_spend(api.token(user), first.json()["metrics"]["cost"]["costMicros"])  # what the cap seeds from
    set_cap(api, user, "block")
    time.sleep(get_settings().budget_cap_cache_s)  # the campaign container remembers "no cap" that long
    reply = call(api, "/api/v2/campaigns/hybrid", user, body=PLANNING)
    assert reply.status_code == 402, reply.text
    error = reply.json()["error"]
    assert error["code"] == "BUDGET_EXCEEDED"
    (detail,) = error["details"]
    spent = call(api, "/api/v2/costs/stats", user).json()["data"]["monthTotalMicros"]
    assert (detail["capMicros"], detail["committedMicros"], detail["action"]) == (TENTH_OF_A_CENT, spent, "block")
    assert detail["neededMicros"] > TENTH_OF_A_CENT - spent
    status = call(api, "/api/v2/campaigns/status", user, workflowId=error["workflowId"]).json()["data"]
    assert status["status"] == "failed" and status["error"]["code"] == "BUDGET_EXCEEDED"
    assert call(api, "/api/v2/costs/stats", user).json()["data"]["monthTotalMicros"] == spent  # nothing billed


def test_a_downgrade_cap_runs_content_planning_on_the_cheaper_model_and_says_why(api):
    user = f"downgraded-{uuid.uuid4().hex[:8]}"
    set_cap(api, user, "downgrade")
    reply = call(api, "/api/v2/campaigns/hybrid", user, body=PLANNING)
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert (data["provider"], data["model"], data["deployment"]) == ("openai", "gpt-4o-mini", "gpt-4o-mini")
    (step,) = call(api, "/api/v2/campaigns/status", user, workflowId=data["workflowId"]).json()["data"]["steps"]
    assert step["budgetNote"].startswith("budget downgrade") and step["model"] == "gpt-4o-mini"
    cost = reply.json()["metrics"]["cost"]["costMicros"]
    spent = api.wait_for_spend(api.token(user), cost)["monthTotalMicros"]
    assert 0 < spent == cost <= TENTH_OF_A_CENT


def test_an_async_campaign_over_the_cap_fails_in_the_runner_with_the_budget_code(api):
    user = f"capped-async-{uuid.uuid4().hex[:8]}"
    set_cap(api, user, "block")
    reply = call(api, "/api/v2/campaigns/hybrid", user, body={**PLANNING, "mode": "async"})
    assert reply.status_code == 202, reply.text
    workflow_id = reply.json()["data"]["workflowId"]

    def finished():
        data = call(api, "/api/v2/campaigns/status", user, workflowId=workflow_id).json()["data"]
        return data if data["status"] in ("completed", "failed") else None

    deadline = time.monotonic() + 20
    while (status := finished()) is None and time.monotonic() < deadline:
        time.sleep(0.25)
    assert status is not None and status["status"] == "failed" and status["error"]["code"] == "BUDGET_EXCEEDED"
    assert call(api, "/api/v2/costs/stats", user).json()["data"]["monthTotalMicros"] == 0
