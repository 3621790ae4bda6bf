"""Thresholds and early warnings checked where the totals change: in the stream's aggregator, once per batch.

A folded batch hands over each counter's new value (``UPDATED_NEW``), so everyone's, each user's and each
tenant's day totals are known without a read (their day items). A
:class:`~shared.ledger.spend_view.SpendView` lays them out as the threshold checks read spend — a mapping
from a spend name to ``{"micros": …}`` — and reads the rest only when a check asks: a month total (its
earlier days, the batch's own laid over), a campaign's day (the sum of its providers, strongly consistent),
and a threshold's crossing marker only once its spend reached the amount, so most batches read no marker.
The owners' markers (what tells the container its remembered thresholds are current) come in one eventually
consistent ``BatchGetItem`` per batch (0.5 RRU each): a threshold created a moment before the batch may be
seen by the next batch instead, as one created a moment after it would be; spend only grows within a period,
so the next batch touching that spend still alerts, once. A threshold reached without its marker is claimed,
exactly once, by the existing one-election code (:mod:`shared.alerts.threshold_alerts` for the settings'
daily and monthly defaults, :mod:`shared.alerts.checker` for the stored global, user and campaign
thresholds); the amount in the alert is the spend after the batch that crossed it. A failed send is released
and retried by the next batch touching that spend. The forecast's early warnings run for everyone and each
user of the batch (each at most once per interval per container).

Nothing here fails the batch: the counters are in, and a retried batch would fold nothing new. A
failure is logged and counted (``CostAlertFailures``), as it was on the request path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from shared.alerts.checker import ThresholdChecker
from shared.alerts.forecast_warnings import ForecastWatch
from shared.alerts.threshold_alerts import ThresholdAlerts
from shared.alerts.thresholds import marker_keys
from shared.core.observability import logger
from shared.ledger.aggregator import CounterUpdate
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVERYONE, Scope, spend_name_of
from shared.ledger.spend_view import SpendView
from shared.ledger.store import CostStore
from shared.routing.telemetry import record_cost_alert, record_cost_failure


class SpendWatch:
    """The aggregator's alert hook: the owners' markers read once per batch, then the existing checks on the new
    totals, reading the rest only when a check asks."""

    def __init__(
        self,
        store: CostStore,
        alerts: ThresholdAlerts | None = None,
        thresholds: ThresholdChecker | None = None,
        forecast: ForecastWatch | None = None,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._thresholds = thresholds
        self._forecast = forecast

    def after_batch(self, updates: Sequence[CounterUpdate], events: Sequence[CostEvent]) -> None:
        """Check what the batch's spend crossed; never raises (logged and counted instead)."""
        totals = {name: u.after.micros for u in updates if (name := spend_name_of(u.key)) is not None}
        if not totals:
            return  # a redelivery that folded nothing new changed no total
        by_day: dict[date, float] = {}
        by_owner: dict[tuple[str, str, date], CostEvent] = {}
        for e in events:
            by_day[e.day] = max(by_day.get(e.day, e.at), e.at)
            by_owner[(e.user_id, e.campaign_id, e.day)] = e
        owners = list(dict.fromkeys(k for e in by_owner.values() for k in marker_keys(e.user_id)))
        try:
            markers = self._store.get_items(owners, consistent=False) if self._thresholds and owners else {}
        except Exception:
            logger.exception("cost threshold check failed", extra={"events": len(events)})
            record_cost_failure("alert")
            return
        absent = owners if self._thresholds else []
        spend = SpendView(self._store, max(by_day), totals, markers, absent)
        self._check_defaults(by_day.values(), spend)
        self._check_stored(by_owner.values(), spend)
        if self._forecast is not None:
            self._forecast.after_batch([EVERYONE, *(Scope(user) for user, _, _ in by_owner)])

    def _check_defaults(self, moments: Iterable[float], spend: SpendView) -> None:
        if self._alerts is None:
            return
        for at in moments:
            try:
                for alert in self._alerts.check(at, spend):
                    logger.warning("cost alert sent", extra={"subject": alert.subject, "period": alert.period})
                    record_cost_alert(alert.threshold.period)
            except Exception:
                logger.exception("cost threshold check failed", extra={"at": at})
                record_cost_failure("alert")

    def _check_stored(self, owners: Iterable[CostEvent], spend: SpendView) -> None:
        if self._thresholds is None:
            return
        for e in owners:
            try:
                for sent in self._thresholds.check(e, spend):
                    logger.warning("threshold alert", extra={"subject": sent.subject, "status": sent.status})
            except Exception:
                logger.exception("stored threshold check failed", extra={"user_id": e.user_id})
                record_cost_failure("threshold_alert")
