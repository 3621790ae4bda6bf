"""The early warning: spend seeded through the ledger, a projection crossing a monthly threshold, one e-mail.

Everything runs on the in-memory store with an injected clock: the campaign path's recorder, then the
stream's aggregator with its alert checks (where the early warnings run now).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.alerts.forecast_warnings import EarlyWarnings, ForecastWatch, SpendForecaster
from shared.alerts.spend_watch import SpendWatch
from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
from shared.alerts.thresholds import SpendThreshold
from shared.ledger.keys import EVERYONE, Scope
from shared.ledger.ledger import CostLedger
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore, InMemoryThresholdStore, MeteredRecorder, OutboxPublisher

USD = 1_000_000
NOW = datetime(2026, 3, 15, 1, tzinfo=UTC)  # early on March 15: $10.00 a day so far, $140 this month


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def seeded_ledger(store: InMemoryCostStore, user: str = "u1", days: int = 28, per_day: int = 10 * USD) -> CostLedger:
    """``days`` days before NOW's day, each two calls through CostLedger.record adding up to ``per_day``."""
    ledger = CostLedger(store)
    for back in range(1, days + 1):
        noon = (NOW.replace(hour=12) - timedelta(days=back)).timestamp()
        for call in range(2):
            ledger.record(event(back * 10 + call, micros=per_day // 2, user=user, at=noon))
    return ledger


def recording_path(monthly_usd: str = "300", thresholds: InMemoryThresholdStore | None = None, **seed):
    """A tracker whose daily/default alerts stay quiet, with the forecast watch on the settings' monthly threshold."""
    store, clock, outbox = InMemoryCostStore(), Clock(NOW), OutboxPublisher()
    ledger = seeded_ledger(store, **seed)
    _, monthly = thresholds_from_usd(Decimal("1000000"), Decimal(monthly_usd))
    quiet = ThresholdAlerts(ledger, OutboxPublisher(), thresholds_from_usd(Decimal("1000000"), Decimal("1000000")))
    forecaster = SpendForecaster(ledger, monthly.micros, thresholds)
    watch = ForecastWatch(EarlyWarnings(forecaster, ledger, outbox, product="HO (test)"), 300, clock)
    return MeteredRecorder(ledger, SpendWatch(store, quiet, forecast=watch)), store, clock, outbox, forecaster


def test_a_projected_crossing_sends_one_early_warning_before_the_real_one():
    tracker, _, clock, outbox, forecaster = recording_path(monthly_usd="300")
    tracker.record(event(1, micros=100_000, at=clock()))
    assert len(outbox.sent) == 1
    subject, body = outbox.sent[0]
    outlook = forecaster.forecast(EVERYONE, clock())
    assert outlook.month_to_date_micros == 140 * USD + 100_000 < 300 * USD  # still below: a warning, not an alert
    assert outlook.projection is not None and outlook.projection.projected_micros >= 300 * USD
    assert subject.startswith("HO (test): 2026-03 AI spend projected $") and "above the monthly $300.00" in subject
    assert "all users" in body and "Expected crossing: 2026-03-" in body and "prediction interval" in body
    assert "$140.10 so far" in body

    for _ in range(3):  # later checks the same month find the marker: no second e-mail
        clock.advance(301)
        tracker.record(event(int(clock()), micros=100_000, at=clock()))
    clock.advance(2 * 86_400)
    tracker.record(event(2, micros=100_000, at=clock()))
    assert len(outbox.sent) == 1


def test_no_warning_while_the_projection_stays_below_and_none_once_actually_crossed():
    below, _, clock, outbox, _ = recording_path(monthly_usd="400")  # ~ $310 projected
    below.record(event(1, micros=100_000, at=clock()))
    assert outbox.sent == []
    crossed, _, clock, outbox, _ = recording_path(monthly_usd="100")  # $140 already spent: the alert's job
    crossed.record(event(1, micros=100_000, at=clock()))
    assert outbox.sent == []


def test_checks_run_at_most_once_per_interval_per_scope_and_container():
    tracker, store, clock, _, _ = recording_path(monthly_usd="400")
    tracker.record(event(1, micros=1, at=clock()))
    queries = store.requests["Query"]
    clock.advance(299)
    tracker.record(event(2, micros=1, at=clock()))
    # Inside the interval the forecast reads nothing; the batch's one Query is the settings' monthly
    # threshold's month total (the month's day totals of everyone).
    assert store.requests["Query"] == queries + 1
    clock.advance(2)
    tracker.record(event(3, micros=1, at=clock()))
    assert store.requests["Query"] == queries + 3  # and now everyone's daily totals (the user has no thresholds)


def test_a_failed_publish_never_fails_the_call_and_a_later_check_retries():
    tracker, _, clock, outbox, _ = recording_path(monthly_usd="300")
    outbox.fail = True
    assert tracker.record(event(1, micros=100_000, at=clock())) is True
    assert outbox.sent == []
    clock.advance(301)
    tracker.record(event(2, micros=100_000, at=clock()))
    assert len(outbox.sent) == 1


def test_a_users_stored_monthly_threshold_warns_about_that_users_projection():
    thresholds = InMemoryThresholdStore()
    thresholds.put(SpendThreshold("th_" + "1" * 32, "user", "u7", "u7", "monthly", 250 * USD))
    thresholds.put(SpendThreshold("th_" + "2" * 32, "user", "u7", "u7", "daily", 1 * USD))  # daily: not forecast
    thresholds.put(SpendThreshold("th_" + "3" * 32, "global", None, "ALL", "monthly", 5_000 * USD))
    tracker, _, clock, outbox, forecaster = recording_path(monthly_usd="5000", thresholds=thresholds, user="u7")
    assert [t.threshold_id for t in forecaster.monthly_thresholds(Scope("u7"))] == ["th_" + "1" * 32]
    assert [t.micros for t in forecaster.monthly_thresholds(EVERYONE)] == [5_000 * USD, 5_000 * USD]
    tracker.record(event(1, micros=100_000, user="u7", at=clock()))
    ((subject, body),) = outbox.sent
    assert "above the monthly $250.00" in subject and "for user u7" in body
