"""The user's and tenant's day items: reads of a scope from them equal hand sums, stay small, and the spend names
(thresholds' totals: a user's, a tenant's, a campaign's in its owner's partition, a month) add up exactly."""

from __future__ import annotations

import random
from collections import Counter as Tally
from datetime import UTC, date, datetime

from boto3.dynamodb.types import TypeSerializer

from bench.request_cost import item_size
from shared.ledger.aggregator import CostAggregator, StreamedEvent, padded_sequence
from shared.ledger.keys import (
    EVERYONE,
    Scope,
    campaign_scope,
    day_period,
    month_period,
    spend_name,
    spend_scope,
    tenant_scope,
    total_key,
)
from shared.ledger.ledger import CostLedger
from shared.ledger.spend_view import SpendView, spend_of
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore

START, END = date(2026, 3, 1), date(2026, 3, 14)
TYPES = ("caption", "fan_messages", "content_planning", "message_generation")
ROUTES = (("openai", "gpt-4o-mini", "gpt-4o-mini"), ("azure", "chat-gpt-4o-mini", "gpt-4o-mini"))


def recorded(count: int = 1_500, seed: int = 12) -> tuple[InMemoryCostStore, list]:
    rng = random.Random(seed)
    store, events = InMemoryCostStore(), []
    ledger = CostLedger(store)
    for n in range(count):
        provider, deployment, model = rng.choice(ROUTES)
        e = event(
            n,
            micros=rng.randint(1, 4_000),
            user=f"u{n % 3}",
            tenant=rng.choice(["acme", None]),
            campaign_id=f"wf_{n % 3}_{rng.randrange(4)}",  # a campaign is one user's
            campaign_type=rng.choice(TYPES),
            provider=provider,
            deployment=deployment,
            model=model,
            fallback=rng.random() < 0.1,
            cached_tokens=rng.choice([0, 0, 300]),
            at=datetime(2026, 3, rng.randint(1, 14), rng.randrange(24), tzinfo=UTC).timestamp(),
        )
        assert ledger.record(e)
        events.append(e)
    store.drain()
    return store, events


def hand(events, key, keep=lambda e: True) -> dict[str, int]:
    sums: Tally = Tally()
    for e in events:
        if keep(e):
            sums[key(e)] += e.micros
    return dict(sums)


def micros(groups) -> dict[str, int]:
    return {label: c.micros for label, c in groups.items()}


def test_a_users_and_a_tenants_breakdowns_from_their_day_items_equal_hand_sums():
    store, events = recorded()
    ledger = CostLedger(store)
    for scope, mine in ((Scope("u1"), lambda e: e.user_id == "u1"), (tenant_scope("acme"), lambda e: e.tenant)):
        for group_by, key in (
            ("provider", lambda e: e.provider),
            ("type", lambda e: e.campaign_type),
            ("model", lambda e: e.model),
            ("day", lambda e: e.day.isoformat()),
            ("campaign", lambda e: e.campaign_id),
        ):
            assert micros(ledger.breakdown(scope, group_by, START, END)) == hand(events, key, mine), (scope, group_by)
        stats = ledger.stats(scope, END)
        assert stats.month_total.micros == sum(e.micros for e in events if mine(e))
        assert stats.month_total.fallbacks == sum(e.fallback for e in events if mine(e))
        assert stats.month_total.cached_tokens == sum(e.cached_tokens for e in events if mine(e))
        assert stats.day_total.requests == sum(1 for e in events if mine(e) and e.day == END)


def test_a_users_scope_reads_one_batch_get_of_its_day_items_and_everyones_campaigns_one_query_per_user():
    store, _ = recorded(300)
    ledger = CostLedger(store)
    store.requests.clear()
    ledger.stats(Scope("u1"), END)
    ledger.breakdown(Scope("u1"), "model", START, END)
    assert store.requests == {"BatchGetItem": 2}
    store.requests.clear()
    ledger.breakdown(EVERYONE, "campaign", START, END)
    assert store.requests == {"Query": 1 + 3}  # the range's users, then each of the three users' campaigns


def day_item_size(types: tuple[str, ...], shards: int) -> int:
    """The size of a user's day item after a day of calls of ``types`` (on both routes: fallbacks, cached
    tokens) folded from ``shards`` shards, by DynamoDB's rules (what an update is billed on)."""
    store = InMemoryCostStore()
    aggregator = CostAggregator(store)
    rng = random.Random(3)
    for shard in range(shards):  # DynamoDB rolls a shard about every 4 hours: ~6 marks a day per open shard
        calls = []
        for n in range(40):
            provider, deployment, model = ROUTES[n % 2]
            calls.append(
                event(
                    100 * shard + n,
                    micros=rng.randint(1, 10**6),
                    campaign_type=types[n % len(types)],
                    provider=provider,
                    deployment=deployment,
                    model=model,
                    fallback=n % 2 == 1,
                    cached_tokens=200,
                )
            )
        records = [StreamedEvent(padded_sequence(str(10**21 + n)), e) for n, e in enumerate(calls)]
        aggregator.apply(f"shardId-0000000170000000000{shard}-{shard:04x}abcd", records)
    item = store.items[total_key(Scope("u1"), event().day)]
    assert sum(name.startswith("hw_") for name in item) == shards
    return item_size({name: TypeSerializer().serialize(value) for name, value in item.items()})


def test_a_day_item_of_two_models_and_six_shard_marks_stays_under_one_kilobyte():
    """One WRU per fold for a user of one campaign type on its two routes all day (DynamoDB bills an update per
    started KB); each more model adds ~130 bytes, each more shard mark ~72, so a user of four types across six
    shards pays 2 WRU a fold."""
    assert day_item_size(("caption",), 6) < 1024
    assert day_item_size(("caption",), 1) < 700
    assert 1024 < day_item_size(TYPES, 6) < 2048


def test_spend_names_of_a_user_a_tenant_a_campaign_and_months_add_up_exactly():
    store, events = recorded()
    day = date(2026, 3, 9)
    owner_of = {e.campaign_id: e.user_id for e in events}
    campaign = "wf_1_2"
    names = {
        "user day": spend_name(Scope("u2"), day_period(day)),
        "user month": spend_name(Scope("u2"), month_period(day)),
        "tenant day": spend_name(tenant_scope("acme"), day_period(day)),
        "tenant month": spend_name(tenant_scope("acme"), month_period(day)),
        "campaign day": spend_name(campaign_scope(campaign, owner_of[campaign]), day_period(day)),
        "campaign month": spend_name(campaign_scope(campaign, owner_of[campaign]), month_period(day)),
        "everyone day": spend_name(EVERYONE, day_period(day)),
        "everyone month": spend_name(EVERYONE, month_period(day)),
    }
    assert names["everyone day"] == total_key(EVERYONE, day)  # the one spend name that is an item
    assert spend_scope(names["campaign day"]) == (campaign_scope(campaign, owner_of[campaign]), day_period(day))
    spent = spend_of(store, list(names.values()), until=day)
    upto = [e for e in events if e.day <= day]
    expected = {
        "user day": sum(e.micros for e in events if e.user_id == "u2" and e.day == day),
        "user month": sum(e.micros for e in upto if e.user_id == "u2"),
        "tenant day": sum(e.micros for e in events if e.tenant == "acme" and e.day == day),
        "tenant month": sum(e.micros for e in upto if e.tenant == "acme"),
        "campaign day": sum(e.micros for e in events if e.campaign_id == campaign and e.day == day),
        "campaign month": sum(e.micros for e in upto if e.campaign_id == campaign),
        "everyone day": sum(e.micros for e in events if e.day == day),
        "everyone month": sum(e.micros for e in upto),
    }
    assert {label: spent[name] for label, name in names.items()} == expected


def test_a_spend_view_reads_a_marker_only_when_asked_and_lays_the_known_day_over_the_month():
    store, events = recorded(200)
    day = date(2026, 3, 14)
    today = spend_name(Scope("u1"), day_period(day))
    month = spend_name(Scope("u1"), month_period(day))
    store.requests.clear()
    view = SpendView(store, day, {today: 10**9}, absent=[("THRESHOLDS#u1", "OWNER")])
    assert view.get(today) == {"micros": 10**9} and store.requests == {}  # known: no read
    assert ("THRESHOLDS#u1", "OWNER") not in view and store.requests == {}  # read by the caller already
    earlier = sum(e.micros for e in events if e.user_id == "u1" and e.day < day)
    assert view[month] == {"micros": earlier + 10**9}
    assert store.requests == {"BatchGetItem": 1}  # the month's day items, through the 14th only
    assert ("RULEMARK#CROSSED#th_x", "DAY#2026-03-14") not in view and store.requests == {"BatchGetItem": 2}
    assert ("RULEMARK#CROSSED#th_x", "DAY#2026-03-14") not in view and store.requests == {"BatchGetItem": 2}
