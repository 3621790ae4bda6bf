"""The cost routes over HTTP, after real campaigns through the local API: exact, scoped, validated, alerted."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import eventually
from tests.support.e2e import CAMPAIGN, CAPTION, call, run_campaigns


@pytest.fixture(scope="module")
def spender(api):
    """A user with three campaigns today, and what each response said it cost."""
    user = f"spender-{uuid.uuid4().hex[:8]}"
    costs = run_campaigns(api, user, [CAMPAIGN, CAPTION, CAPTION])
    api.wait_for_spend(api.token(user), sum(costs.values()))  # the counters trail the answers by the stream's lag
    return user, costs


def test_stats_show_the_callers_campaigns_to_the_micro_dollar(api, spender):
    user, costs = spender
    reply = call(api, "/api/v2/costs/stats", user)
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["scope"] == {"kind": "user", "userId": user, "tenantId": None}
    assert data["todayTotalMicros"] == data["monthTotalMicros"] == sum(costs.values())
    assert data["todayTotal"] == sum(costs.values()) / 1_000_000
    assert data["requests"] == {"today": 3, "month": 3}
    assert {p["provider"] for p in data["byProvider"]["today"]} == {"azure", "openai"}
    by_provider = {p["provider"]: p["cost"] for p in data["byProvider"]["today"]}
    assert data["providerBreakdown"] == by_provider and all(usd > 0 for usd in by_provider.values())
    assert data["tokens"]["today"]["total"] == data["tokens"]["today"]["input"] + data["tokens"]["today"]["output"] > 0
    daily, monthly = data["thresholds"]
    assert (daily["period"], daily["amountUsd"], monthly["period"]) == ("daily", 50.0, "monthly")
    # A global threshold's spend is for admins, here as on /costs/thresholds.
    assert (daily["spentUsd"], daily["spentMicros"], daily["percent"], daily["crossed"]) == (None, None, None, None)
    as_admin = call(api, "/api/v2/costs/stats", "ops", admin=True, userId=user).json()["data"]
    assert as_admin["thresholds"][0]["spentMicros"] == sum(costs.values()) and as_admin["thresholds"][0]["percent"] >= 0


def test_breakdown_by_campaign_lists_each_workflow_with_its_reported_cost(api, spender):
    user, costs = spender
    reply = call(api, "/api/v2/costs/breakdown", user, groupBy="campaign")
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert {g["key"]: g["costMicros"] for g in data["groups"]} == costs
    assert data["total"]["costMicros"] == sum(costs.values()) and data["total"]["requests"] == 3
    today = datetime.now(UTC).date()
    assert (data["from"], data["to"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    by_day = call(api, "/api/v2/costs/breakdown", user, groupBy="day").json()["data"]["groups"]
    assert len(by_day) == 7 and by_day[-1] == {
        **by_day[-1],
        "key": today.isoformat(),
        "costMicros": sum(costs.values()),
    }


def test_a_non_admin_sees_only_their_own_spend(api, spender):
    user, _ = spender
    stranger = f"stranger-{uuid.uuid4().hex[:8]}"
    mine = call(api, "/api/v2/costs/breakdown", stranger, groupBy="user").json()["data"]
    assert [g["key"] for g in mine["groups"]] in ([], [stranger])
    assert mine["total"]["costMicros"] == 0
    for path in ("/api/v2/costs/stats", "/api/v2/costs/breakdown"):
        refused = call(api, path, stranger, userId=user)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"


def test_admins_see_everyone_and_may_filter_by_user(api, spender):
    user, costs = spender
    everyone = call(api, "/api/v2/costs/breakdown", "ops", admin=True, groupBy="user").json()["data"]
    assert everyone["scope"] == {"kind": "all", "userId": None, "tenantId": None}
    assert {g["key"]: g["costMicros"] for g in everyone["groups"]}[user] == sum(costs.values())
    one = call(api, "/api/v2/costs/stats", "ops", admin=True, userId=user).json()["data"]
    assert one["todayTotalMicros"] == sum(costs.values())
    total = call(api, "/api/v2/costs/stats", "ops", admin=True).json()["data"]
    assert total["todayTotalMicros"] >= sum(costs.values())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"groupBy": "colour"}, "groupBy"),
        ({"from": "2026-03-10", "to": "2026-03-09"}, "from"),
        ({"from": "2026-01-01", "to": "2026-04-01"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "14/03/2026"}, "to"),
    ],
)
def test_bad_breakdown_queries_are_422_naming_the_field(api, params, field):
    reply = call(api, "/api/v2/costs/breakdown", "u1", **params)
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in [d["field"] for d in error["details"]]


def test_cost_routes_need_a_token(api):
    for path in ("/api/v2/costs/stats", "/api/v2/costs/breakdown"):
        assert requests.get(f"{api.url}{path}", timeout=10).status_code == 401


def test_crossing_the_daily_threshold_delivers_exactly_one_email(api, local_stack):
    """As `DAILY_COST_THRESHOLD_USD=0.001 make run` then two campaigns: one e-mail at /_local/emails."""
    with local_stack.override_settings({"DAILY_COST_THRESHOLD_USD": "0.001"}):
        assert api.call("DELETE", "/_local/emails").status == 200
        user = f"alerted-{uuid.uuid4().hex[:8]}"
        costs = run_campaigns(api, user, [CAMPAIGN, CAMPAIGN])  # each over $0.001
        api.wait_for_spend(api.token(user), sum(costs.values()))
        alerts = eventually(
            lambda: [e for e in api.call("GET", "/_local/emails").body if "AI spend" in (e["subject"] or "")]
        )
        time.sleep(1)  # a second alert, if there were one, would have come by now
        emails = api.call("GET", "/_local/emails").body
    alerts = [e for e in emails if "AI spend" in (e["subject"] or "")]
    assert len(alerts) == 1, emails
    (alert,) = alerts
    assert re.fullmatch(r"Hybrid Orchestrator \(\w+\): daily AI spend \$[\d.,]+ crossed \$0\.001", alert["subject"])
    assert alert["topic"].endswith("cost-alerts") and alert["to"]
    assert "Spend by provider:" in alert["message"] and "Top " in alert["message"]
    assert "http" not in alert["message"]
