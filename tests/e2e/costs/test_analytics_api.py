"""Campaign analytics and the forecast over HTTP: real campaigns through the local API, history through the ledger."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import eventually
from tests.support.e2e import CAMPAIGN, CAPTION, call, settled, spend

USD = 1_000_000


@pytest.fixture(scope="module")
def campaigner(api):
    """A user with three campaigns today, and what each response said it cost."""
    user = f"campaigner-{uuid.uuid4().hex[:8]}"
    costs = spend(api, user, [CAMPAIGN, CAPTION, CAPTION])
    folded(api, user, costs)
    return user, costs


def folded(api, user, costs) -> None:
    """Wait (bounded) until the campaign counters hold ``costs``: a batch's counters are written one by one."""
    eventually(lambda: campaigns_of(api, user)["totals"]["costMicros"] == sum(costs.values()))


def campaigns_of(api, user, admin=False, **params):
    reply = call(api, "/api/v2/campaigns/costs", user, admin=admin, **params)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_each_campaigns_spend_is_what_its_responses_reported(api, campaigner):
    user, costs = campaigner
    data = campaigns_of(api, user)
    assert data["scope"] == {"kind": "user", "userId": user, "tenantId": None}
    assert {c["campaignId"]: c["costMicros"] for c in data["campaigns"]} == costs
    assert data["total"] == 3 and data["totals"]["costMicros"] == sum(costs.values())
    for campaign in data["campaigns"]:
        assert (campaign["requests"], campaign["messages"], campaign["fallbackShare"]) == (1, 1, 0.0)
        assert campaign["costPerMessage"] == campaign["cost"] == campaign["costMicros"] / USD
        assert campaign["tokens"]["total"] > 0
        (provider,) = campaign["providers"]
        assert provider["costMicros"] == campaign["costMicros"] and provider["provider"] in ("azure", "openai")
    assert sorted(p["provider"] for c in data["campaigns"] for p in c["providers"]) == ["azure", "openai", "openai"]


def test_sorting_and_the_limit(api, campaigner):
    user, costs = campaigner
    ascending = campaigns_of(api, user, sortBy="spend", order="asc")
    assert [c["costMicros"] for c in ascending["campaigns"]] == sorted(costs.values())
    top = campaigns_of(api, user, sortBy="spend", limit=1)
    assert [c["costMicros"] for c in top["campaigns"]] == [max(costs.values())] and top["total"] == 3


def test_a_campaign_served_by_the_fallback_has_a_fallback_share_of_one(api, sim):
    user = f"fallback-{uuid.uuid4().hex[:8]}"
    sim.add_fault({"provider": "azure", "status": 500, "count": 2})  # planning's first choice fails twice
    costs = spend(api, user, [CAMPAIGN])
    folded(api, user, costs)
    ((workflow_id, cost),) = costs.items()
    (campaign,) = campaigns_of(api, user)["campaigns"]
    assert (campaign["campaignId"], campaign["costMicros"]) == (workflow_id, cost)
    assert (campaign["fallbacks"], campaign["fallbackShare"]) == (1, 1.0)
    assert [p["provider"] for p in campaign["providers"]] == ["openai"]


def test_scoping_admins_see_anyone_others_only_themselves(api, campaigner):
    user, costs = campaigner
    as_admin = campaigns_of(api, "ops", admin=True, userId=user)
    assert {c["campaignId"] for c in as_admin["campaigns"]} == set(costs)
    everyone = campaigns_of(api, "ops", admin=True, limit=500)
    assert everyone["scope"]["kind"] == "all" and everyone["total"] >= 3
    stranger = f"stranger-{uuid.uuid4().hex[:8]}"
    assert campaigns_of(api, stranger)["campaigns"] == []
    for path in ("/api/v2/campaigns/costs", "/api/v2/costs/forecast"):
        refused = call(api, path, stranger, userId=user)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        assert requests.get(f"{api.url}{path}", timeout=10).status_code == 401
        invalid = call(api, path, user, userId="two words")
        assert invalid.status_code == 422 and invalid.json()["error"]["details"][0]["field"] == "userId"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortBy": "price"}, "sortBy"),
        ({"order": "up"}, "order"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"from": "2026-03-10", "to": "2026-03-09"}, "from"),
        ({"from": "2026-01-01", "to": "2026-04-01"}, "to"),
        ({"userId": "two words"}, "userId"),
    ],
)
def test_bad_campaign_queries_are_422_naming_the_field(api, params, field):
    reply = call(api, "/api/v2/campaigns/costs", "u1", **params)
    assert reply.status_code == 422, reply.text
    assert field in [d["field"] for d in reply.json()["error"]["details"]]


def test_a_new_spender_has_insufficient_history_and_no_projection(api, campaigner):
    user, costs = campaigner
    reply = call(api, "/api/v2/costs/forecast", user)
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert (data["status"], data["historyDays"], data["requiredHistoryDays"]) == ("insufficient_history", 0, 7)
    assert data["monthToDateMicros"] == sum(costs.values())
    assert data["projectedMonthEnd"] is None and data["interval"] is None and data["spike"] is None


def seed_days(user: str, micros_by_days_back: dict[int, int]) -> dict:
    """Spend for ``user`` that many days back (0: today, at noon or now if earlier), through the ledger."""
    from shared.ledger.events import CostEvent
    from shared.wiring.ledger import cost_ledger

    now = time.time()
    today = datetime.fromtimestamp(now, UTC).date()
    spent = {}
    for back, micros in micros_by_days_back.items():
        day = today - timedelta(days=back)
        at = min(now, datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())
        cost_ledger().record(
            CostEvent(f"{user}-{back}", "openai", "gpt-4o-mini", "gpt-4o-mini", "caption", f"wf_{user}_{back}",
                      user, None, 1_000, 500, micros, at)
        )  # fmt: skip
        spent[day] = micros
    from shared.ledger.keys import Scope

    first = min(spent)
    eventually(
        lambda: (
            sum(c.micros for c in cost_ledger().breakdown(Scope(user), "day", first, today).values())
            == sum(spent.values())
        )
    )
    return spent


def test_a_forecast_from_three_weeks_of_recorded_history(api, local_stack):
    """21 past days of $2..$4 recorded through the ledger (as the campaign path records), then $50 today."""
    user = f"forecast-{uuid.uuid4().hex[:8]}"
    spent = seed_days(user, {back: 50 * USD if back == 0 else (2 + back % 3) * USD for back in range(22)})
    today = datetime.now(UTC).date()
    data = call(api, "/api/v2/costs/forecast", user).json()["data"]
    assert (data["status"], data["historyDays"]) == ("ok", 21)
    assert data["method"] == "ols_linear_trend_weekday_offsets" and len(data["parameters"]["weekdayOffsets"]) == 7
    assert data["monthToDateMicros"] == sum(m for d, m in spent.items() if d.month == today.month)
    interval = data["interval"]
    assert (
        data["monthToDateMicros"] <= interval["lowMicros"] <= data["projectedMonthEndMicros"] <= interval["highMicros"]
    )
    assert interval["confidence"] == 0.9 and data["thresholds"] == []  # a user's own monthly thresholds: none
    spike = data["spike"]
    assert spike["isSpike"] is True and spike["todayMicros"] == 50 * USD and 2 <= spike["baseline"] <= 4
    as_admin = call(api, "/api/v2/costs/forecast", "ops", admin=True, userId=user).json()["data"]
    stable = ("scope", "historyDays", "monthToDateMicros", "parameters", "spike")  # the rest moves with the clock
    assert {k: as_admin[k] for k in stable} == {k: data[k] for k in stable}
    everyone = call(api, "/api/v2/costs/forecast", "ops", admin=True).json()["data"]
    assert [t["thresholdId"] for t in everyone["thresholds"]][:1] == ["settings"]


def test_a_real_campaign_sends_one_early_warning_for_a_projected_monthly_crossing(api, local_stack):
    """A user's stored monthly threshold between month-to-date and the projection: one e-mail, then none."""
    from shared.alerts.thresholds import SpendThreshold, new_threshold_id
    from shared.wiring.alerts import threshold_store

    user = f"early-{uuid.uuid4().hex[:8]}"
    seed_days(user, {back: 10 * USD for back in range(1, 22)})
    before = call(api, "/api/v2/costs/forecast", user).json()["data"]
    middle = (before["monthToDateMicros"] + before["projectedMonthEndMicros"]) // 2
    threshold = SpendThreshold(new_threshold_id(), "user", user, user, "monthly", middle, created_by=user)
    with local_stack.override_settings({"FORECAST_CHECK_INTERVAL_S": "0"}):  # check on every recorded call
        threshold_store().put(threshold)
        assert api.call("DELETE", "/_local/emails").status == 200
        spend(api, user, [CAPTION, CAPTION])
        emails = settled(
            lambda: [e for e in api.call("GET", "/_local/emails").body if f"user {user}" in (e["message"] or "")]
        )
    assert len(emails) == 1, emails
    (email,) = emails
    assert "AI spend projected" in email["subject"] and email["topic"].endswith("cost-alerts")
    after = call(api, "/api/v2/costs/forecast", user).json()["data"]
    (view,) = after["thresholds"]
    assert (view["thresholdId"], view["crossed"], view["projectedToCross"]) == (threshold.threshold_id, False, True)
