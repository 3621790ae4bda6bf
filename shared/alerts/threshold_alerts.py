r"""The settings' daily and monthly thresholds: exactly one SNS e-mail per threshold and period, however many cross it.

They are global :class:`~shared.alerts.thresholds.SpendThreshold`\ s like the stored ones (owner ``ALL``,
ids ``settings:daily`` and ``settings:monthly``), with their own e-mail: the period's spend by provider,
by campaign type and its top campaigns. The stream's aggregator checks them once per batch
(:mod:`shared.alerts.spend_watch`): ``items`` holds everyone's day total as the batch's update left it
(``UPDATED_NEW``), the month's total (the earlier days plus that), and reads a threshold's alert marker only
once its spend reached the amount. A threshold
reached without a marker elects its one sender (:class:`~shared.core.election.Election`), who composes and
publishes the e-mail; if publishing fails the marker is released, so the next batch retries rather than
the alert being lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from shared.alerts.channels import AlertPublisher, alert_email
from shared.alerts.thresholds import SpendThreshold, settings_threshold
from shared.core.election import Election
from shared.core.pricing import usd_to_micros
from shared.core.time import utc_day
from shared.ledger.keys import EVERYONE, Key, alert_key, month_start
from shared.ledger.ledger import CostLedger
from shared.ledger.spend_view import SpendView
from shared.ledger.store import Counters


@dataclass(frozen=True)
class SentAlert:
    """An alert this caller sent."""

    threshold: SpendThreshold
    period: str
    spent_micros: int
    subject: str


class ThresholdAlerts:
    """Checks the thresholds after each recorded call and elects one sender per crossing."""

    def __init__(
        self,
        ledger: CostLedger,
        publisher: AlertPublisher,
        thresholds: Sequence[SpendThreshold],
        product: str = "Hybrid Orchestrator",
        top_campaigns: int = 5,
    ) -> None:
        self._ledger = ledger
        self._store = ledger.store
        self._election = Election(ledger.store)
        self._publisher = publisher
        self._thresholds = tuple(thresholds)
        self._product = product
        self._top = top_campaigns

    def check(self, at: float, items: Mapping[Key, Mapping[str, Any]] | None = None) -> list[SentAlert]:
        """Each threshold's spend from ``items`` (the batch's :class:`~shared.ledger.spend_view.SpendView`, else
        one made here), its marker read only once the spend reached it; a write and a publish only for a
        threshold newly crossed."""
        day = utc_day(at)
        keys = self._keys(day)
        if items is None:
            items = SpendView(self._store, until=day)
        sent = []
        for threshold, (spend_name, marker_key) in keys.items():
            spent = Counters.from_item(items.get(spend_name)).micros
            if spent < threshold.micros or marker_key in items:
                continue
            subject = self._election.run(
                marker_key, at, {"spentMicros": spent}, partial(self._send, threshold, day, spent)
            )
            if subject is not None:  # else another recorder won the crossing and sends the e-mail
                sent.append(SentAlert(threshold, threshold.period_key(day), spent, subject))
        return sent

    def _keys(self, day: date) -> dict[SpendThreshold, tuple[Key, Key]]:
        return {t: (t.counter(day), alert_key(t.period, t.micros, t.period_key(day))) for t in self._thresholds}

    def _send(self, threshold: SpendThreshold, day: date, spent: int) -> str:
        first = day if threshold.period == "daily" else month_start(day)
        campaigns = self._ledger.breakdown(EVERYONE, "campaign", first, day)
        top = sorted(campaigns.items(), key=lambda entry: (-entry[1].micros, entry[0]))[: self._top]
        subject, body = alert_email(
            product=self._product,
            threshold_name=threshold.period,
            period_label=threshold.period_label(day),
            threshold_micros=threshold.micros,
            spent_micros=spent,
            by_provider=self._ledger.breakdown(EVERYONE, "provider", first, day),
            by_type=self._ledger.breakdown(EVERYONE, "type", first, day),
            top_campaigns=top,
        )
        self._publisher.publish(subject, body)
        return subject


def thresholds_from_usd(daily_usd: Decimal, monthly_usd: Decimal) -> tuple[SpendThreshold, SpendThreshold]:
    """The configured thresholds in whole micro-dollars (half up: ``0.0000005`` is one micro-dollar; at least one)."""
    return (
        settings_threshold("daily", max(1, usd_to_micros(daily_usd))),
        settings_threshold("monthly", max(1, usd_to_micros(monthly_usd))),
    )
