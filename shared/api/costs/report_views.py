"""The comparison's answer, and the export's CSV: exact USD written from micro-dollars, never from floats.

The handlers reach the reports through here (``export_response``, ``comparison_response``) and take the
query's types from here too, so they import nothing below the api layer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from aws_lambda_powertools.event_handler import Response

from shared.api.costs.report_schemas import (
    ComparedPeriodView,
    CostComparisonView,
    ProviderChangeView,
    SpendChangeView,
)
from shared.api.costs.schemas import SpendView
from shared.api.costs.views import _providers, _scope_view, _spend
from shared.api.envelope import success
from shared.core.pricing import NANOS_PER_USD, usd_amount
from shared.ledger.keys import Scope
from shared.ledger.ledger import CostLedger, GroupBy
from shared.ledger.reports import (
    ComparePeriod,
    DailyRow,
    DayRange,
    PeriodSpend,
    change_percent,
    compare_periods,
    daily_rows,
)

__all__ = [
    "CSV_MEDIA_TYPE",
    "ComparePeriod",
    "GroupBy",
    "comparison_response",
    "csv_cell",
    "exact_usd",
    "export_csv",
    "export_response",
]

CSV_MEDIA_TYPE = "text/csv"
CSV_COLUMNS = ("calls", "inputTokens", "outputTokens", "costUsd")
# A cell starting with one of these is a formula to a spreadsheet; user ids come from token subjects.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def comparison_response(ledger: CostLedger, scope: Scope, period: ComparePeriod, today: date) -> Response[dict]:
    """Both periods, the total's change and each provider's, largest current spend first."""
    comparison = compare_periods(ledger, scope, period, today)
    current, previous = comparison.current.by_provider, comparison.previous.by_provider
    names = sorted(current.keys() | previous.keys(), key=lambda name: (-_micros(current, name), name))
    view = CostComparisonView(
        scope=_scope_view(scope),
        period=comparison.period,
        current=_period_view(comparison.current),
        previous=_period_view(comparison.previous),
        total=SpendChangeView(**_change(comparison.current.total.micros, comparison.previous.total.micros)),
        providers=[
            ProviderChangeView(provider=name, **_change(_micros(current, name), _micros(previous, name)))
            for name in names
        ],
    )
    return success(view.model_dump(by_alias=True))


def export_response(ledger: CostLedger, scope: Scope, group_by: GroupBy, start: date, end: date) -> Response[str]:
    """The CSV as an attachment a browser saves under a name that says what it holds."""
    body = export_csv(daily_rows(ledger, scope, group_by, DayRange(start, end)), group_by)
    filename = f"costs_{start.isoformat()}_{end.isoformat()}_by_{group_by}.csv"
    return Response(
        200,
        f"{CSV_MEDIA_TYPE}; charset=utf-8",
        body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def export_csv(rows: Sequence[DailyRow], group_by: str) -> str:
    """``day,<groupBy>,calls,inputTokens,outputTokens,costUsd`` then one row per group and day (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("day", group_by, *CSV_COLUMNS))
    for row in rows:
        counters = row.counters
        writer.writerow(
            (
                row.day.isoformat(),
                csv_cell(row.key),
                counters.requests,
                counters.tokens_in,
                counters.tokens_out,
                exact_usd(counters.nanos),
            )
        )
    return buffer.getvalue()


def exact_usd(nanos: int) -> str:
    """USD exact to the nano-dollar: nine decimals, never an exponent."""
    return f"{Decimal(nanos) / NANOS_PER_USD:.9f}"


def csv_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ``'`` before what it would run as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _micros(by_provider: dict, name: str) -> int:
    counters = by_provider.get(name)
    return counters.micros if counters else 0


def _change(current_micros: int, previous_micros: int) -> dict:
    delta = current_micros - previous_micros
    return {
        "current_micros": current_micros,
        "previous_micros": previous_micros,
        "change_micros": delta,
        "change_usd": usd_amount(delta),
        "change_percent": change_percent(current_micros, previous_micros),
    }


def _period_view(spend: PeriodSpend) -> ComparedPeriodView:
    return ComparedPeriodView(
        from_=spend.days.start.isoformat(),
        to=spend.days.end.isoformat(),
        days=spend.days.days,
        total=SpendView(**_spend(spend.total)),
        providers=_providers(spend.by_provider),
    )
