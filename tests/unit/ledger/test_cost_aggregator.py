"""The stream aggregator over the in-memory store: one update per counter per batch, exactly once under
retries, partial failures, bisection, duplicated batches and crashes; thresholds read off the new values."""

from __future__ import annotations

import random
from collections import Counter as Tally
from datetime import UTC, datetime

import pytest

from shared.ledger.aggregator import (
    CostAggregator,
    StreamedEvent,
    fold,
    mark_attribute,
    padded_sequence,
)
from shared.ledger.day_items import digest, sub_counters
from shared.ledger.keys import EVERYONE, Scope, counter_keys, tenant_scope, total_key
from shared.ledger.ledger import CostLedger
from shared.ledger.store import Counters
from tests.support.factories import DAY, event
from tests.support.fakes import InMemoryCostStore
from tests.support.stream_faults import EventSourceMapping, FlakyStore

SHARD_A, SHARD_B = "shardId-00000001700000000000-aaaa", "shardId-00000001700000000001-bbbb"


def streamed(events, start: int = 10**21) -> list[StreamedEvent]:
    return [StreamedEvent(padded_sequence(str(start + n)), e) for n, e in enumerate(events)]


def test_a_call_adds_to_four_day_counters_and_nothing_else():
    keys = counter_keys(event(user="u#1"))
    assert keys == [
        ("AGG#ALL#total", "DAY#2026-03-14#ALL"),
        ("AGG#ALL#type_model", "DAY#2026-03-14#caption#openai#gpt-4o-mini#gpt-4o-mini"),
        ("AGG#ALL#user", "DAY#2026-03-14#u#1"),  # the user's day item: their total and type_model sub-counters
        ("AGG#USER#u#1#campaign_provider", "DAY#2026-03-14#wf_1#openai"),
    ]
    assert keys[2] == total_key(Scope("u#1"), DAY) and keys[0] == total_key(EVERYONE, DAY)


def test_a_call_with_a_tenant_adds_the_tenants_day_item_user_and_campaign_counters():
    without = set(counter_keys(event(user="u1")))
    keys = counter_keys(event(user="u1", tenant="acme"))
    assert len(keys) == len(set(keys)) == 7 and without < set(keys)
    assert {key for key in keys if key not in without} == {
        ("AGG#ALL#tenant", "DAY#2026-03-14#acme"),  # the tenant's day item
        ("AGG#TENANT#acme#campaign_provider", "DAY#2026-03-14#wf_1#openai"),
        ("AGG#TENANT#acme#user", "DAY#2026-03-14#u1"),
    }
    assert total_key(tenant_scope("acme"), DAY) == ("AGG#ALL#tenant", "DAY#2026-03-14#acme")


def test_a_day_item_carries_the_type_model_sub_counters_and_labels_once():
    store = InMemoryCostStore()
    calls = [event(1, micros=100), event(2, micros=40, cached_tokens=200, fallback=True)]
    records = streamed([*calls, event(3, micros=7, provider="azure", deployment="chat-gpt-4o-mini")])
    CostAggregator(store).apply(SHARD_A, records)
    item = store.items[total_key(Scope("u1"), DAY)]
    assert Counters.from_item(item).micros == 147 and Counters.from_item(item).requests == 3
    assert sub_counters(item) == {
        "caption#openai#gpt-4o-mini#gpt-4o-mini": Counters(140_000, 2, 2000, 1000, 1, 200),
        "caption#azure#chat-gpt-4o-mini#gpt-4o-mini": Counters(7_000, 1, 1000, 500),
    }
    azure = digest("caption#azure#chat-gpt-4o-mini#gpt-4o-mini")
    assert f"m{azure}f" not in item and f"m{azure}c" not in item  # a zero field is not written
    assert sum(1 for name in item if name.startswith("m") and name.endswith("l")) == 2  # each label once
    CostAggregator(store).apply(SHARD_A, streamed([event(4, micros=1)], start=10**22))
    assert (
        sub_counters(store.items[total_key(Scope("u1"), DAY)])["caption#openai#gpt-4o-mini#gpt-4o-mini"].requests == 3
    )


def test_sequence_numbers_pad_to_forty_digits_and_sort_like_numbers():
    assert padded_sequence("9" * 21) < padded_sequence("1" + "0" * 21) < padded_sequence("1" * 40)
    assert len(padded_sequence("123456789012345678901")) == 40
    with pytest.raises(ValueError):
        padded_sequence("12a")
    assert mark_attribute(SHARD_A) == "hw_00000001700000000000-aaaa"


def test_a_batch_is_one_update_per_counter_with_the_new_values():
    store = InMemoryCostStore()
    records = streamed([event(n, micros=100 + n, campaign_id="wf_same") for n in range(100)])
    assert len(fold(records)) == 4  # one user, one campaign, one model: four counters for 100 calls
    result = CostAggregator(store).apply(SHARD_A, records)
    assert store.requests == {"UpdateItem": 4} and result.failed_sequence is None
    total = next(u for u in result.updates if u.key == total_key(EVERYONE, DAY))
    assert (total.before.micros, total.after.micros, total.after.requests) == (0, sum(range(100, 200)), 100)
    assert store.items[total_key(EVERYONE, DAY)][mark_attribute(SHARD_A)] == records[-1].sequence


def test_a_redelivered_batch_changes_nothing_and_an_overlapping_one_adds_only_the_new_records():
    store = InMemoryCostStore()
    aggregator = CostAggregator(store)
    records = streamed([event(n, micros=10) for n in range(60)])
    aggregator.apply(SHARD_A, records[:40])
    again = aggregator.apply(SHARD_A, records[:40])
    assert again.updates == [] and again.dropped == 40 * 4
    overlap = aggregator.apply(SHARD_A, records[20:60])  # a partial failure's resend: 20 in already, 20 new
    assert overlap.dropped == 20 * 4
    assert Counters.from_item(store.items[total_key(EVERYONE, DAY)]).micros == 600
    other_shard = aggregator.apply(SHARD_B, streamed([event(1000, micros=5)], start=10**21))  # same numbers
    assert other_shard.dropped == 0 and Counters.from_item(store.items[total_key(EVERYONE, DAY)]).micros == 605


def test_a_failed_counter_is_reported_by_its_first_record_and_the_rest_still_applies():
    store = InMemoryCostStore()
    records = streamed([event(n, micros=1, user=f"u{n}") for n in range(10)])
    broken = total_key(Scope("u4"), DAY)

    def refuse(increment):
        if increment.key == broken:
            raise ConnectionError("throttled")

    store.before_update = refuse
    result = CostAggregator(store).apply(SHARD_A, records)
    assert result.failed_sequence == records[4].sequence
    assert Counters.from_item(store.items[total_key(EVERYONE, DAY)]).micros == 10
    store.before_update = None
    CostAggregator(store).apply(SHARD_A, records[4:])  # what Lambda resends
    assert Counters.from_item(store.items[broken]).micros == 1
    assert Counters.from_item(store.items[total_key(EVERYONE, DAY)]).micros == 10


@pytest.fixture
def quiet_logs():
    """Thousands of injected failures are each logged with a traceback: worth nothing here but seconds."""
    from shared.core.observability import logger

    level = logger.log_level
    logger.setLevel("CRITICAL")
    yield
    logger.setLevel(level)


def test_ten_thousand_events_through_injected_failures_sum_exactly_with_no_double_count(quiet_logs):
    rng = random.Random(2026)
    events = [
        event(
            n,
            micros=rng.randint(1, 5_000),
            user=f"u{rng.randrange(30)}",
            campaign_id=f"wf_{rng.randrange(200)}",
            provider=rng.choice(["openai", "azure"]),
            deployment=rng.choice(["gpt-4o", "gpt-4o-mini"]),
            campaign_type=rng.choice(["caption", "fan_messages"]),
            at=datetime(2026, 3, rng.choice([13, 14]), rng.randrange(24), tzinfo=UTC).timestamp(),
        )
        for n in range(10_000)
    ]
    shards = {SHARD_A: [], SHARD_B: []}
    for e in events:
        shards[rng.choice([SHARD_A, SHARD_B])].append(e)
    store = FlakyStore(rng, rate=0.01)
    aggregator = CostAggregator(store)
    mappings = [EventSourceMapping(aggregator, shard, rng) for shard in shards]
    for mapping, (shard, mine) in zip(mappings, shards.items(), strict=True):
        mapping.run(streamed(mine, start=10**21 + 7 * len(shard)))  # both shards' numbers overlap

    expected: dict[tuple[str, str], Tally] = {}
    for e in events:
        for key in counter_keys(e):
            tally = expected.setdefault(key, Tally())
            tally["micros"] += e.micros
            tally["requests"] += 1
            tally["tokens"] += e.input_tokens + e.output_tokens
    counted = {key: Counters.from_item(store.items.get(key)) for key in expected}
    wrong = {
        k: (c, dict(expected[k]))
        for k, c in counted.items()
        if (c.micros, c.requests) != (expected[k]["micros"], expected[k]["requests"])
    }
    assert wrong == {}
    assert all(c.tokens_total == expected[k]["tokens"] for k, c in counted.items())
    assert set(k for k in store.items if k[0].startswith("AGG#")) == set(expected)  # no stray counter
    seen: Tally = Tally()
    for m in mappings:
        seen.update(m.stats)
    assert min(seen["crashed"], seen["bisected"], seen["partial"], seen["duplicated"]) > 0, seen
    assert min(store.injected.values()) > 0 and len(store.injected) == 4, store.injected
    ledger = CostLedger(store)
    assert ledger.stats(EVERYONE, DAY).month_total.micros == sum(e.micros for e in events)


def test_ledger_reads_derive_provider_model_and_type_from_type_model():
    store = InMemoryCostStore(fold_before_reads=False)
    ledger = CostLedger(store)
    ledger.record(event(1, micros=100, provider="azure", model="gpt-4o", deployment="planner-gpt-4o"))
    ledger.record(event(2, micros=50))
    assert ledger.stats(EVERYONE, DAY).day_total.micros == 0  # nothing folded yet: the stream's lag
    store.drain()
    groups = {
        g: {k: c.micros for k, c in ledger.breakdown(EVERYONE, g, DAY, DAY).items()}
        for g in ("provider", "model", "type")
    }
    assert groups == {
        "provider": {"azure": 100, "openai": 50},
        "model": {"gpt-4o": 100, "gpt-4o-mini": 50},
        "type": {"caption": 150},
    }


def test_a_batch_of_one_tenants_fan_traffic_costs_three_more_updates_not_one_per_call():
    untenanted = fold(streamed([event(n, campaign_id="wf_same") for n in range(100)]))
    tenanted = fold(streamed([event(n, campaign_id="wf_same", tenant="acme") for n in range(100)]))
    assert len(tenanted) - len(untenanted) == 3


def test_the_tenant_scope_key():
    scope = tenant_scope("acme")
    assert scope == Scope(tenant_id="acme") and scope.key == "TENANT#acme" and scope.has_day_items
