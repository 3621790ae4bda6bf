"""Who may see whose spend, the breakdown window's rules, and the answers' exact money."""

from __future__ import annotations

import json
from datetime import date

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.alerts.thresholds import settings_threshold
from shared.api.costs.views import breakdown_response, breakdown_window, check_group_by, cost_scope, stats_response
from shared.core.errors import ForbiddenError
from shared.core.identity import Caller
from shared.ledger.keys import EVERYONE, Scope
from shared.ledger.ledger import CostStats
from shared.ledger.store import Counters

TODAY = date(2026, 3, 14)


def test_admins_see_everyone_or_the_user_they_name():
    admin = Caller(user_id="root", is_admin=True)
    assert cost_scope(admin, None) == EVERYONE
    assert cost_scope(admin, "bob") == Scope("bob")


def test_a_non_admin_sees_their_own_and_is_refused_anyone_elses():
    alice = Caller(user_id="alice")
    assert cost_scope(alice, None) == Scope("alice")
    assert cost_scope(alice, "alice") == Scope("alice")
    with pytest.raises(ForbiddenError):
        cost_scope(alice, "bob")


def test_the_default_window_is_the_last_seven_days():
    assert breakdown_window(None, None, TODAY) == (date(2026, 3, 8), TODAY)
    assert breakdown_window(None, "2026-01-10", TODAY) == (date(2026, 1, 4), date(2026, 1, 10))
    assert breakdown_window("2026-01-01", "2026-03-31", TODAY) == (date(2026, 1, 1), date(2026, 3, 31))  # 90 days


@pytest.mark.parametrize(
    ("first", "last", "field", "kind"),
    [
        ("2026-03-10", "2026-03-09", "from", "date_range"),
        ("2026-01-01", "2026-04-01", "to", "date_range"),  # 91 days
        ("2026-02-30", None, "from", "date_from_datetime_parsing"),
        (None, "2026-13-01", "to", "date_from_datetime_parsing"),
    ],
)
def test_bad_windows_are_validation_errors_naming_the_field(first, last, field, kind):
    with pytest.raises(RequestValidationError) as caught:
        breakdown_window(first, last, TODAY)
    (error,) = caught.value.errors()
    assert (error["loc"], error["type"]) == (("query", field), kind)


def test_stats_answer_carries_usd_beside_exact_micros_and_threshold_progress():
    stats = CostStats(
        TODAY,
        {"openai": Counters(1_250_000_000, 3, 10, 5), "azure": Counters(30_000_001_000, 1, 100, 50)},
        {"openai": Counters(2_250_000_000, 4, 20, 10), "azure": Counters(30_000_001_000, 1, 100, 50)},
    )
    answer = stats_response(
        stats,
        EVERYONE,
        [settings_threshold("daily", 50_000_000)],
        ["azure", "gemini", "openai"],
        Caller(user_id="root", is_admin=True),
    )
    data = json.loads(json.dumps(answer.body))["data"]
    assert (data["todayTotal"], data["todayTotalMicros"]) == (31.250001, 31_250_001)
    assert data["monthTotalMicros"] == 32_250_001 and data["requests"] == {"today": 4, "month": 5}
    assert data["providerBreakdown"] == {"azure": 30.000001, "gemini": 0.0, "openai": 1.25}  # idle: 0, not missing
    assert [p["provider"] for p in data["byProvider"]["today"]] == ["azure", "openai"]
    assert data["tokens"]["today"] == {"input": 110, "output": 55, "total": 165}
    assert data["thresholds"] == [
        {
            "period": "daily",
            "amountUsd": 50.0,
            "amountMicros": 50_000_000,
            "spentUsd": 31.250001,
            "spentMicros": 31_250_001,
            "percent": 62.5,
            "crossed": False,
        }
    ]
    assert data["scope"] == {"kind": "all", "userId": None, "tenantId": None}


def test_stats_hide_a_global_thresholds_spend_from_whoever_may_not_see_it():
    stats = CostStats(
        TODAY, {"openai": Counters(1_250_000_000, 3, 10, 5)}, {"openai": Counters(1_250_000_000, 3, 10, 5)}
    )
    answer = stats_response(
        stats, Scope("alice"), [settings_threshold("monthly", 9_000_000)], ["openai"], Caller(user_id="alice")
    )
    (threshold,) = answer.body["data"]["thresholds"]
    assert threshold["amountUsd"] == 9.0 and threshold["spentUsd"] is None and threshold["percent"] is None
    assert answer.body["data"]["todayTotal"] == 1.25  # the caller's own total is still theirs to see


def test_breakdown_answer_orders_groups_and_totals_them_exactly():
    groups = {"wf_a": Counters(3_000, 1, 1, 1), "wf_b": Counters(7_000, 2, 2, 2)}
    body = breakdown_response(groups, Scope("alice"), "campaign", TODAY, TODAY).body
    assert [(g["key"], g["costMicros"]) for g in body["data"]["groups"]] == [("wf_b", 7), ("wf_a", 3)]
    assert body["data"]["total"]["costMicros"] == 10 and body["data"]["from"] == "2026-03-14"


TENANT_ADMIN_A = Caller(user_id="ta", tenant="acme", tenant_admin=True)


@pytest.mark.parametrize(
    ("caller", "tenant", "scope"),
    [
        (TENANT_ADMIN_A, None, Scope(tenant_id="acme")),
        (TENANT_ADMIN_A, "acme", Scope(tenant_id="acme")),
        (Caller(user_id="root", is_admin=True, tenant="acme"), None, Scope(tenant_id="acme")),
        (Caller(user_id="root", is_admin=True), "beta", Scope(tenant_id="beta")),
    ],
)
def test_scope_tenant_is_the_tenant_for_its_admins_and_platform_admins(caller, tenant, scope):
    assert cost_scope(caller, None, "tenant", tenant) == scope


@pytest.mark.parametrize(
    ("caller", "user_id", "tenant", "error", "field"),
    [
        (Caller(user_id="u1", tenant="acme"), None, None, ForbiddenError, None),  # a plain user of the tenant
        (TENANT_ADMIN_A, None, "beta", ForbiddenError, None),  # another tenant
        (Caller(user_id="u1", tenant_admin=True), None, None, RequestValidationError, "scope"),  # no tenant
        (Caller(user_id="root", is_admin=True), None, None, RequestValidationError, "scope"),
        (TENANT_ADMIN_A, "u2", None, RequestValidationError, "userId"),
    ],
)
def test_scope_tenant_refusals(caller, user_id, tenant, error, field):
    with pytest.raises(error) as caught:
        cost_scope(caller, user_id, "tenant", tenant)
    if field:
        assert caught.value.errors()[0]["loc"] == ("query", field)


def test_tenant_without_scope_tenant_and_group_by_tenant_for_non_admins_are_refused():
    with pytest.raises(RequestValidationError):
        cost_scope(TENANT_ADMIN_A, None, None, "acme")
    with pytest.raises(ForbiddenError):
        check_group_by(TENANT_ADMIN_A, Scope(tenant_id="acme"), "tenant")
    with pytest.raises(RequestValidationError):
        check_group_by(Caller(user_id="root", is_admin=True), Scope("u1"), "tenant")
    check_group_by(Caller(user_id="root", is_admin=True), EVERYONE, "tenant")
