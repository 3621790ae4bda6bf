"""A tenant's monthly statement: spend by user, campaign type, model and campaign, from the tenant's day counters.

Assembly: three :meth:`~shared.ledger.ledger.CostLedger.breakdown` Queries of the tenant's scope
(``TENANT#<id>``) over the month's days: ``user`` (its ``user`` counters), ``type`` and ``model`` (both
sums of its ``type_model`` counters), each line with its calls, input/output/cached tokens and exact
nano-dollars; and ``campaign``, one :func:`~shared.ledger.campaign_costs.campaign_costs` Query of its
``campaign_provider`` counters (value ``<campaignId>#<provider>``, the providers summed), each campaign with
its all-time reported revenue (``revenue_of``, one BatchGetItem per 100 campaigns; the outcomes are a layer
above, so the lookup is passed in). Money: every line and the total are rounded half up to whole
micro-dollars **once**, from their exact nanos; the lines of one dimension therefore add up to the total's
nanos exactly and to its micro-dollars within half a micro-dollar per line (``costNanos`` is there to
reconcile to the nano). Every recorded call has a campaign id, so the campaign lines add up too.

Closed months never change: the first read of a month that is over *and* past the stream aggregator's
lag (``STATEMENT_FREEZE_LAG_S`` after the month's end: late counters have landed by then) stores the
statement as one item, pk ``STATEMENT#<tenant>#<YYYY-MM>``, sk ``STATEMENT``, with a conditional Put; of
concurrent first reads one stores and the others return what it stored. Every later read returns that
item as is (``final: true``), whatever counters move afterwards — or outcomes: the campaigns' revenue is
frozen with it. The current month, and a closed month still inside the lag, are computed live and say
``final: false``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from shared.core.time import utc_day
from shared.ledger.campaign_costs import campaign_costs
from shared.ledger.keys import STATEMENT_PREFIX, Key, tenant_scope
from shared.ledger.ledger import CostLedger, GroupBy, last_day_of_month
from shared.ledger.revenue import RevenueTotals, summed_revenue
from shared.ledger.store import Counters

StatementDimension = Literal["user", "type", "model", "campaign"]
DIMENSIONS: tuple[StatementDimension, ...] = ("user", "type", "model", "campaign")
BREAKDOWNS: tuple[GroupBy, ...] = ("user", "type", "model")  # the ledger's breakdowns; campaigns have their Query
RevenueLookup = Callable[[list[str]], Mapping[str, RevenueTotals]]
STATEMENT_SK = "STATEMENT"


@dataclass(frozen=True)
class StatementLine:
    """One value of one dimension (a user id, a campaign type, a model, a campaign id) and its month's counters."""

    dimension: StatementDimension
    key: str
    counters: Counters


@dataclass(frozen=True)
class Statement:
    """One tenant's month: every line, the total, each campaign's revenue, whether it is frozen, and when it was
    computed."""

    tenant: str
    month: str  # "YYYY-MM"
    final: bool
    generated_at: float
    lines: tuple[StatementLine, ...]
    total: Counters
    revenue: Mapping[str, RevenueTotals] = field(default_factory=dict)  # campaign id -> all-time reported outcomes

    def revenue_of(self, campaign_id: str) -> RevenueTotals:
        """A campaign line's revenue (zero without outcomes)."""
        return self.revenue.get(campaign_id, RevenueTotals())

    @property
    def revenue_total(self) -> RevenueTotals:
        """Every campaign line's revenue added."""
        return summed_revenue(self.revenue_of(line.key) for line in self.of("campaign"))

    def of(self, dimension: StatementDimension) -> list[StatementLine]:
        """The lines of one dimension, largest spend first (key order on ties)."""
        return [line for line in self.lines if line.dimension == dimension]


class MonthNotStatedError(ValueError):
    """A month with no statement yet: it has not begun."""


def statement_key(tenant: str, month: str) -> Key:
    """Where a closed month's statement is frozen."""
    return f"{STATEMENT_PREFIX}{tenant}#{month}", STATEMENT_SK


def month_end_epoch(month: str) -> float:
    """The first instant after ``YYYY-MM`` (UTC)."""
    last = last_day_of_month(month)
    return datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp() + 86_400


def assemble(
    ledger: CostLedger, tenant: str, month: str, final: bool, now: float, revenue_of: RevenueLookup
) -> Statement:
    """The statement from the tenant's counters: three breakdowns and the campaigns' Query over the month's days
    (up to today), and the campaigns' revenue."""
    first = date.fromisoformat(f"{month}-01")
    last = min(last_day_of_month(month), utc_day(now))
    scope = tenant_scope(tenant)
    lines: list[StatementLine] = []
    groups: dict[StatementDimension, dict[str, Counters]] = {
        group_by: ledger.breakdown(scope, group_by, first, last) for group_by in BREAKDOWNS
    }
    groups["campaign"] = {c.campaign_id: c.total for c in campaign_costs(ledger.store, scope, first, last)}
    for dimension in DIMENSIONS:
        ordered = sorted(groups[dimension].items(), key=lambda entry: (-entry[1].nanos, entry[0]))
        lines.extend(StatementLine(dimension, key, counters) for key, counters in ordered)
    total = sum((line.counters for line in lines if line.dimension == "user"), Counters())
    campaign_ids = list(groups["campaign"])
    revenue = dict(revenue_of(campaign_ids)) if campaign_ids else {}
    return Statement(tenant, month, final, now, tuple(lines), total, revenue)


class StatementStore(Protocol):
    """Where frozen statements live (the costs table's port)."""

    def get_items(self, keys: list[Key]) -> dict[Key, dict[str, Any]]: ...

    def put_if_absent(self, key: Key, attributes: Mapping[str, Any]) -> bool: ...


class Statements:
    """Statements of one tenant and month: live for an open month, frozen once for a closed one."""

    def __init__(
        self,
        ledger: CostLedger,
        store: StatementStore,
        freeze_lag_s: float,
        revenue_of: RevenueLookup,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._freeze_lag_s = freeze_lag_s
        self._revenue_of = revenue_of
        self._clock = clock

    def statement(self, tenant: str, month: str) -> Statement:
        """The month's statement; a month that has not begun raises :class:`MonthNotStatedError`."""
        now = self._clock()
        if month > f"{utc_day(now):%Y-%m}":
            raise MonthNotStatedError(f"{month} has not begun")
        if now < month_end_epoch(month) + self._freeze_lag_s:
            return assemble(self._ledger, tenant, month, False, now, self._revenue_of)
        key = statement_key(tenant, month)
        frozen = self._store.get_items([key]).get(key)
        if frozen is not None:
            return from_item(frozen)
        item = to_item(assemble(self._ledger, tenant, month, True, now, self._revenue_of))
        if self._store.put_if_absent(key, item):
            return from_item(item)  # what every later read returns, to the millisecond
        return from_item(self._store.get_items([key])[key])  # a concurrent first read froze it first


def to_item(statement: Statement) -> dict[str, Any]:
    """The frozen item's attributes: the statement as one JSON document (integers only, no floats)."""
    body = {
        "tenant": statement.tenant,
        "month": statement.month,
        "generatedAtMs": round(statement.generated_at * 1000),
        "lines": [[line.dimension, line.key, *_numbers(line.counters)] for line in statement.lines],
        "revenue": {
            campaign_id: [r.revenue_nanos, r.replies, r.outcomes, r.messages_with_outcome]
            for campaign_id, r in statement.revenue.items()
        },
    }
    return {"tenant": statement.tenant, "month": statement.month, "statement": json.dumps(body, sort_keys=True)}


def from_item(item: Mapping[str, Any]) -> Statement:
    """A frozen statement as stored (one frozen before campaign lines existed has none, and no revenue)."""
    body = json.loads(str(item["statement"]))
    lines = tuple(StatementLine(dimension, key, Counters(*numbers)) for dimension, key, *numbers in body["lines"])
    total = sum((line.counters for line in lines if line.dimension == "user"), Counters())
    revenue = {campaign_id: RevenueTotals(*numbers) for campaign_id, numbers in body.get("revenue", {}).items()}
    return Statement(body["tenant"], body["month"], True, int(body["generatedAtMs"]) / 1000, lines, total, revenue)


def _numbers(counters: Counters) -> list[int]:
    """A counter's fields in :class:`Counters` order."""
    return [
        counters.nanos,
        counters.requests,
        counters.tokens_in,
        counters.tokens_out,
        counters.fallbacks,
        counters.cached_tokens,
    ]
