"""The cost ledger and alerts against the moto server: the real DynamoDB and SNS code paths.

Each test gets a fresh table with the template's costs-table key schema and, where alerts are
involved, a fresh SNS topic with an SQS queue subscribed to it, so counts are never shared.
Volume here is a few hundred calls (moto copies the whole table on every transaction); the
10,000-call exactness test runs on the in-memory store in tests/unit/test_cost_ledger.py.
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
from shared.alerts.threshold_alerts import SnsAlertPublisher, ThresholdAlerts, thresholds_from_usd
from shared.campaigns.cost_tracker import CostTracker
from shared.ledger.keys import EVERYONE, Scope
from shared.ledger.ledger import CostLedger
from shared.ledger.store import DynamoCostStore
from tests.conftest import subscribed_topic
from tests.unit.test_cost_ledger import event

DAY = date(2026, 3, 14)
AT = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()


@pytest.fixture
def new_store(local_stack, settings) -> Callable[[], DynamoCostStore]:
    """A fresh costs table shaped like the template's; each call returns a store with its own client."""
    ddb = local_stack.moto.client("dynamodb")
    shape = ddb.describe_table(TableName=settings.cost_table_name)["Table"]
    name = f"costs-it-{uuid.uuid4().hex[:12]}"
    ddb.create_table(
        TableName=name,
        KeySchema=shape["KeySchema"],
        AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    yield lambda: DynamoCostStore(name, local_stack.moto.client("dynamodb"))
    ddb.delete_table(TableName=name)


@pytest.fixture
def topic(local_stack) -> Iterator[tuple[str, Callable[[], list[dict]]]]:
    """A fresh topic, and a reader of every message published to it (through a subscribed queue)."""
    with subscribed_topic(local_stack, f"alerts-it-{uuid.uuid4().hex[:12]}") as subscribed:
        yield subscribed


def test_reading_the_same_key_twice_in_one_batch_is_one_read(new_store):
    store = new_store()
    CostLedger(store).record(event(micros=700, at=AT))
    total = ("AGG#ALL#total", "DAY#2026-03-14#ALL")
    found = store.get_items([total, ("AGG#ALL#total", "DAY#2026-03-15#ALL"), total])
    assert list(found) == [total] and found[total]["nanos"] == 700_000


def test_twenty_concurrent_records_of_one_request_id_count_once(new_store):
    ledgers = [CostLedger(new_store()) for _ in range(20)]
    barrier = threading.Barrier(20)

    def record(ledger: CostLedger) -> bool:
        barrier.wait()
        return ledger.record(event(1, micros=4_321))

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(record, ledgers))
    assert outcomes.count(True) == 1
    stats = ledgers[0].stats(EVERYONE, DAY)
    assert (stats.day_total.micros, stats.day_total.requests, stats.month_total.micros) == (4_321, 1, 4_321)
    assert ledgers[0].breakdown(Scope("u1"), "campaign", DAY, DAY)["wf_1"].micros == 4_321


def test_stats_and_breakdowns_equal_the_exact_sum_of_recorded_calls(new_store):
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
    store = new_store()
    counter = RequestCounter(store._client)
    ledger = CostLedger(store)
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(ledger.record, calls))
    assert counter.take() == {"TransactWriteItems": 160}  # one request per recorded call

    today = [c for c in calls if c.day == DAY]
    stats = ledger.stats(EVERYONE, DAY)
    assert counter.take() == {"Query": 2}
    assert stats.day_total.micros == sum(c.micros for c in today)
    assert stats.day_total.requests == len(today)
    assert stats.month_total.micros == sum(c.micros for c in calls)
    assert stats.month_total.tokens_total == sum(c.input_tokens + c.output_tokens for c in calls)
    for group, attribute in (("provider", "provider"), ("model", "model"), ("campaign", "campaign_id")):
        expected: Tally = Tally()
        for c in calls:
            expected[getattr(c, attribute)] += c.micros
        groups = ledger.breakdown(EVERYONE, group, date(2026, 3, 13), DAY)
        assert counter.take() == {"Query": 1}
        assert {k: v.micros for k, v in groups.items()} == dict(expected)
    mine = ledger.breakdown(Scope("u1"), "day", date(2026, 3, 13), DAY)
    assert sum(v.micros for v in mine.values()) == sum(c.micros for c in calls if c.user_id == "u1")


def test_forty_concurrent_recorders_crossing_thresholds_publish_once_per_threshold_and_period(
    local_stack, new_store, topic
):
    arn, published = topic
    thresholds = thresholds_from_usd(Decimal("0.01"), Decimal("0.05"))  # 10,000 and 50,000 micro-dollars

    def container() -> CostTracker:
        """One Lambda container: its own DynamoDB and SNS clients."""
        ledger = CostLedger(new_store())
        publisher = SnsAlertPublisher(arn, local_stack.moto.client("sns"))
        return CostTracker(ledger, ThresholdAlerts(ledger, publisher, thresholds, product="HO (it)"))

    containers = [container() for _ in range(40)]
    next_id = iter(range(1_000_000))

    def burst(micros: int, at: float) -> None:
        """Forty calls recorded at once, one per container."""
        barrier = threading.Barrier(len(containers))

        def record(tracker: CostTracker) -> bool:
            e = event(next(next_id), micros=micros, at=at)
            barrier.wait()
            return tracker.record(e)

        with ThreadPoolExecutor(len(containers)) as pool:
            assert all(pool.map(record, containers))

    # The amount is the spend the elected sender read: at least the threshold, at most the burst's total.
    daily = re.compile(r"^HO \(it\): daily AI spend \$0\.01[0-2]\d* crossed \$0\.01$")
    monthly = re.compile(r"^HO \(it\): monthly AI spend \$0\.05[0-2]\d* crossed \$0\.05$")

    burst(300, AT)  # 12,000 today: the daily threshold is crossed by the whole burst at once
    assert [bool(daily.match(m["Subject"])) for m in published()] == [True]

    burst(1_000, AT + 60)  # 52,000 this month: the monthly one now, and no second daily
    assert [bool(monthly.match(m["Subject"])) for m in published()[1:]] == [True]

    next_day = AT + 86_400
    burst(300, next_day)  # a new day starts from zero and crosses its own daily threshold once
    assert [bool(daily.match(m["Subject"])) for m in published()[2:]] == [True]
    assert "2026-03-15 (UTC)" in published()[2]["Message"]
    assert containers[0]._ledger.stats(EVERYONE, date(2026, 3, 15)).day_total.micros == 12_000
