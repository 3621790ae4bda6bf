"""Recording calls and reading spend: one transaction per call, a constant number of reads per question.

Reads touch counters only (never raw events, never a Scan): stats are two Queries whatever the
volume, a breakdown is one Query over ``days x distinct values`` counter items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from shared.ledger.events import CostEvent
from shared.ledger.keys import (
    Scope,
    aggregate_pk,
    counter_keys,
    day_period,
    event_key,
    month_period,
    period_bounds,
    split_sort_key,
)
from shared.ledger.store import CostStore, Counters

SECONDS_PER_DAY = 86_400
GroupBy = Literal["provider", "model", "type", "campaign", "user", "day"]
# groupBy → the dimension whose counters answer it ("day" reads the per-day totals).
GROUP_BY_DIMENSION: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "type": "type",
    "campaign": "campaign",
    "user": "user",
    "day": "total",
}


@dataclass(frozen=True)
class CostStats:
    """Today's and this month's spend of one scope, by provider."""

    today: date
    day_by_provider: dict[str, Counters]
    month_by_provider: dict[str, Counters]

    @property
    def day_total(self) -> Counters:
        """Today's total: the sum of the providers' counters (each call counts under one provider)."""
        return sum(self.day_by_provider.values(), Counters())

    @property
    def month_total(self) -> Counters:
        """This month's total."""
        return sum(self.month_by_provider.values(), Counters())


class CostLedger:
    """Exact, idempotent cost records and the pre-aggregated views of them."""

    def __init__(self, store: CostStore, event_ttl_days: int = 30, counter_ttl_days: int = 400) -> None:
        self._store = store
        self._event_ttl_s = event_ttl_days * SECONDS_PER_DAY
        self._counter_ttl_s = counter_ttl_days * SECONDS_PER_DAY

    @property
    def store(self) -> CostStore:
        """The table the ledger writes (the alerts read the same counters)."""
        return self._store

    def record(self, event: CostEvent) -> bool:
        """Record one call; False when its request id was already recorded (nothing is counted twice)."""
        increment = Counters(
            event.nanos or 0, 1, event.input_tokens, event.output_tokens, int(event.fallback), event.cached_tokens
        )
        return self._store.add_event(
            event_key(event.request_id),
            _event_item(event, int(event.at) + self._event_ttl_s),
            counter_keys(event),
            increment,
            int(event.at) + self._counter_ttl_s,
        )

    def stats(self, scope: Scope, today: date) -> CostStats:
        """Two Queries: the providers' counters of today and of this month."""
        return CostStats(
            today,
            self.values(scope, "provider", day_period(today)),
            self.values(scope, "provider", month_period(today)),
        )

    def values(self, scope: Scope, dimension: str, period: str) -> dict[str, Counters]:
        """Every value's counters of one dimension in one period (one Query)."""
        items = self._store.query(aggregate_pk(scope, dimension), *period_bounds(period, period))
        return {split_sort_key(item["sk"])[1]: Counters.from_item(item) for item in items}

    def breakdown(self, scope: Scope, group_by: GroupBy, start: date, end: date) -> dict[str, Counters]:
        """Spend from ``start`` to ``end`` (inclusive, UTC days) grouped, from one Query.

        In a user's scope ``user`` groups by the one user there is (read from their totals);
        ``day`` lists every day of the range, zero when nothing was spent.
        """
        dimension = GROUP_BY_DIMENSION[group_by]
        if group_by == "user" and scope.user_id is not None:
            dimension = "total"
        items = self._store.query(aggregate_pk(scope, dimension), *period_bounds(day_period(start), day_period(end)))
        groups: dict[str, Counters] = {}
        if group_by == "day":
            groups = {(start + timedelta(days=n)).isoformat(): Counters() for n in range((end - start).days + 1)}
        for item in items:
            period, value = split_sort_key(item["sk"])
            if group_by == "day":
                label = period.removeprefix("DAY#")
            elif dimension == "total":
                label = str(scope.user_id)
            else:
                label = value
            groups[label] = groups.get(label, Counters()) + Counters.from_item(item)
        return groups


def _event_item(event: CostEvent, expires_at: int) -> Mapping[str, Any]:
    """The raw event as stored (30-day TTL): enough to audit or rebuild every counter."""
    return {
        "requestId": event.request_id,
        "provider": event.provider,
        "model": event.model,
        "deployment": event.deployment,
        "campaignType": event.campaign_type,
        "campaignId": event.campaign_id,
        "userId": event.user_id,
        "tenant": event.tenant,
        "tokensIn": event.input_tokens,
        "tokensOut": event.output_tokens,
        "tokensCached": event.cached_tokens,
        "tokensReasoning": event.reasoning_tokens,
        "costMicros": event.micros,
        "costNanos": event.nanos,
        "status": event.status,
        "fallback": event.fallback,
        "at": int(event.at),
        "expiresAt": expires_at,
    }
