"""The export (CSV) and the period comparison over HTTP after real campaigns: breakdown's scoping and validation."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import pytest

from shared.core.pricing import nanos_to_micros
from tests.conftest import ApiClient

CAMPAIGNS = [
    {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "reports"}},
    {"type": "caption", "platforms": ["tiktok"], "data": {"theme": "reports"}},
]


@pytest.fixture(scope="module")
def spender(api: ApiClient) -> str:
    """A user of their own with two real campaigns (planning on Azure, a caption on OpenAI)."""
    user = f"reports-{uuid.uuid4().hex[:8]}"
    spent = 0
    for campaign in CAMPAIGNS:
        reply = api.call("POST", "/api/v2/campaigns/hybrid", campaign, token=api.token(user))
        assert reply.status == 200, reply.body
        spent += reply.body["metrics"]["cost"]["costMicros"]
    api.wait_for_spend(api.token(user), spent)  # the counters trail the answers by the stream's fold
    return user


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_rows_sum_to_the_breakdown_for_every_grouping(api: ApiClient, spender: str) -> None:
    token = api.token(spender)
    for group_by in ("provider", "model", "type", "campaign", "user", "day"):
        export = api.call("GET", f"/api/v2/costs/export?groupBy={group_by}&format=csv", token=token)
        assert export.status == 200, export.body
        assert export.headers["content-type"].startswith("text/csv")
        assert export.headers["content-disposition"].startswith("attachment; filename=")
        assert export.body.splitlines()[0] == f"day,{group_by},calls,inputTokens,outputTokens,costUsd"
        breakdown = api.call("GET", f"/api/v2/costs/breakdown?groupBy={group_by}", token=token).body["data"]
        rows = _rows(export.body)
        # nine decimals: exact nano-dollars; the breakdown rounds its total half up to a micro-dollar once
        micros = nanos_to_micros(sum(int(row["costUsd"].replace(".", "")) for row in rows))
        assert micros == breakdown["total"]["costMicros"] > 0
        assert sum(int(row["calls"]) for row in rows) == breakdown["total"]["requests"]
        assert sum(int(row["inputTokens"]) for row in rows) == breakdown["total"]["tokens"]["input"]
    providers = {row["provider"] for row in _rows(api.call("GET", "/api/v2/costs/export", token=token).body)}
    assert providers == {"azure", "openai"}


def test_a_user_exports_only_their_own_and_an_admin_may_name_them(api: ApiClient, spender: str) -> None:
    mine = api.call("GET", "/api/v2/costs/export?groupBy=user", token=api.token(spender)).body
    assert {row["user"] for row in _rows(mine)} == {spender}
    named = api.call("GET", f"/api/v2/costs/export?groupBy=user&userId={spender}", token=api.token("boss", admin=True))
    assert named.body == mine
    other = api.call("GET", f"/api/v2/costs/export?userId={spender}", token=api.token("someone-else"))
    assert other.status == 403
    assert other.body["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-10&to=2026-03-09", "from"),
        ("from=2026-01-01&to=2026-04-01", "to"),
        ("groupBy=colour", "groupBy"),
        ("format=pdf", "format"),
        ("from=2026-02-30", "from"),
    ],
)
def test_bad_export_requests_are_422_naming_the_field(api: ApiClient, query: str, field: str) -> None:
    reply = api.call("GET", f"/api/v2/costs/export?{query}", token=api.token("reports-validation"))
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "VALIDATION_ERROR"
    assert field in [detail["field"] for detail in reply.body["error"]["details"]]


def test_the_comparison_matches_the_stats_and_names_both_periods(api: ApiClient, spender: str) -> None:
    token = api.token(spender)
    stats = api.call("GET", "/api/v2/costs/stats", token=token).body["data"]
    month = api.call("GET", "/api/v2/costs/compare?period=month", token=token)
    assert month.status == 200, month.body
    data = month.body["data"]
    today = date.fromisoformat(stats["date"])
    assert (data["current"]["from"], data["current"]["to"]) == (today.replace(day=1).isoformat(), stats["date"])
    assert data["total"]["currentMicros"] == stats["monthTotalMicros"] > 0
    assert data["total"]["previousMicros"] == 0 and data["total"]["changePercent"] is None  # a new user
    assert {p["provider"] for p in data["providers"]} == {"azure", "openai"}
    week = api.call("GET", "/api/v2/costs/compare?period=week", token=token).body["data"]
    assert week["current"]["from"] == (today - timedelta(days=today.weekday())).isoformat()
    assert week["total"]["currentMicros"] == stats["todayTotalMicros"]  # every call of this user is today's
    bad = api.call("GET", "/api/v2/costs/compare?period=year", token=token)
    assert bad.status == 422
    assert [d["field"] for d in bad.body["error"]["details"]] == ["period"]


def test_both_routes_are_in_the_openapi_document_and_the_page_is_not(api: ApiClient) -> None:
    paths = api.call("GET", "/api/openapi.json").body["paths"]
    export = paths["/api/v2/costs/export"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["text/csv"]
    assert {p["name"] for p in export["parameters"]} == {"from", "to", "groupBy", "format", "userId", "scope", "tenant"}
    assert "/api/v2/costs/compare" in paths
    assert not [path for path in paths if path.startswith("/dashboard")]


def test_the_dashboard_serves_its_files_only(api: ApiClient) -> None:
    page = api.call("GET", "/dashboard")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for asset in ("dashboard.js", "dashboard.css", "chart.umd.4.5.1.min.js"):
        assert f"dashboard/{asset}" in page.body
        assert api.call("GET", f"/dashboard/{asset}").status == 200
    for missing in ("app.py", "chart.js-LICENSE.md", "..%2Fapp.py", "index.html"):
        reply = api.call("GET", f"/dashboard/{missing}")
        assert reply.status == 404 and reply.body["error"]["code"] == "NOT_FOUND"
