"""This period against the last one, and the export's rows: ranges, exact sums, the CSV's shape."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from shared.api.costs.report_views import comparison_response, export_csv
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVERYONE, Scope
from shared.ledger.ledger import CostLedger
from shared.ledger.reports import DayRange, change_percent, compare_periods, compared_ranges, daily_rows
from tests.support.fakes import InMemoryCostStore

_COUNTER = iter(range(1_000_000))


def spend(ledger: CostLedger, day: date, micros: int, provider: str = "openai", user: str = "u1", **changes) -> None:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    n = next(_COUNTER)
    fields = {
        "request_id": f"wf_{n}#generate#0",
        "provider": provider,
        "model": "gpt-4o-mini" if provider == "openai" else "gpt-4o",
        "deployment": "gpt-4o-mini" if provider == "openai" else "planner-gpt-4o",
        "campaign_type": "caption",
        "campaign_id": f"wf_{n}",
        "user_id": user,
        "tenant": None,
        "input_tokens": 100,
        "output_tokens": 50,
        "micros": micros,
        "at": at,
    }
    ledger.record(CostEvent(**{**fields, **changes}))


@pytest.mark.parametrize(
    ("period", "today", "current", "previous"),
    [
        ("month", date(2026, 3, 14), (date(2026, 3, 1), date(2026, 3, 14)), (date(2026, 2, 1), date(2026, 2, 14))),
        # Like for like, cut at the previous month's end: 31 days against February's 28.
        ("month", date(2026, 3, 31), (date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28))),
        ("month", date(2026, 1, 5), (date(2026, 1, 1), date(2026, 1, 5)), (date(2025, 12, 1), date(2025, 12, 5))),
        # ISO weeks: Saturday 14 March 2026 is the sixth day of the week that began on Monday the 9th.
        ("week", date(2026, 3, 14), (date(2026, 3, 9), date(2026, 3, 14)), (date(2026, 3, 2), date(2026, 3, 7))),
        ("week", date(2026, 3, 9), (date(2026, 3, 9), date(2026, 3, 9)), (date(2026, 3, 2), date(2026, 3, 2))),
    ],
)
def test_compared_ranges_are_the_period_so_far_and_as_many_days_before(period, today, current, previous):
    assert compared_ranges(period, today) == (DayRange(*current), DayRange(*previous))


def test_change_percent_is_relative_to_the_previous_period_and_none_from_nothing():
    assert change_percent(150, 100) == 50.0
    assert change_percent(1, 3) == -66.67
    assert change_percent(5, 0) is None
    assert change_percent(0, 0) is None


def test_comparison_counts_only_the_like_for_like_days_exactly():
    ledger = CostLedger(InMemoryCostStore())
    spend(ledger, date(2026, 3, 2), 1_000_001)
    spend(ledger, date(2026, 3, 14), 2, provider="azure")
    spend(ledger, date(2026, 2, 14), 500_000)
    spend(ledger, date(2026, 2, 15), 9_999_999)  # after the 14th of February: not like for like
    spend(ledger, date(2026, 3, 15), 7_777_777)  # tomorrow (a clock ahead elsewhere): outside the current period
    body = json.loads(json.dumps(comparison_response(ledger, EVERYONE, "month", date(2026, 3, 14)).body))["data"]
    assert (body["current"]["from"], body["current"]["to"], body["current"]["days"]) == ("2026-03-01", "2026-03-14", 14)
    assert (body["previous"]["from"], body["previous"]["to"]) == ("2026-02-01", "2026-02-14")
    assert body["total"] == {
        "currentMicros": 1_000_003,
        "previousMicros": 500_000,
        "changeMicros": 500_003,
        "changeUsd": 0.500003,
        "changePercent": 100.0,
    }
    assert [
        (p["provider"], p["currentMicros"], p["previousMicros"], p["changePercent"]) for p in body["providers"]
    ] == [
        ("openai", 1_000_001, 500_000, 100.0),
        ("azure", 2, 0, None),
    ]
    assert body["current"]["total"]["costMicros"] == 1_000_003


def test_a_users_comparison_holds_only_their_spend():
    ledger = CostLedger(InMemoryCostStore())
    spend(ledger, date(2026, 3, 10), 100, user="alice")
    spend(ledger, date(2026, 3, 10), 900, user="bob")
    comparison = compare_periods(ledger, Scope("alice"), "week", date(2026, 3, 14))
    assert comparison.current.total.micros == 100
    assert comparison.previous.total.micros == 0


def test_daily_rows_add_up_to_the_breakdown_of_the_range():
    ledger = CostLedger(InMemoryCostStore())
    for day, micros, provider in [(10, 3, "openai"), (10, 5, "azure"), (12, 7, "openai"), (12, 7, "openai")]:
        spend(ledger, date(2026, 3, day), micros, provider=provider)
    days = DayRange(date(2026, 3, 9), date(2026, 3, 12))
    rows = daily_rows(ledger, EVERYONE, "provider", days)
    assert [(row.day.day, row.key, row.counters.micros, row.counters.requests) for row in rows] == [
        (10, "azure", 5, 1),
        (10, "openai", 3, 1),
        (12, "openai", 14, 2),
    ]
    for group_by in ("provider", "model", "type", "campaign", "user", "day"):
        breakdown = ledger.breakdown(EVERYONE, group_by, days.start, days.end)
        rows = daily_rows(ledger, EVERYONE, group_by, days)
        assert sum(row.counters.micros for row in rows) == sum(c.micros for c in breakdown.values()) == 22
        assert {row.key for row in rows} == set(breakdown)


def test_the_csv_has_the_header_one_row_per_group_and_day_and_exact_usd():
    ledger = CostLedger(InMemoryCostStore())
    spend(ledger, date(2026, 3, 10), 1_234_567, provider="azure")
    spend(ledger, date(2026, 3, 11), 1, provider="openai")
    text = export_csv(
        daily_rows(ledger, EVERYONE, "provider", DayRange(date(2026, 3, 10), date(2026, 3, 11))), "provider"
    )
    assert list(csv.reader(io.StringIO(text))) == [
        ["day", "provider", "calls", "inputTokens", "outputTokens", "costUsd"],
        ["2026-03-10", "azure", "1", "100", "50", "1.234567000"],
        ["2026-03-11", "openai", "1", "100", "50", "0.000001000"],
    ]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_kept_as_text():
    ledger = CostLedger(InMemoryCostStore())
    spend(ledger, date(2026, 3, 10), 10, user='=HYPERLINK("http://x","y")')
    spend(ledger, date(2026, 3, 10), 5, user="plain, with a comma")
    text = export_csv(daily_rows(ledger, EVERYONE, "user", DayRange(date(2026, 3, 10), date(2026, 3, 10))), "user")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[1] for row in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "plain, with a comma"]
