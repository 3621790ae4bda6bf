"""Tenant quotas and monthly statements over HTTP on the local stack.

A tenant's cap is set through the thresholds route and binds every user of the tenant: 50 concurrent
campaigns of 10 of its users never commit past it. A statement equals the hand sum of its month's events,
recorded through the real ledger at the price table's prices and folded by the real stream; a closed
month's statement reads the same twice, even after a late call of that month lands in the counters.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import requests

from shared.budgets.guard import max_call_micros
from shared.budgets.store import tenant_budget
from shared.campaigns.models import CampaignData
from shared.campaigns.prompts import build_messages
from shared.config.settings import get_settings
from shared.ledger.events import CostEvent
from shared.ledger.keys import tenant_scope
from shared.wiring import container
from tests.conftest import eventually
from tests.support.docs import REPO_ROOT
from tests.support.e2e import CAPTION as SYNC_CAPTION

STATEMENTS = "/api/v2/billing/statements"
CAPTION = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "morning runs"}}
CONCURRENT, USERS = 50, 10
# (user, campaign type, provider, deployment, priced model, input tokens, cached of them, output tokens)
CALLS = [
    ("ann", "caption", "openai", "gpt-4o-mini", "gpt-4o-mini", 1_200, 0, 300),
    ("ann", "content_planning", "azure", "planner-gpt-4o", "gpt-4o", 2_000, 1_024, 900),
    ("bob", "caption", "openai", "gpt-4o-mini", "gpt-4o-mini", 333, 0, 77),
    ("bob", "message_generation", "openai", "gpt-4o-mini", "gpt-4o-mini", 5_001, 0, 1_999),
    ("cy", "content_planning", "openai", "gpt-4o", "gpt-4o", 777, 0, 123),
]


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"


def tenant_admin(api, tenant: str, user: str = "t-admin") -> str:
    return api.token(user, scope="user tenant_admin", tenant=tenant)


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def record_calls(tenant: str, at: float, tag: str) -> list[CostEvent]:
    """The month's events through the real ledger, priced by the real price table (exact nanos)."""
    prices, ledger = container.price_table(), container.cost_ledger()
    events = []
    for n, (user, kind, provider, deployment, model, tokens_in, cached, tokens_out) in enumerate(CALLS):
        cost = prices.cost(provider, deployment, tokens_in, tokens_out, cached_tokens=cached)
        events.append(
            CostEvent(
                request_id=f"{tenant}-{tag}-{n}",
                provider=provider,
                model=model,
                deployment=deployment,
                campaign_type=kind,
                campaign_id=f"wf_{tenant}_{n}",
                user_id=f"{tenant}-{user}",
                tenant=tenant,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                micros=cost.micros,
                nanos=cost.nanos,
                cached_tokens=cached,
                at=at + n,
            )
        )
    for event in events:
        assert ledger.record(event)
    return events


def wait_for_tenant_nanos(tenant: str, day: date, nanos: int) -> None:
    """Until the stream has folded the tenant's month up to ``day`` to exactly ``nanos`` in every dimension a
    statement reads (one batch writes its counters one after the other)."""
    ledger = container.cost_ledger()

    def folded(group_by: str) -> int:
        return sum(c.nanos for c in ledger.breakdown(tenant_scope(tenant), group_by, day.replace(day=1), day).values())

    eventually(lambda: all(folded(group_by) == nanos for group_by in ("day", "user", "model")), timeout_s=60)


def hand_sums(events: list[CostEvent], key) -> dict[str, tuple[int, int, int, int, int]]:
    """(nanos, calls, input, output, cached) per ``key(event)``, added up by hand."""
    sums: dict[str, tuple[int, int, int, int, int]] = {}
    for e in events:
        n, calls, tokens_in, tokens_out, cached = sums.get(key(e), (0, 0, 0, 0, 0))
        sums[key(e)] = (
            n + e.nanos,
            calls + 1,
            tokens_in + e.input_tokens,
            tokens_out + e.output_tokens,
            cached + e.cached_tokens,
        )
    return sums


def as_sums(lines: list[dict]) -> dict[str, tuple[int, int, int, int, int]]:
    return {
        line["key"]: (
            line["costNanos"],
            line["requests"],
            line["tokens"]["input"],
            line["tokens"]["output"],
            line["cachedTokens"],
        )
        for line in lines
    }


def half_up_micros(nanos: int) -> int:
    return (nanos + 500) // 1000


def test_fifty_concurrent_campaigns_of_ten_users_never_pass_the_tenant_cap(api):
    tenant, now = new_tenant(), time.time()
    users = [f"{tenant}-u{n}" for n in range(USERS)]
    messages = build_messages("caption", ["instagram"], CampaignData.model_validate(CAPTION["data"]))
    bound = max_call_micros(
        container.provider_router().candidates("caption"),
        container.price_table(),
        messages,
        get_settings().max_output_tokens,
    )
    # The tenant has spent all but one and a half calls' bounds: a call needs a whole bound of room to run,
    # so the calls that fit are those the room left by the ones before (each settled to its real cost) holds.
    cap_micros, left = 100_000, bound + bound // 2
    spent_before = (cap_micros - left) * 1_000
    container.cost_ledger().record(
        CostEvent(
            request_id=f"{tenant}-before",
            provider="openai",
            model="gpt-4o",
            deployment="gpt-4o",
            campaign_type="content_planning",
            campaign_id=f"wf_{tenant}_before",
            user_id=users[0],
            tenant=tenant,
            input_tokens=1_000,
            output_tokens=500,
            micros=spent_before // 1_000,
            nanos=spent_before,
            at=now - 60,
        )
    )
    wait_for_tenant_nanos(tenant, datetime.fromtimestamp(now, UTC).date(), spent_before)  # what the budget seeds
    created = api.call(
        "POST",
        "/api/v2/costs/thresholds",
        {
            "scope": "tenant",
            "period": "monthly",
            "amountUsd": f"{cap_micros / 1_000_000:.6f}",
            "action": "block",
        },
        token=tenant_admin(api, tenant),
    )
    assert created.status == 201, created.body
    assert (created.body["data"]["scope"], created.body["data"]["tenant"]) == ("tenant", tenant)
    time.sleep(get_settings().budget_cap_cache_s)  # the campaign container may remember "no cap" that long
    barrier = threading.Barrier(CONCURRENT)

    def one(n: int) -> tuple[int, dict]:
        token = api.token(users[n % USERS], tenant=tenant)
        barrier.wait()
        # The local server's listen backlog is small: 50 connects in one instant overflow it. Spread over a
        # quarter of a second they still all wait at once (the local server runs one handler at a time, as
        # one Lambda container does; the overlapping calls are tests/integration/budgets' threads).
        time.sleep(n * 0.005)
        reply = requests.post(
            f"{api.url}/api/v2/campaigns/hybrid",
            json=CAPTION,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return reply.status_code, reply.json()

    with ThreadPoolExecutor(CONCURRENT) as pool:
        replies = list(pool.map(one, range(CONCURRENT)))
    statuses = [status for status, _ in replies]
    ran, blocked = statuses.count(200), statuses.count(402)
    assert ran + blocked == CONCURRENT, statuses
    assert ran >= 1 and blocked >= 1, statuses
    for status, body in replies:
        if status == 402:
            (detail,) = body["error"]["details"]
            assert (detail["scope"], detail["tenant"], detail["capMicros"]) == ("tenant", tenant, cap_micros)
            assert detail["committedMicros"] + detail["neededMicros"] > cap_micros
    month = month_of(datetime.fromtimestamp(now, UTC).date())
    committed = container.budget_guard()._store.committed(tenant_budget(tenant), month)
    billed = sum(body["metrics"]["cost"]["costMicros"] for status, body in replies if status == 200)
    assert committed is not None and committed <= cap_micros  # never overshoots
    today = datetime.fromtimestamp(now, UTC).date()
    month_total = eventually(  # every call that ran, and the one before, folded
        lambda: (lambda t: t if t.requests == ran + 1 else None)(
            container.cost_ledger().stats(tenant_scope(tenant), today).month_total
        ),
        timeout_s=60,
    )
    spent = month_total.micros
    assert spent <= cap_micros
    # Each answer's costMicros is rounded on its own, the ledger's month once: they agree within half a µ$ a call.
    assert abs(spent - (spent_before // 1_000 + billed)) <= ran / 2 + 1


def test_a_statement_equals_the_hand_sum_of_its_months_events(api):
    tenant, now = new_tenant(), time.time()
    today = datetime.fromtimestamp(now, UTC).date()
    events = record_calls(tenant, now - 120, "now")
    record_calls(new_tenant(), now - 120, "other")  # another tenant's calls are not in it
    total_nanos = sum(e.nanos for e in events)
    wait_for_tenant_nanos(tenant, today, total_nanos)
    reply = api.call("GET", f"{STATEMENTS}?month={month_of(today)}", token=tenant_admin(api, tenant))
    assert reply.status == 200, reply.body
    data = reply.body["data"]
    assert (data["tenant"], data["month"], data["final"]) == (tenant, month_of(today), False)
    assert as_sums(data["byUser"]) == hand_sums(events, lambda e: e.user_id)
    assert as_sums(data["byType"]) == hand_sums(events, lambda e: e.campaign_type)
    assert as_sums(data["byModel"]) == hand_sums(events, lambda e: e.model)
    assert as_sums(data["byCampaign"]) == hand_sums(events, lambda e: e.campaign_id)
    assert data["total"]["costNanos"] == total_nanos
    assert data["total"]["costMicros"] == half_up_micros(total_nanos)  # the total rounds once
    assert data["total"]["cost"] == data["total"]["costMicros"] / 1_000_000
    assert all(line["costMicros"] == half_up_micros(line["costNanos"]) for line in data["byUser"])


def test_a_closed_months_statement_reads_the_same_twice_and_ignores_late_calls(api):
    tenant = new_tenant()
    today = datetime.now(UTC).date()
    last_month = today.replace(day=1) - timedelta(days=1)
    at = datetime(last_month.year, last_month.month, 1, 12, tzinfo=UTC).timestamp()
    events = record_calls(tenant, at, "past")
    wait_for_tenant_nanos(tenant, last_month, sum(e.nanos for e in events))
    path = f"{STATEMENTS}?tenant={tenant}&month={month_of(last_month)}"
    admin = api.token("billing-ops", admin=True)
    first = api.call("GET", path, token=admin)
    assert first.status == 200, first.body
    assert first.body["data"]["final"] is True
    assert as_sums(first.body["data"]["byModel"]) == hand_sums(events, lambda e: e.model)
    late = record_calls(tenant, at + 3_600, "late")  # calls of that month recorded after it was stated
    wait_for_tenant_nanos(tenant, last_month, sum(e.nanos for e in events + late))
    again = api.call("GET", path, token=tenant_admin(api, tenant))
    assert again.body["data"] == first.body["data"]  # frozen: the same statement, generatedAt included
    csv_first = api.call("GET", f"{path}&format=csv", token=admin)
    csv_again = api.call("GET", f"{path}&format=csv", token=admin)
    assert csv_first.status == 200 and csv_first.body == csv_again.body


def documented_csv_header() -> list[str]:
    """The CSV header docs/billing.md promises: the contract the served header is held to (not a copy of the code)."""
    found = re.search(r"`(dimension,key,[\w,]+)`", (REPO_ROOT / "docs" / "billing.md").read_text())
    assert found, "docs/billing.md names no CSV header"
    return found[1].split(",")


def test_the_csv_form_has_a_header_a_total_and_a_row_per_dimension_and_value(api):
    tenant, now = new_tenant(), time.time()
    today = datetime.fromtimestamp(now, UTC).date()
    events = record_calls(tenant, now - 60, "csv")
    wait_for_tenant_nanos(tenant, today, sum(e.nanos for e in events))
    reply = api.call("GET", f"{STATEMENTS}?format=csv", token=tenant_admin(api, tenant))
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/csv"), reply.headers
    rows = list(csv.DictReader(io.StringIO(reply.body)))
    assert list(rows[0]) == documented_csv_header()
    total = rows[0]
    assert (total["dimension"], total["key"], int(total["costNanos"])) == ("total", "ALL", sum(e.nanos for e in events))
    assert total["costUsd"] == f"{sum(e.nanos for e in events) / 1e9:.9f}"
    users = {row["key"]: int(row["costNanos"]) for row in rows if row["dimension"] == "user"}
    assert users == {user: sums[0] for user, sums in hand_sums(events, lambda e: e.user_id).items()}
    assert {row["dimension"] for row in rows} == {"total", "user", "type", "model", "campaign"}
    campaigns = {
        row["key"]: (int(row["costNanos"]), int(row["roiMicros"])) for row in rows if row["dimension"] == "campaign"
    }
    assert campaigns == {e.campaign_id: (e.nanos, -half_up_micros(e.nanos)) for e in events}  # no outcome: ROI = -cost


def test_a_tenants_campaign_shows_the_cost_revenue_and_roi_of_campaigns_costs(api):
    """A campaign run over HTTP, an outcome reported for it: its statement line is /campaigns/costs' row."""
    tenant = new_tenant()
    user, admin = f"{tenant}-maker", tenant_admin(api, tenant)
    run = api.call("POST", "/api/v2/campaigns/hybrid", SYNC_CAPTION, token=api.token(user, tenant=tenant))
    assert run.status == 200, run.body
    workflow_id = run.body["data"]["workflowId"]
    sold = {"workflowId": workflow_id, "outcomeId": "sale-1", "revenueUsd": 3.210987}
    for body in (sold, {"workflowId": workflow_id, "outcomeId": "replies-1", "replies": 4}):
        reported = api.call("POST", "/api/v2/campaigns/outcomes", body, token=api.token(user, tenant=tenant))
        assert reported.status == 201, reported.body
    today = datetime.now(UTC).date()
    window = f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
    costs_path = f"/api/v2/campaigns/costs?scope=tenant&tenant={tenant}&{window}"

    def both() -> tuple[dict, dict] | None:
        costs = api.call("GET", costs_path, token=admin)
        assert costs.status == 200, costs.body
        row = next((c for c in costs.body["data"]["campaigns"] if c["campaignId"] == workflow_id), None)
        statement = api.call("GET", STATEMENTS, token=admin)
        assert statement.status == 200, statement.body
        line = next((c for c in statement.body["data"]["byCampaign"] if c["key"] == workflow_id), None)
        folded = row and line and row["requests"] == line["requests"] == statement.body["data"]["total"]["requests"]
        return (row, statement.body["data"]) if folded else None

    row, data = eventually(both, timeout_s=60)
    (line,) = data["byCampaign"]
    same = ("cost", "costMicros", "requests", "tokens", "revenueUsd", "revenueMicros", "roiUsd", "roiMicros")
    assert {k: line[k] for k in (*same, "roiRatio", "replies", "outcomes")} == {
        k: row[k] for k in (*same, "roiRatio", "replies", "outcomes")
    }
    nanos = line["costNanos"]
    assert nanos > 0 and line["costMicros"] == half_up_micros(nanos)
    assert (line["revenueMicros"], line["replies"], line["outcomes"]) == (3_210_987, 4, 2)
    assert line["roiMicros"] == half_up_micros(3_210_987_000 - nanos)  # exact nanos, rounded once
    assert line["roiRatio"] == round(3_210_987_000 / nanos, 6)
    assert (data["total"]["revenueMicros"], data["total"]["roiMicros"]) == (3_210_987, line["roiMicros"])
    exported = api.call("GET", f"{STATEMENTS}?format=csv", token=admin)
    assert exported.status == 200, exported.body
    (campaign_row,) = [r for r in csv.DictReader(io.StringIO(exported.body)) if r["dimension"] == "campaign"]
    assert (campaign_row["key"], int(campaign_row["costNanos"]), campaign_row["revenueUsd"]) == (
        workflow_id,
        nanos,
        "3.210987000",
    )
    assert (int(campaign_row["roiMicros"]), float(campaign_row["roiRatio"]), campaign_row["replies"]) == (
        line["roiMicros"],
        line["roiRatio"],
        "4",
    )
    assert campaign_row["roiUsd"] == f"{(3_210_987_000 - nanos) / 1e9:.9f}"


def test_who_may_read_a_statement_and_what_a_bad_month_gets(api):
    tenant = new_tenant()
    plain = api.call("GET", STATEMENTS, token=api.token("t-user", tenant=tenant))
    assert plain.status == 403 and plain.body["error"]["code"] == "FORBIDDEN", plain.body
    other = api.call("GET", f"{STATEMENTS}?tenant={new_tenant()}", token=tenant_admin(api, tenant))
    assert other.status == 404 and other.body["error"]["code"] == "TENANT_NOT_FOUND", other.body
    no_tenant = api.call("GET", STATEMENTS, token=api.token("billing-ops", admin=True))
    assert no_tenant.status == 422 and no_tenant.body["error"]["details"][0]["field"] == "tenant"
    next_month = (datetime.now(UTC).date().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    for month in ("2026-13", "2026-1", "soon", "0000-01", next_month):
        bad = api.call("GET", f"{STATEMENTS}?month={month}", token=tenant_admin(api, tenant))
        assert bad.status == 422, (month, bad.body)
        assert bad.body["error"]["details"][0]["field"] == "month", bad.body


def test_the_statements_route_and_the_tenant_threshold_fields_are_in_the_openapi_document(api):
    document = api.call("GET", "/api/openapi.json").body
    operation = document["paths"][STATEMENTS]["get"]
    assert operation["tags"] == ["billing"]
    assert {p["name"] for p in operation["parameters"]} == {"tenant", "month", "format"}
    assert {"application/json", "text/csv"} <= set(operation["responses"]["200"]["content"])
    assert {"403", "404", "422"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert {"byUser", "byType", "byModel", "total", "final"} <= set(schemas["StatementView"]["properties"])
    request = schemas["CreateThresholdRequest"]["properties"]
    assert "tenant" in request["scope"]["enum"] and "tenant" in request
