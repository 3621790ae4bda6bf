"""Two readings of the daily counters for people: this period against the last one, and rows per day.

Both are built on :meth:`CostLedger.breakdown` only, so they read whatever counters the ledger
keeps and stay exact (integer micro-dollars) whatever its internals.

Comparison is like for like: the current period runs from its first day to today, the previous one
from its first day over as many days (cut at its own end: on 31 March, February counts its 28 or
29 days). A month compared with a whole previous month would look cheaper every day but the last.

Rows: one :meth:`CostLedger.breakdown` per day of the range (at most 90 Queries, each small), since a
breakdown folds its days together; the rows of a range add up to the breakdown of the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.ledger.keys import Scope
from shared.ledger.ledger import CostLedger, GroupBy
from shared.ledger.store import Counters

ComparePeriod = Literal["month", "week"]


@dataclass(frozen=True)
class DayRange:
    """UTC days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """How many days the range holds."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class PeriodSpend:
    """One period's spend by provider."""

    days: DayRange
    by_provider: dict[str, Counters]

    @property
    def total(self) -> Counters:
        """Every provider's counters added (each call counts under one provider)."""
        return sum(self.by_provider.values(), Counters())


@dataclass(frozen=True)
class PeriodComparison:
    """This period so far and the same stretch of the previous one."""

    period: ComparePeriod
    current: PeriodSpend
    previous: PeriodSpend


@dataclass(frozen=True)
class DailyRow:
    """One group's counters on one UTC day."""

    day: date
    key: str
    counters: Counters


def compared_ranges(period: ComparePeriod, today: date) -> tuple[DayRange, DayRange]:
    """The current period up to ``today`` and the previous period's first days, as many (ISO weeks start Monday)."""
    if period == "week":
        start = today - timedelta(days=today.weekday())
        previous_start = start - timedelta(days=7)
        previous_end = previous_start + timedelta(days=6)
    else:
        start = today.replace(day=1)
        previous_end = start - timedelta(days=1)
        previous_start = previous_end.replace(day=1)
    elapsed = (today - start).days
    return DayRange(start, today), DayRange(previous_start, min(previous_start + timedelta(days=elapsed), previous_end))


def compare_periods(ledger: CostLedger, scope: Scope, period: ComparePeriod, today: date) -> PeriodComparison:
    """Two provider breakdowns: the current period so far and its like-for-like predecessor."""
    current, previous = compared_ranges(period, today)
    return PeriodComparison(
        period,
        PeriodSpend(current, ledger.breakdown(scope, "provider", current.start, current.end)),
        PeriodSpend(previous, ledger.breakdown(scope, "provider", previous.start, previous.end)),
    )


def daily_rows(ledger: CostLedger, scope: Scope, group_by: GroupBy, days: DayRange) -> list[DailyRow]:
    """Each day's groups, day by day, largest spend first within a day (key order on ties)."""
    rows: list[DailyRow] = []
    for offset in range(days.days):
        day = days.start + timedelta(days=offset)
        groups = ledger.breakdown(scope, group_by, day, day)
        ordered = sorted(groups.items(), key=lambda entry: (-entry[1].micros, entry[0]))
        rows.extend(DailyRow(day, key, counters) for key, counters in ordered)
    return rows


def change_percent(current_micros: int, previous_micros: int) -> float | None:
    """(current - previous) / previous x 100, two decimals; None when there was nothing before."""
    if previous_micros == 0:
        return None
    return round(100 * (current_micros - previous_micros) / previous_micros, 2)
