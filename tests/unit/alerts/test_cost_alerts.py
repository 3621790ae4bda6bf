"""Threshold alerts over the in-memory store: one e-mail per threshold and period, for a person."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from shared.alerts.spend_watch import SpendWatch
from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
from shared.core.pricing import format_usd
from shared.ledger.ledger import CostLedger
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore, MeteredRecorder, OutboxPublisher

MARCH_14 = datetime(2026, 3, 14, 9, tzinfo=UTC).timestamp()
MARCH_15 = datetime(2026, 3, 15, 9, tzinfo=UTC).timestamp()


def tracker(
    daily: str = "0.001",
    monthly: str = "0.005",
    store: InMemoryCostStore | None = None,
    outbox: OutboxPublisher | None = None,
):
    """The recorder and the stream's aggregator with the settings' thresholds, each call folded as it comes."""
    store = store or InMemoryCostStore()
    ledger = CostLedger(store)
    outbox = outbox or OutboxPublisher()
    alerts = ThresholdAlerts(ledger, outbox, thresholds_from_usd(Decimal(daily), Decimal(monthly)), product="HO (test)")
    return MeteredRecorder(ledger, SpendWatch(store, alerts)), outbox


def test_thresholds_are_whole_micro_dollars():
    daily, monthly = thresholds_from_usd(Decimal("50"), Decimal("0.001"))
    assert (daily.threshold_id, daily.micros, monthly.period, monthly.micros) == (
        "settings:daily",
        50_000_000,
        "monthly",
        1_000,
    )


def test_format_usd_keeps_sub_cent_digits():
    assert [format_usd(m) for m in (51_200_000, 1_000, 3_200, 1_234_567_890_000)] == [
        "$51.20",
        "$0.001",
        "$0.0032",
        "$1,234,567.89",
    ]


def test_crossing_the_daily_threshold_sends_one_email_with_the_periods_spend():
    costs, outbox = tracker()
    costs.record(event(1, micros=600, campaign_id="wf_small", provider="azure", model="gpt-4o"))
    assert outbox.sent == []
    costs.record(event(2, micros=700, campaign_id="wf_big"))
    costs.record(event(3, micros=5, campaign_id="wf_tiny"))
    assert len(outbox.sent) == 1
    subject, body = outbox.sent[0]
    assert subject == "HO (test): daily AI spend $0.0013 crossed $0.001"
    assert "2026-03-14 (UTC) has reached $0.0013" in body
    assert body.index("wf_big") < body.index("wf_small")  # top campaigns, largest first
    assert "azure" in body and "openai" in body and "caption" in body
    assert "http" not in body and "<" not in body  # plain text, no links


def test_monthly_crossing_later_sends_exactly_one_more_and_the_next_day_starts_fresh():
    costs, outbox = tracker(daily="0.001", monthly="0.0025")
    costs.record(event(1, micros=1_500, at=MARCH_14))
    costs.record(event(2, micros=1_500, at=MARCH_15))  # a new day: crosses daily again, and the month
    costs.record(event(3, micros=1_500, at=MARCH_15))
    subjects = [subject for subject, _ in outbox.sent]
    assert subjects == [
        "HO (test): daily AI spend $0.0015 crossed $0.001",
        "HO (test): daily AI spend $0.0015 crossed $0.001",
        "HO (test): monthly AI spend $0.003 crossed $0.0025",
    ]
    assert "2026-03-15" in outbox.sent[1][1] and "2026-03" in outbox.sent[2][1]


def test_a_failed_publish_releases_the_crossing_for_the_next_batch():
    costs, outbox = tracker()
    outbox.fail = True
    assert costs.record(event(1, micros=2_000)) is True  # recorded, though the alert could not go out
    assert outbox.sent == []
    costs.record(event(2, micros=1))
    assert len(outbox.sent) == 1


def test_forty_concurrent_recorders_crossing_together_in_one_batch_send_one_email_with_the_batch_total():
    store = InMemoryCostStore(fold_before_reads=False)
    costs, outbox = tracker(monthly="0.003", store=store)
    ledger = CostLedger(store)
    barrier = threading.Barrier(40)

    def run(n: int) -> None:
        barrier.wait()
        assert ledger.record(event(n, micros=100))  # forty containers, one Put each

    threads = [threading.Thread(target=run, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outbox.sent == []  # nothing on the request path
    costs.drain()  # one batch of forty: the daily and the monthly threshold both crossed inside it
    assert [subject for subject, _ in outbox.sent] == [
        "HO (test): daily AI spend $0.004 crossed $0.001",
        "HO (test): monthly AI spend $0.004 crossed $0.003",
    ]
    costs.drain()
    assert len(outbox.sent) == 2


def test_a_ledger_failure_never_fails_the_caller():
    class BrokenStore(InMemoryCostStore):
        def put_event(self, *args, **kwargs):
            raise ConnectionError("DynamoDB is unreachable")

    costs, outbox = tracker(store=BrokenStore())
    assert costs.record(event(1, micros=5_000)) is False
    assert outbox.sent == []
