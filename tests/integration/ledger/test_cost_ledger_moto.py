"""The cost ledger, its stream and the aggregator against the moto server: the real DynamoDB, Streams and SNS paths.

Each test gets a fresh table with the template's costs-table key schema and its NEW_IMAGE stream and, where
alerts are involved, a fresh SNS topic with an SQS queue subscribed to it, so counts are never shared. The
recorders write one conditional Put each; the stream is folded through the real consumer
(tests/support/streams.py) and only then read. The 10,000-event failure-injection replay runs on the
in-memory store in tests/unit/ledger/test_cost_aggregator.py.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from local.request_counter import RequestCounter
from shared.alerts.channels import SnsAlertPublisher
from shared.alerts.spend_watch import SpendWatch
from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
from shared.ledger.keys import EVERYONE, Scope, counter_keys
from shared.ledger.ledger import CostLedger
from tests.conftest import subscribed_topic
from tests.support.factories import event

DAY = date(2026, 3, 14)
AT = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()


@pytest.fixture
def topic(local_stack) -> Iterator[tuple[str, Callable[[], list[dict]]]]:
    """A fresh topic, and a reader of every message published to it (through a subscribed queue)."""
    with subscribed_topic(local_stack, f"alerts-it-{uuid.uuid4().hex[:12]}") as subscribed:
        yield subscribed


def test_recording_is_one_put_and_the_counters_come_from_the_stream(table):
    store = table.store()
    counter = RequestCounter(store._client)
    ledger = CostLedger(store)
    assert ledger.record(event(micros=700, at=AT)) and not ledger.record(event(micros=700, at=AT))
    assert counter.take() == {"PutItem": 2}  # the duplicate is refused by its condition: no stream record
    assert ledger.stats(EVERYONE, DAY).day_total.micros == 0  # not folded yet
    assert table.folder().drain() == 1
    assert ledger.stats(EVERYONE, DAY).day_total.micros == 700


def test_stats_and_breakdowns_equal_the_exact_sum_of_recorded_calls(table):
    rng = random.Random(11)
    calls = [
        event(
            n,
            micros=rng.randint(1, 3_000),
            user=f"u{n % 4}",
            at=datetime(2026, 3, rng.choice([13, 14]), rng.randint(0, 23), tzinfo=UTC).timestamp(),
            provider=rng.choice(["openai", "azure"]),
            model=rng.choice(["gpt-4o", "gpt-4o-mini"]),
            campaign_id=f"wf_{n % 7}",
        )
        for n in range(160)
    ]
    store = table.store()
    ledger = CostLedger(store)
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(ledger.record, calls))
    folder = table.folder()
    updates = RequestCounter(folder.consumer._aggregator._store._client)
    assert folder.drain() == 160
    assert set(updates.take()) <= {"UpdateItem", "GetItem"}  # one UpdateItem per counter per batch
    counter = RequestCounter(store._client)
    today = [c for c in calls if c.day == DAY]
    stats = ledger.stats(EVERYONE, DAY)
    assert counter.take() == {"Query": 1}
    assert stats.day_total.micros == sum(c.micros for c in today)
    assert stats.day_total.requests == len(today)
    assert stats.month_total.micros == sum(c.micros for c in calls)
    assert stats.month_total.tokens_total == sum(c.input_tokens + c.output_tokens for c in calls)
    for group, attribute in (("provider", "provider"), ("model", "model"), ("campaign", "campaign_id")):
        expected: Tally = Tally()
        for c in calls:
            expected[getattr(c, attribute)] += c.micros
        groups = ledger.breakdown(EVERYONE, group, date(2026, 3, 13), DAY)
        # everyone's campaigns: the range's users (one Query), then each of the 4 users' campaign_provider
        assert counter.take() == {"Query": 1 + 4 * (group == "campaign")}
        assert {k: v.micros for k, v in groups.items()} == dict(expected)
    mine = ledger.breakdown(Scope("u1"), "day", date(2026, 3, 13), DAY)
    assert counter.take() == {"BatchGetItem": 1}  # the user's day items over the range
    assert sum(v.micros for v in mine.values()) == sum(c.micros for c in calls if c.user_id == "u1")
    for group, attribute in (("provider", "provider"), ("model", "model"), ("campaign", "campaign_id")):
        expected = Tally()
        for c in (c for c in calls if c.user_id == "u1"):
            expected[getattr(c, attribute)] += c.micros
        groups = ledger.breakdown(Scope("u1"), group, date(2026, 3, 13), DAY)
        assert counter.take() == ({"Query": 1} if group == "campaign" else {"BatchGetItem": 1})
        assert {k: v.micros for k, v in groups.items()} == dict(expected)
    user_stats = ledger.stats(Scope("u1"), DAY)
    assert counter.take() == {"BatchGetItem": 1}
    assert user_stats.day_total.micros == sum(c.micros for c in today if c.user_id == "u1")


def test_a_batch_delivered_twice_counts_once(table):
    store = table.store()
    ledger = CostLedger(store)
    for n in range(30):
        ledger.record(event(n, micros=10, at=AT))
    folder = table.folder()
    shard = table.stack.moto.client("dynamodbstreams").describe_stream(StreamArn=table.stream_arn)
    iterator = table.stack.moto.client("dynamodbstreams").get_shard_iterator(
        StreamArn=table.stream_arn,
        ShardId=shard["StreamDescription"]["Shards"][0]["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    records = table.stack.moto.client("dynamodbstreams").get_records(ShardIterator=iterator)["Records"]
    from local.stream_poller import stream_event

    batch = stream_event(records, table.stream_arn)
    assert folder.consumer.handle(batch) == {"batchItemFailures": []}
    assert folder.consumer.handle(batch) == {"batchItemFailures": []}  # the duplicate: every mark refuses it
    assert folder.consumer.handle(stream_event(records[10:], table.stream_arn)) == {"batchItemFailures": []}
    assert ledger.stats(EVERYONE, DAY).day_total.micros == 300


def test_forty_concurrent_recorders_then_the_stream_exact_totals_one_alert_per_threshold_and_period(
    local_stack, table, topic
):
    arn, published = topic
    thresholds = thresholds_from_usd(Decimal("0.01"), Decimal("0.05"))  # 10,000 and 50,000 micro-dollars
    aggregator_store = table.store()
    alerts = ThresholdAlerts(
        CostLedger(aggregator_store),
        SnsAlertPublisher(arn, local_stack.moto.client("sns")),
        thresholds,
        product="HO (it)",
    )
    folder = table.folder(SpendWatch(aggregator_store, alerts))
    ledgers = [CostLedger(table.store()) for _ in range(40)]  # forty containers, each its own client
    next_id = iter(range(1_000_000))

    def burst(micros: int, at: float) -> None:
        """Forty calls recorded at once, one per container, then the stream folded."""
        barrier = threading.Barrier(len(ledgers))

        def record(ledger: CostLedger) -> bool:
            e = event(next(next_id), micros=micros, at=at)
            barrier.wait()
            return ledger.record(e)

        with ThreadPoolExecutor(len(ledgers)) as pool:
            assert all(pool.map(record, ledgers))
        assert folder.drain() == len(ledgers)

    # One batch of forty crosses the threshold inside it: the alert carries the batch's total.
    daily = re.compile(r"^HO \(it\): daily AI spend \$0\.012 crossed \$0\.01$")
    monthly = re.compile(r"^HO \(it\): monthly AI spend \$0\.052 crossed \$0\.05$")

    burst(300, AT)  # 12,000 today: the daily threshold is crossed by the whole burst at once
    assert [bool(daily.match(m["Subject"])) for m in published()] == [True]

    burst(1_000, AT + 60)  # 52,000 this month: the monthly one now, and no second daily
    assert [bool(monthly.match(m["Subject"])) for m in published()[1:]] == [True]

    next_day = AT + 86_400
    burst(300, next_day)  # a new day starts from zero and crosses its own daily threshold once
    assert [bool(daily.match(m["Subject"])) for m in published()[2:]] == [True]
    assert "2026-03-15 (UTC)" in published()[2]["Message"]
    stats = ledgers[0].stats(EVERYONE, date(2026, 3, 15))
    assert (stats.day_total.micros, stats.day_total.requests, stats.month_total.micros) == (12_000, 40, 64_000)


def test_tenant_events_fold_into_the_tenant_scope_and_everyones_tenant_counter(table):
    calls = [
        event(n, micros=100 + n, user=f"u{n % 3}", at=AT, tenant=("acme" if n % 3 else None), campaign_id=f"wf_{n % 2}")
        for n in range(30)
    ]
    store = table.store()
    ledger = CostLedger(store)
    assert all(ledger.record(c) for c in calls)
    folder = table.folder()
    updates = RequestCounter(folder.consumer._aggregator._store._client)
    assert folder.drain() == 30
    # One batch: 8 counters per (user, campaign) as before, and 4 for the tenant + 1 for everyone's per tenant
    # per distinct value, never one per call.
    untenanted = ledger.breakdown(Scope(), "provider", DAY, DAY)
    expected_updates = len({k for c in calls for k in counter_keys(c)})
    assert updates.take().get("UpdateItem") == expected_updates
    acme = [c for c in calls if c.tenant == "acme"]
    tenant = Scope(tenant_id="acme")
    assert ledger.stats(tenant, DAY).day_total.micros == sum(c.micros for c in acme)
    by_user = ledger.breakdown(tenant, "user", DAY, DAY)
    assert {u: c.micros for u, c in by_user.items()} == {
        u: sum(c.micros for c in acme if c.user_id == u) for u in ("u1", "u2")
    }
    by_tenant = ledger.breakdown(EVERYONE, "tenant", DAY, DAY)
    assert {t: c.micros for t, c in by_tenant.items()} == {"acme": sum(c.micros for c in acme)}
    assert ledger.breakdown(tenant, "tenant", DAY, DAY)["acme"].requests == len(acme)
    assert sum(c.micros for c in untenanted.values()) == sum(c.micros for c in calls)  # everyone's unchanged
