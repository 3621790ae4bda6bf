"""Recording calls and reading spend: one conditional Put per call, a constant number of reads per question.

Reads touch day counters only (never raw events, never a Scan), all through :func:`counter_items`:
everyone's stats are one Query (the ``type_model`` counters of the month so far), a breakdown one Query
over ``days x distinct values`` counter items; a user's or a tenant's stats and breakdowns (but by
campaign) one ``BatchGetItem`` of its day items (shared/ledger/keys.py), exploded into the same rows.
Provider, model and type are sums of ``type_model``; a month is the sum of its days.
Counters are folded from the table's stream (:mod:`shared.ledger.aggregator`), so they trail a recorded
call by the stream's lag (about a second); the call's own answer carries its exact cost at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from shared.core.time import SECONDS_PER_DAY
from shared.ledger.day_items import sub_counters
from shared.ledger.events import CostEvent
from shared.ledger.keys import (
    EVERYONE,
    TENANT_DIMENSION,
    USER_DIMENSION,
    Key,
    Scope,
    aggregate_pk,
    day_period,
    event_key,
    month_start,
    period_bounds,
    split_sort_key,
    total_key,
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


def day_keys(scope: Scope, start: date, end: date) -> list[Key]:
    """A user's or a tenant's day items from ``start`` to ``end`` (inclusive)."""
    return [total_key(scope, start + timedelta(days=n)) for n in range((end - start).days + 1)]


def counter_items(
    store: CostStore, scope: Scope, dimension: str, start: date, end: date, consistent: bool = False
) -> list[dict[str, Any]]:
    """A scope's counter items of one dimension from ``start`` to ``end``, shaped as one Query of
    ``AGG#<scope>#<dimension>`` would give them (``sk`` ``DAY#d#<value>`` and the counters), whatever holds them:

    - a user's or a tenant's ``total`` and ``type_model``: one ``BatchGetItem`` of its day items (chunks of 100
      keys), the top level as ``total``, the sub-counters exploded into ``type_model`` rows;
    - a campaign's ``total``: its owner's ``campaign_provider`` Query (sk prefix ``DAY#d#<c>#`` for one day),
      filtered to it;
    - everyone's ``campaign_provider``: the users of the range (``AGG#ALL#user``), then each user's Query: admin
      reads, bounded by users x days x values, never by calls;
    - anything else: one Query.
    """
    bounds = period_bounds(day_period(start), day_period(end))
    if scope.has_day_items and dimension in ("total", "type_model"):
        items = store.get_items(day_keys(scope, start, end), consistent).values()
        if dimension == "total":
            return sorted(items, key=lambda item: str(item["sk"]))
        rows = [
            {"sk": f"{split_sort_key(str(item['sk']))[0]}#{value}", **counter_attributes(counters)}
            for item in items
            for value, counters in sub_counters(item).items()
        ]
        return sorted(rows, key=lambda row: row["sk"])
    if scope.campaign_id is not None:
        if dimension != "total" or scope.user_id is None:
            raise ValueError(f"a campaign's spend is its total, read in its owner's partition: {scope}")
        if start == end:
            bounds = (f"{day_period(start)}#{scope.campaign_id}#", f"{day_period(start)}#{scope.campaign_id}$")
        pk = aggregate_pk(Scope(scope.user_id), "campaign_provider")
        items = store.query(pk, *bounds, consistent=consistent)
        return [i for i in items if split_sort_key(str(i["sk"]))[1].rpartition("#")[0] == scope.campaign_id]
    if scope == EVERYONE and dimension == "campaign_provider":
        users = {split_sort_key(str(i["sk"]))[1] for i in store.query(aggregate_pk(EVERYONE, USER_DIMENSION), *bounds)}
        return [
            item
            for user in sorted(users)
            for item in store.query(aggregate_pk(Scope(user), "campaign_provider"), *bounds, consistent=consistent)
        ]
    return store.query(aggregate_pk(scope, dimension), *bounds, consistent=consistent)


def counter_attributes(counters: Counters) -> dict[str, int]:
    """The counters as a counter item's attributes (what :meth:`Counters.from_item` reads back)."""
    c = counters
    return {
        "nanos": c.nanos,
        "requests": c.requests,
        "tokensIn": c.tokens_in,
        "tokensOut": c.tokens_out,
        "fallbacks": c.fallbacks,
        "tokensCached": c.cached_tokens,
    }


def day_totals(
    store: CostStore, scope: Scope, start: date, end: date, consistent: bool = False
) -> dict[date, Counters]:
    """A scope's spend per day from ``start`` to ``end`` (days without spend absent)."""
    days: dict[date, Counters] = {}
    for item in counter_items(store, scope, "total", start, end, consistent):
        day = date.fromisoformat(split_sort_key(str(item["sk"]))[0].removeprefix("DAY#"))
        days[day] = days.get(day, Counters()) + Counters.from_item(item)
    return days


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
        """The scope's ``type_model`` day counters from the first of the month to today (one read)."""
        day, month = {}, {}
        for item in self._query(scope, "type_model", month_start(today), today):
            provider, counters = group_label("provider", scope, item), Counters.from_item(item)
            month[provider] = month.get(provider, Counters()) + counters
            if item["sk"].startswith(day_period(today) + "#"):
                day[provider] = day.get(provider, Counters()) + counters
        return CostStats(today, day, month)

    def breakdown(self, scope: Scope, group_by: GroupBy, start: date, end: date) -> dict[str, Counters]:
        """Spend from ``start`` to ``end`` (inclusive, UTC days) grouped, from one read (:func:`counter_items`).

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
        return counter_items(self._store, scope, dimension, start, end)


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
