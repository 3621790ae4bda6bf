"""Tenant statements over fakes: assembly from the tenant's counters, rounding, freezing, access and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.api.billing.views import CSV_HEADER, stated_tenant, statement_csv, statement_response, statement_view
from shared.billing.statements import MonthNotStatedError, Statements, month_end_epoch, statement_key, to_item
from shared.core.errors import ForbiddenError, TenantNotFoundError
from shared.core.identity import Caller
from shared.ledger.ledger import CostLedger
from shared.ledger.revenue import RevenueTotals
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore
from tests.support.outcome_fakes import InMemoryOutcomeStore

FEB = datetime(2026, 2, 10, 12, tzinfo=UTC).timestamp()
MARCH_NOW = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
LAG_S = 3_600


class RevenueLookup:
    """The outcome store's ``campaign_revenue``, remembering which campaigns each call asked for."""

    def __init__(self) -> None:
        self.outcomes = InMemoryOutcomeStore()
        self.asked: list[list[str]] = []

    def __call__(self, campaign_ids: list[str]) -> dict[str, RevenueTotals]:
        self.asked.append(list(campaign_ids))
        return self.outcomes.campaign_revenue(campaign_ids)


def world(now: float = MARCH_NOW, revenue: RevenueLookup | None = None):
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    clock = [now]
    revenue_of = revenue or RevenueLookup()
    return ledger, store, Statements(ledger, store, LAG_S, revenue_of, clock=lambda: clock[0]), clock


def record_february(ledger: CostLedger) -> None:
    """Five calls of tenant acme (two users, two types, two models, three campaigns, one of them on two
    providers) and one of another tenant."""
    rows = [
        (1, "u1", "caption", "gpt-4o-mini", 1_000_500, 0, "wf_a", "openai"),  # 1,000.5 µ$: rounds up alone
        (2, "u1", "caption", "gpt-4o-mini", 2_000_500, 100, "wf_a", "openai"),
        (3, "u2", "content_planning", "gpt-4o", 5_000_400, 0, "wf_b", "openai"),
        (4, "u2", "caption", "gpt-4o", 7_000_001, 50, "wf_b", "azure"),
        (5, "u2", "caption", "gpt-4o-mini", 999, 0, "wf_c", "openai"),
    ]
    for n, user, kind, model, nanos, cached, campaign, provider in rows:
        ledger.record(
            event(
                n,
                micros=round(nanos / 1000),
                nanos=nanos,
                user=user,
                tenant="acme",
                campaign_type=kind,
                model=model,
                deployment=model,
                cached_tokens=cached,
                campaign_id=campaign,
                provider=provider,
                at=FEB + n * 60,
            )
        )
    ledger.record(event(9, micros=50_000, user="u3", tenant="globex", at=FEB))


def test_a_statement_is_the_tenants_month_by_user_type_and_model_each_line_rounded_once():
    ledger, _, statements, _ = world()
    record_february(ledger)
    statement = statements.statement("acme", "2026-02")
    view = statement_view(statement).model_dump(by_alias=True)
    assert view["final"] is True and view["month"] == "2026-02" and view["tenant"] == "acme"
    total_nanos = 1_000_500 + 2_000_500 + 5_000_400 + 7_000_001 + 999
    assert (view["total"]["costNanos"], view["total"]["costMicros"], view["total"]["requests"]) == (
        total_nanos,
        15_002,  # 15,002.4 µ$: the total rounds once
        5,
    )
    assert view["total"]["tokens"] == {"input": 5_000, "output": 2_500, "total": 7_500}
    assert view["total"]["cachedTokens"] == 150
    users = {line["key"]: (line["costNanos"], line["costMicros"], line["requests"]) for line in view["byUser"]}
    assert users == {"u1": (3_001_000, 3_001, 2), "u2": (12_001_400, 12_001, 3)}
    types = {line["key"]: line["costNanos"] for line in view["byType"]}
    assert types == {"caption": 1_000_500 + 2_000_500 + 7_000_001 + 999, "content_planning": 5_000_400}
    models = {line["key"]: (line["costNanos"], line["costMicros"]) for line in view["byModel"]}
    assert models == {"gpt-4o": (12_000_401, 12_000), "gpt-4o-mini": (3_001_999, 3_002)}
    for lines in (view["byUser"], view["byType"], view["byModel"]):
        assert sum(line["costNanos"] for line in lines) == total_nanos  # exact in nanos, whatever the rounding
        assert abs(sum(line["costMicros"] for line in lines) - view["total"]["costMicros"]) <= len(lines) / 2
    assert [line["key"] for line in view["byUser"]] == ["u2", "u1"]  # largest first


def test_the_current_month_is_live_and_a_future_month_is_refused():
    ledger, store, statements, _ = world()
    ledger.record(event(1, micros=10, user="u1", tenant="acme", at=MARCH_NOW - 60))
    live = statements.statement("acme", "2026-03")
    assert live.final is False and live.total.micros == 10
    assert store.get_items([statement_key("acme", "2026-03")]) == {}  # nothing frozen
    with pytest.raises(MonthNotStatedError):
        statements.statement("acme", "2026-04")


def test_a_closed_month_stays_live_within_the_lag_then_freezes_on_first_read_and_never_changes():
    ledger, store, statements, clock = world(now=month_end_epoch("2026-02") + LAG_S - 1)
    record_february(ledger)
    assert statements.statement("acme", "2026-02").final is False
    clock[0] = month_end_epoch("2026-02") + LAG_S
    first = statements.statement("acme", "2026-02")
    assert first.final and statement_key("acme", "2026-02") in store.get_items([statement_key("acme", "2026-02")])
    ledger.record(event(77, micros=99_000, user="u1", tenant="acme", at=FEB))  # a late call of February
    clock[0] += 86_400
    again = statements.statement("acme", "2026-02")
    assert again == first  # the frozen item, as stored: same lines, same total, same generation time
    assert statement_csv(again) == statement_csv(first)


def test_of_two_first_reads_the_second_returns_what_the_first_froze():
    ledger, store, statements, clock = world()
    record_february(ledger)
    first = statements.statement("acme", "2026-02")
    clock[0] += 5
    other = Statements(ledger, store, LAG_S, RevenueLookup(), clock=lambda: clock[0])  # another container
    assert other.statement("acme", "2026-02") == first


def test_the_csv_has_a_header_a_total_row_and_one_row_per_dimension_and_value():
    ledger, _, statements, _ = world()
    record_february(ledger)
    rows = list(csv.reader(io.StringIO(statement_csv(statements.statement("acme", "2026-02")))))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1][:2] == ["total", "ALL"] and rows[1][6:9] == ["15002400", "15002", "0.015002400"]
    keys = [(row[0], row[1]) for row in rows[2:]]
    assert keys == [
        ("user", "u2"),
        ("user", "u1"),
        ("type", "caption"),
        ("type", "content_planning"),
        ("model", "gpt-4o"),
        ("model", "gpt-4o-mini"),
        ("campaign", "wf_b"),
        ("campaign", "wf_a"),
        ("campaign", "wf_c"),
    ]
    assert all(row[9:] == [""] * 6 for row in rows[2:8])  # revenue only on the total and the campaigns
    response = statement_response(statements, "acme", "2026-02", "csv")
    assert response.content_type.startswith("text/csv") and response.body.startswith("dimension,key,")


def february_outcomes() -> RevenueLookup:
    """wf_a earned $0.01 (5 replies over 2 outcomes), wf_b $0.012 (0 replies); wf_c nothing."""
    revenue = RevenueLookup()
    revenue.outcomes.campaigns["wf_a"] = RevenueTotals(revenue_nanos=10_000_000, replies=5, outcomes=2)
    revenue.outcomes.campaigns["wf_b"] = RevenueTotals(revenue_nanos=12_000_000, outcomes=1)
    revenue.outcomes.campaigns["wf_other"] = RevenueTotals(revenue_nanos=99_000_000, outcomes=1)  # no spend here
    return revenue


def test_campaign_lines_sum_their_providers_and_carry_revenue_and_roi_exact_from_nanos():
    revenue = february_outcomes()
    ledger, _, statements, _ = world(revenue=revenue)
    record_february(ledger)
    view = statement_view(statements.statement("acme", "2026-02")).model_dump(by_alias=True)
    assert revenue.asked == [["wf_a", "wf_b", "wf_c"]]  # one lookup, of the month's campaigns only
    campaigns = {line["key"]: line for line in view["byCampaign"]}
    assert [line["key"] for line in view["byCampaign"]] == ["wf_b", "wf_a", "wf_c"]  # largest spend first
    wf_b = campaigns["wf_b"]  # openai 5,000,400 + azure 7,000,001 nanos
    assert (wf_b["costNanos"], wf_b["costMicros"], wf_b["cost"], wf_b["requests"]) == (12_000_401, 12_000, 0.012, 2)
    assert wf_b["tokens"] == {"input": 2_000, "output": 1_000, "total": 3_000} and wf_b["cachedTokens"] == 50
    # ROI from nanos: 12,000,000 - 12,000,401 = -401 nanos, -0.401 µ$ -> 0 µ$ (rounded once, half up)
    assert (wf_b["revenueMicros"], wf_b["revenueUsd"], wf_b["roiMicros"], wf_b["roiUsd"]) == (12_000, 0.012, 0, 0.0)
    assert wf_b["roiRatio"] == round(12_000_000 / 12_000_401, 6) == 0.999967
    wf_a = campaigns["wf_a"]  # 3,001,000 nanos
    assert (wf_a["revenueMicros"], wf_a["roiMicros"], wf_a["roiUsd"], wf_a["replies"]) == (10_000, 6_999, 0.006999, 5)
    assert wf_a["roiRatio"] == 3.332223 and wf_a["outcomes"] == 2
    wf_c = campaigns["wf_c"]  # 999 nanos, no outcome: ROI is minus the cost, rounded away from zero at half
    assert (wf_c["revenueMicros"], wf_c["roiMicros"], wf_c["roiRatio"], wf_c["replies"]) == (0, -1, 0.0, 0)
    assert sum(line["costNanos"] for line in view["byCampaign"]) == view["total"]["costNanos"]
    total = view["total"]  # the campaign lines' revenue against the month's whole spend (15,002,400 nanos)
    assert (total["revenueMicros"], total["revenueUsd"], total["roiMicros"], total["roiUsd"]) == (
        22_000,
        0.022,
        6_998,  # 6,997.6 µ$
        0.006998,
    )
    assert total["roiRatio"] == round(22_000_000 / 15_002_400, 6) and total["replies"] == 5


def test_a_campaign_without_cost_has_a_null_ratio_and_a_month_without_campaigns_asks_for_no_revenue():
    revenue = RevenueLookup()
    revenue.outcomes.campaigns["wf_free"] = RevenueTotals(revenue_nanos=2_500_000, replies=1, outcomes=1)
    ledger, _, statements, _ = world(revenue=revenue)
    assert statement_view(statements.statement("acme", "2026-03")).by_campaign == []
    assert revenue.asked == []
    ledger.record(event(1, micros=0, nanos=0, tenant="acme", campaign_id="wf_free", at=MARCH_NOW - 60))
    view = statement_view(statements.statement("acme", "2026-03")).model_dump(by_alias=True)
    (line,) = view["byCampaign"]
    assert (line["key"], line["requests"], line["costNanos"]) == ("wf_free", 1, 0)
    assert (line["roiMicros"], line["roiUsd"], line["roiRatio"]) == (2_500, 0.0025, None)
    assert view["total"]["roiRatio"] is None
    rows = list(csv.reader(io.StringIO(statement_csv(statements.statement("acme", "2026-03")))))
    assert rows[-1][:2] == ["campaign", "wf_free"] and rows[-1][9:] == [
        "2500",
        "0.002500000",
        "2500",
        "0.002500000",
        "",
        "1",
    ]


def test_a_frozen_statement_freezes_the_campaigns_revenue_too():
    revenue = february_outcomes()
    ledger, _, statements, clock = world(revenue=revenue)
    record_february(ledger)
    first = statements.statement("acme", "2026-02")
    revenue.outcomes.campaigns["wf_c"] = RevenueTotals(revenue_nanos=1_000_000_000, outcomes=1)  # a late outcome
    clock[0] += 86_400
    again = statements.statement("acme", "2026-02")
    assert again == first and again.revenue_of("wf_c") == RevenueTotals()
    assert statement_view(again).by_campaign == statement_view(first).by_campaign
    assert len(revenue.asked) == 1  # the frozen item is read, the outcomes are not


def test_a_statement_frozen_before_campaign_lines_reads_without_them():
    ledger, store, statements, clock = world()
    record_february(ledger)
    stored = to_item(statements.statement("acme", "2026-02"))
    body = json.loads(stored["statement"])
    body["lines"] = [line for line in body["lines"] if line[0] != "campaign"]
    del body["revenue"]
    body["month"] = "2026-01"
    store.put_if_absent(statement_key("acme", "2026-01"), {**stored, "statement": json.dumps(body)})
    clock[0] = MARCH_NOW
    old = Statements(ledger, store, LAG_S, RevenueLookup(), clock=lambda: clock[0]).statement("acme", "2026-01")
    view = statement_view(old).model_dump(by_alias=True)
    assert view["byCampaign"] == [] and view["total"]["revenueMicros"] == 0 and len(view["byUser"]) == 2
    assert view["month"] == "2026-01" and view["final"] is True


ADMIN = Caller(user_id="root", is_admin=True)
ACME_ADMIN = Caller(user_id="ann", tenant="acme", tenant_admin=True)


def test_who_reads_which_tenants_statement():
    assert stated_tenant(ADMIN, "globex") == "globex"
    assert stated_tenant(ACME_ADMIN, None) == "acme" and stated_tenant(ACME_ADMIN, "acme") == "acme"
    with pytest.raises(TenantNotFoundError):
        stated_tenant(ACME_ADMIN, "globex")
    with pytest.raises(ForbiddenError):
        stated_tenant(Caller(user_id="al", tenant="acme"), None)
    with pytest.raises(RequestValidationError) as refused:
        stated_tenant(ADMIN, None)
    assert refused.value.errors()[0]["loc"] == ("query", "tenant")


def test_a_future_month_is_a_422_naming_month():
    _, _, statements, _ = world()
    with pytest.raises(RequestValidationError) as refused:
        statement_response(statements, "acme", "2026-04", "json")
    assert refused.value.errors()[0]["loc"] == ("query", "month")


def test_the_csv_file_name_holds_only_header_safe_characters():
    _, _, statements, _ = world()
    response = statement_response(statements, 'Ācme/"x', "2026-02", "csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="statement__cme__x_2026-02.csv"'
