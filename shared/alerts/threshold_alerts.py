"""Daily and monthly thresholds: exactly one SNS e-mail per threshold and period, however many cross it.

The stream's aggregator checks them once per batch (:mod:`shared.alerts.spend_watch`): ``items``
holds everyone's day total as the batch's update left it (``UPDATED_NEW``), the month's total (the
earlier days plus that), and the alert markers. A threshold reached without a marker is claimed by a
conditional Put of its marker; the one caller whose Put succeeds composes and publishes the e-mail. If
publishing fails the marker is deleted again, so the next batch retries rather than the alert being lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, Protocol

from shared.alerts.channels import alert_email
from shared.core.pricing import MICROS_PER_USD
from shared.core.time import utc_day
from shared.ledger.keys import EVERYONE, Key, alert_key, counter_key, day_period, month_period, month_start
from shared.ledger.ledger import CostLedger, read_with_spend
from shared.ledger.store import Counters

MARKER_TTL_S = 62 * 86_400  # outlives the longest period it guards


@dataclass(frozen=True)
class Threshold:
    """A global spend threshold in micro-dollars, per UTC day or per UTC month."""

    name: Literal["daily", "monthly"]
    micros: int

    def period(self, day: date) -> str:
        """The period key of ``day``: ``DAY#…`` or ``MONTH#…``."""
        return day_period(day) if self.name == "daily" else month_period(day)

    def period_label(self, day: date) -> str:
        """``2025-01-02`` or ``2025-01``, for people."""
        return day.isoformat() if self.name == "daily" else f"{day:%Y-%m}"


@dataclass(frozen=True)
class SentAlert:
    """An alert this caller sent."""

    threshold: Threshold
    period: str
    spent_micros: int
    subject: str


class AlertPublisher(Protocol):
    """Where alert e-mails go (the SNS topic the e-mail subscriptions hang on)."""

    def publish(self, subject: str, body: str) -> None: ...


class SnsAlertPublisher:
    """Publishes to the cost-alert topic; SNS delivers to every confirmed e-mail subscription."""

    def __init__(self, topic_arn: str, client: Any) -> None:
        if not topic_arn:
            raise ValueError("COST_ALERT_TOPIC_ARN is not set: cost alerts have nowhere to go")
        self._topic_arn = topic_arn
        self._client = client

    def publish(self, subject: str, body: str) -> None:
        """One SNS message: subject and plain-text body."""
        self._client.publish(TopicArn=self._topic_arn, Subject=subject, Message=body)


class ThresholdAlerts:
    """Checks the thresholds after each recorded call and elects one sender per crossing."""

    def __init__(
        self,
        ledger: CostLedger,
        publisher: AlertPublisher,
        thresholds: Sequence[Threshold],
        product: str = "Hybrid Orchestrator",
        top_campaigns: int = 5,
    ) -> None:
        self._ledger = ledger
        self._store = ledger.store
        self._publisher = publisher
        self._thresholds = tuple(thresholds)
        self._product = product
        self._top = top_campaigns

    def wanted(self, at: float) -> list[Key]:
        """What :meth:`check` reads: each threshold's period total and alert marker."""
        return [key for pair in self._keys(utc_day(at)).values() for key in pair]

    def check(self, at: float, items: Mapping[Key, Mapping[str, Any]] | None = None) -> list[SentAlert]:
        """One read for every threshold (``items``, when the caller read :meth:`wanted` with other keys);
        a write and a publish only for a threshold newly crossed."""
        day = utc_day(at)
        keys = self._keys(day)
        if items is None:
            items = read_with_spend(self._store, [key for pair in keys.values() for key in pair])
        sent = []
        for threshold, (total_key, marker_key) in keys.items():
            spent = Counters.from_item(items.get(total_key)).micros
            if spent < threshold.micros or marker_key in items:
                continue
            if not self._store.put_if_absent(marker_key, {"spentMicros": spent, "expiresAt": int(at) + MARKER_TTL_S}):
                continue  # another recorder won the crossing and sends the e-mail
            try:
                subject = self._send(threshold, day, spent)
            except Exception:
                self._store.delete(marker_key)
                raise
            sent.append(SentAlert(threshold, threshold.period(day), spent, subject))
        return sent

    def _keys(self, day: date) -> dict[Threshold, tuple[Key, Key]]:
        return {
            t: (counter_key(EVERYONE, "total", t.period(day)), alert_key(t.name, t.micros, t.period(day)))
            for t in self._thresholds
        }

    def _send(self, threshold: Threshold, day: date, spent: int) -> str:
        first = day if threshold.name == "daily" else month_start(day)
        campaigns = self._ledger.breakdown(EVERYONE, "campaign", first, day)
        top = sorted(campaigns.items(), key=lambda entry: (-entry[1].micros, entry[0]))[: self._top]
        subject, body = alert_email(
            product=self._product,
            threshold_name=threshold.name,
            period_label=threshold.period_label(day),
            threshold_micros=threshold.micros,
            spent_micros=spent,
            by_provider=self._ledger.breakdown(EVERYONE, "provider", first, day),
            by_type=self._ledger.breakdown(EVERYONE, "type", first, day),
            top_campaigns=top,
        )
        self._publisher.publish(subject, body)
        return subject


def thresholds_from_usd(daily_usd: Decimal, monthly_usd: Decimal) -> tuple[Threshold, Threshold]:
    """The configured thresholds in whole micro-dollars (half up: ``0.0000005`` is one micro-dollar)."""
    return (
        Threshold("daily", _micros(daily_usd)),
        Threshold("monthly", _micros(monthly_usd)),
    )


def _micros(usd: Decimal) -> int:
    return max(1, int((usd * MICROS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
