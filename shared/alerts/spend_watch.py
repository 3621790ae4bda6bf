"""Thresholds and early warnings checked where the totals change: in the stream's aggregator, once per batch.

A folded batch hands over each counter's new value (``UPDATED_NEW``), so the scopes' day totals are
known without a read. :class:`BatchSpend` lays them out as the threshold checks read spend — a
mapping from a scope total's key to ``{"micros": …}`` — and computes a month total only when a
check asks for it (one Query of the scope's day totals, the batch's own days laid over, so an
eventually consistent read cannot miss this batch). The markers the checks need (the owners' and the
crossing markers) come in one ``BatchGetItem`` per batch. A threshold reached without its marker is
claimed, exactly once, by the existing one-election code (:mod:`shared.alerts.threshold_alerts` for the
settings' daily and monthly defaults, :mod:`shared.alerts.checker` for the stored global, user and
campaign thresholds); the amount in the alert is the spend after the batch that crossed it. A failed
send is released and retried by the next batch touching that spend. The forecast's early warnings run
for everyone and each user of the batch (each at most once per interval per container).

Nothing here fails the batch: the counters are in, and a retried batch would fold nothing new. A
failure is logged and counted (``CostAlertFailures``), as it was on the request path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from shared.alerts.checker import ThresholdChecker
from shared.alerts.forecast_warnings import ForecastWatch
from shared.alerts.threshold_alerts import ThresholdAlerts
from shared.core.observability import logger
from shared.ledger.aggregator import CounterUpdate
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVERYONE, Key, Scope, split_sort_key
from shared.ledger.ledger import is_spend_key, last_day_of_month, month_total_micros, spend_of
from shared.ledger.store import CostStore
from shared.routing.telemetry import record_cost_alert, record_cost_failure


class BatchSpend(Mapping[Key, Mapping[str, Any]]):
    """Spend as one batch left it (read lazily where the batch did not write it), and the batch's markers."""

    def __init__(self, store: CostStore, day_totals: Mapping[Key, int], markers: Mapping[Key, Mapping[str, Any]]):
        self._store = store
        self._days = dict(day_totals)
        self._markers = markers
        self._months: dict[Key, int] = {}

    def __getitem__(self, key: Key) -> Mapping[str, Any]:
        if key in self._markers:
            return self._markers[key]
        if not is_spend_key(key):
            raise KeyError(key)
        return {"micros": self._spend(key)}

    def __contains__(self, key: object) -> bool:
        return key in self._markers or (isinstance(key, tuple) and is_spend_key(key))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._markers)

    def __len__(self) -> int:
        return len(self._markers)

    def _spend(self, key: Key) -> int:
        pk, sk = key
        if sk.startswith("DAY#"):
            if key not in self._days:
                self._days.update(spend_of(self._store, [key]))
            return self._days[key]
        if key not in self._months:
            month = sk.split("#")[1]
            known = {
                date.fromisoformat(split_sort_key(day_sk)[0].removeprefix("DAY#")): micros
                for (day_pk, day_sk), micros in self._days.items()
                if day_pk == pk and day_sk.startswith(f"DAY#{month}-")
            }
            scope_key = pk.removeprefix("AGG#").removesuffix("#total")
            self._months[key] = month_total_micros(self._store, scope_key, last_day_of_month(month), known)
        return self._months[key]


class SpendWatch:
    """The aggregator's alert hook: one markers read per batch, then the existing checks on the new totals."""

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
        totals = {u.key: u.after.micros for u in updates if is_spend_key(u.key)}
        if not totals:
            return  # a redelivery that folded nothing new changed no total
        by_day: dict[date, float] = {}
        by_owner: dict[tuple[str, str, date], CostEvent] = {}
        for e in events:
            by_day[e.day] = max(by_day.get(e.day, e.at), e.at)
            by_owner[(e.user_id, e.campaign_id, e.day)] = e
        try:
            wanted = [k for at in by_day.values() for k in (self._alerts.wanted(at) if self._alerts else [])]
            if self._thresholds is not None:
                wanted += [k for e in by_owner.values() for k in self._thresholds.wanted(e)]
            markers = self._store.get_items([k for k in dict.fromkeys(wanted) if not is_spend_key(k)])
        except Exception:
            logger.exception("cost threshold check failed", extra={"events": len(events)})
            record_cost_failure("alert")
            return
        spend = BatchSpend(self._store, totals, markers)
        self._check_defaults(by_day.values(), spend)
        self._check_stored(by_owner.values(), spend)
        if self._forecast is not None:
            self._forecast.after_batch([EVERYONE, *(Scope(user) for user, _, _ in by_owner)])

    def _check_defaults(self, moments: Iterable[float], spend: BatchSpend) -> None:
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

    def _check_stored(self, owners: Iterable[CostEvent], spend: BatchSpend) -> None:
        if self._thresholds is None:
            return
        for e in owners:
            try:
                for sent in self._thresholds.check(e, spend):
                    logger.warning("threshold alert", extra={"subject": sent.subject, "status": sent.status})
            except Exception:
                logger.exception("stored threshold check failed", extra={"user_id": e.user_id})
                record_cost_failure("threshold_alert")
