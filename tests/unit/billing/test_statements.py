"""Tenant statements over fakes: assembly from the tenant's counters, rounding, freezing, access and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.api.billing.views import CSV_HEADER, stated_tenant, statement_csv, statement_response, statement_view
from shared.billing.statements import MonthNotStatedError, Statements, month_end_epoch, statement_key
from shared.core.errors import ForbiddenError, TenantNotFoundError
from shared.core.identity import Caller
from shared.ledger.ledger import CostLedger
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore

FEB = datetime(2026, 2, 10, 12, tzinfo=UTC).timestamp()
MARCH_NOW = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
LAG_S = 3_600


def world(now: float = MARCH_NOW):
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    clock = [now]
    return ledger, store, Statements(ledger, store, LAG_S, clock=lambda: clock[0]), clock


def record_february(ledger: CostLedger) -> None:
    """Five calls of tenant acme (two users, two types, two models) and one of another tenant."""
    rows = [
        (1, "u1", "caption", "gpt-4o-mini", 1_000_500, 0),  # 1,000.5 µ$: rounds up alone
        (2, "u1", "caption", "gpt-4o-mini", 2_000_500, 100),
        (3, "u2", "content_planning", "gpt-4o", 5_000_400, 0),
        (4, "u2", "caption", "gpt-4o", 7_000_001, 50),
        (5, "u2", "caption", "gpt-4o-mini", 999, 0),
    ]
    for n, user, kind, model, nanos, cached in rows:
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
    other = Statements(ledger, store, LAG_S, clock=lambda: clock[0])  # another container
    assert other.statement("acme", "2026-02") == first


def test_the_csv_has_a_header_a_total_row_and_one_row_per_dimension_and_value():
    ledger, _, statements, _ = world()
    record_february(ledger)
    rows = list(csv.reader(io.StringIO(statement_csv(statements.statement("acme", "2026-02")))))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1][:2] == ["total", "ALL"] and rows[1][6:] == ["15002400", "15002", "0.015002400"]
    keys = [(row[0], row[1]) for row in rows[2:]]
    assert keys == [
        ("user", "u2"),
        ("user", "u1"),
        ("type", "caption"),
        ("type", "content_planning"),
        ("model", "gpt-4o"),
        ("model", "gpt-4o-mini"),
    ]
    response = statement_response(statements, "acme", "2026-02", "csv")
    assert response.content_type.startswith("text/csv") and response.body.startswith("dimension,key,")


ADMIN = Caller(user_id="root", is_admin=True)
ACME_ADMIN = Caller(user_id="ann", tenant="acme", is_tenant_admin=True)


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
