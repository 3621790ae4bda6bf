"""Recording calls and reading spend: one conditional Put per call, a constant number of reads per question.

Reads touch day counters only (never raw events, never a Scan): stats are one Query (the scope's
``type_model`` counters of the month so far), a breakdown one Query over ``days x distinct values``
counter items. Provider, model and type are sums of ``type_model``; a month is the sum of its days.
Counters are folded from the table's stream (:mod:`shared.ledger.aggregator`), so they trail a recorded
call by the stream's lag (about a second); the call's own answer carries its exact cost at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from shared.core.time import SECONDS_PER_DAY
from shared.ledger.events import CostEvent
from shared.ledger.keys import (
    TENANT_DIMENSION,
    Key,
    Scope,
    aggregate_pk,
    day_period,
    event_key,
    month_start,
    period_bounds,
    split_sort_key,
)
from shared.ledger.store import CostStore, Counters

GroupBy = Literal["provider", "model", "type", "campaign", "user", "tenant", "day"]
# groupBy → the dimension whose day counters answer it.
GROUP_BY_DIMENSION: dict[str, str] = {
    "provider": "type_model",
    "model": "type_model",
    "type": "type_model",
    "campaign": "campaign_provider",
    "user": "user",
    "tenant": TENANT_DIMENSION,
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


def group_label(group_by: GroupBy, scope: Scope, item: Mapping[str, Any]) -> str:
    """The group one counter item adds to."""
    period, value = split_sort_key(str(item["sk"]))
    if group_by == "day":
        return period.removeprefix("DAY#")
    if group_by == "user":
        return value if scope.user_id is None else str(scope.user_id)
    if group_by == "tenant":
        return value if scope.tenant_id is None else scope.tenant_id
    if group_by == "campaign":
        return value.rpartition("#")[0]  # <campaignId>#<provider>; provider names hold no "#"
    campaign_type, provider, _, model = value.split("#", 3)  # <type>#<provider>#<deployment>#<model>
    if group_by == "provider":
        return provider
    if group_by == "type":
        return campaign_type
    return model


def month_total_micros(store: CostStore, scope_key: str, day: date, known: Mapping[date, int] | None = None) -> int:
    """A scope's spend from the first of ``day``'s month to ``day``: one Query of its day totals, with
    ``known`` days (values the caller just wrote, fresher than an eventually consistent read) laid over."""
    low, high = period_bounds(day_period(month_start(day)), day_period(day))
    days = {
        date.fromisoformat(split_sort_key(str(item["sk"]))[0].removeprefix("DAY#")): Counters.from_item(item).micros
        for item in store.query(f"AGG#{scope_key}#total", low, high)
    }
    days.update(known or {})
    return sum(days.values())


def spend_of(store: CostStore, keys: list[Key]) -> dict[Key, int]:
    """The micro-dollars of scope totals named ``(AGG#<scope>#total, DAY#…#ALL | MONTH#…#ALL)``: day
    totals in one ``BatchGetItem``, each month total one Query of its days."""
    days = [k for k in keys if k[1].startswith("DAY#")]
    found = {k: Counters.from_item(item).micros for k, item in store.get_items(days).items()}
    spent = {k: found.get(k, 0) for k in days}
    for key in keys:
        if key[1].startswith("MONTH#"):
            month = key[1].split("#")[1]
            today = last_day_of_month(month)
            spent[key] = month_total_micros(store, key[0].removeprefix("AGG#").removesuffix("#total"), today)
    return spent


def is_spend_key(key: Key) -> bool:
    """A scope total (``AGG#<scope>#total``), read from counters rather than as an item of its own."""
    return key[0].startswith("AGG#") and key[0].endswith("#total")


def read_with_spend(store: CostStore, keys: list[Key]) -> dict[Key, dict[str, Any]]:
    """Items by key, as one ``BatchGetItem`` would give them, except that scope totals (days and months)
    come as ``{"micros": …}`` from :func:`spend_of`: what the threshold checks read when no batch hands
    them the spend (the routes, tests)."""
    spend = [k for k in keys if is_spend_key(k)]
    found = store.get_items([k for k in keys if not is_spend_key(k)])
    found.update({k: {"micros": micros} for k, micros in spend_of(store, spend).items()})
    return found


def spent_under_tenant(store: CostStore, tenant: str, user_id: str, today: date, days: int = 90) -> bool:
    """Whether ``user_id`` has spend recorded under ``tenant`` in the last ``days`` days: one Query of the
    tenant's ``user`` day counters (days x the tenant's users items, never the raw events)."""
    low, high = period_bounds(day_period(today - timedelta(days=days - 1)), day_period(today))
    items = store.query(aggregate_pk(Scope(tenant_id=tenant), "user"), low, high)
    return any(split_sort_key(str(item["sk"]))[1] == user_id for item in items)


def last_day_of_month(month: str) -> date:
    """The last day of ``YYYY-MM`` (a Query's upper bound: days to come have no counters yet)."""
    first = date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


class CostLedger:
    """Exact, idempotent cost records and the pre-aggregated views of them."""

    def __init__(self, store: CostStore, event_ttl_days: int = 30) -> None:
        self._store = store
        self._event_ttl_s = event_ttl_days * SECONDS_PER_DAY

    @property
    def store(self) -> CostStore:
        """The table the ledger writes (the aggregator and the alerts use the same one)."""
        return self._store

    def record(self, event: CostEvent) -> bool:
        """Record one call (one conditional ``PutItem``); False when its request id was already recorded."""
        return self._store.put_event(event_key(event.request_id), event_item(event, self._event_ttl_s))

    def stats(self, scope: Scope, today: date) -> CostStats:
        """One Query: the scope's ``type_model`` day counters from the first of the month to today."""
        day, month = {}, {}
        for item in self._query(scope, "type_model", month_start(today), today):
            provider, counters = group_label("provider", scope, item), Counters.from_item(item)
            month[provider] = month.get(provider, Counters()) + counters
            if item["sk"].startswith(day_period(today) + "#"):
                day[provider] = day.get(provider, Counters()) + counters
        return CostStats(today, day, month)

    def breakdown(self, scope: Scope, group_by: GroupBy, start: date, end: date) -> dict[str, Counters]:
        """Spend from ``start`` to ``end`` (inclusive, UTC days) grouped, from one Query.

        In a user's scope ``user`` groups by the one user there is (read from their totals), in a tenant's
        ``tenant`` by the one tenant (the same); only everyone's scope has a ``tenant`` dimension, so a
        user's has no tenant groups (the routes refuse it); ``day`` lists every day of the range, zero
        when nothing was spent.
        """
        dimension = GROUP_BY_DIMENSION[group_by]
        if (group_by == "user" and scope.user_id is not None) or (group_by == "tenant" and scope.tenant_id):
            dimension = "total"
        if group_by == "tenant" and scope.user_id is not None:
            raise ValueError("a user's spend has no tenant dimension")
        groups: dict[str, Counters] = {}
        if group_by == "day":
            groups = {(start + timedelta(days=n)).isoformat(): Counters() for n in range((end - start).days + 1)}
        for item in self._query(scope, dimension, start, end):
            label = group_label(group_by, scope, item)
            groups[label] = groups.get(label, Counters()) + Counters.from_item(item)
        return groups

    def _query(self, scope: Scope, dimension: str, start: date, end: date) -> list[dict[str, Any]]:
        return self._store.query(aggregate_pk(scope, dimension), *period_bounds(day_period(start), day_period(end)))


def event_item(event: CostEvent, ttl_s: int) -> Mapping[str, Any]:
    """The raw event as stored (30-day TTL, a few hundred bytes): what the stream folds, and enough to
    audit or rebuild every counter."""
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
        "latencyMs": event.latency_ms,
        "experiment": event.experiment,
        "variant": event.variant,
        "at": int(event.at),
        "expiresAt": int(event.at) + ttl_s,
    }
