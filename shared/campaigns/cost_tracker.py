"""What the campaign service calls for each billed call: record it, then check the thresholds.

Neither step may fail the campaign: the provider has already billed the call and the answer is
paid for, so failing the request would only make the client retry and pay twice. A failure is
logged with the whole event (enough to replay it) and counted in the ``CostRecordFailures``
metric, which a CloudWatch alarm watches.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shared.alerts.checker import ThresholdChecker
from shared.alerts.forecast_warnings import ForecastWatch
from shared.alerts.threshold_alerts import ThresholdAlerts
from shared.core.observability import logger
from shared.ledger.events import CostEvent
from shared.ledger.keys import Key
from shared.ledger.ledger import CostLedger
from shared.routing.telemetry import record_cost_alert, record_cost_failure


class CostTracker:
    """The :class:`~shared.ledger.events.CostRecorder` of the deployed functions."""

    def __init__(
        self,
        ledger: CostLedger,
        alerts: ThresholdAlerts,
        thresholds: ThresholdChecker | None = None,
        forecast: ForecastWatch | None = None,
    ) -> None:
        self._ledger = ledger
        self._alerts = alerts
        self._thresholds = thresholds  # the stored thresholds and their alert rules, beside the defaults
        self._forecast = forecast  # early warning of a projected monthly crossing; logs its own failures

    def record(self, event: CostEvent) -> bool:
        """True when this call counted the event (False: a duplicate, or the write failed and was logged)."""
        try:
            recorded = self._ledger.record(event)
        except Exception:
            logger.exception("cost event not recorded", extra={"cost_event": asdict(event)})
            record_cost_failure("record")
            return False
        if not recorded:
            logger.info("duplicate cost event ignored", extra={"request_id": event.request_id})
            return False
        items = self._alert_state(event)
        if items is not None:
            try:
                for alert in self._alerts.check(event.at, items):
                    logger.warning("cost alert sent", extra={"subject": alert.subject, "period": alert.period})
                    record_cost_alert(alert.threshold.name)
            except Exception:
                logger.exception("cost threshold check failed", extra={"request_id": event.request_id})
                record_cost_failure("alert")
        if items is not None and self._thresholds is not None:
            try:
                for sent in self._thresholds.check(event, items):
                    logger.warning("threshold alert", extra={"subject": sent.subject, "status": sent.status})
            except Exception:
                logger.exception("stored threshold check failed", extra={"request_id": event.request_id})
                record_cost_failure("threshold_alert")
        if self._forecast is not None:
            self._forecast.after_record(event)
        return True

    def _alert_state(self, event: CostEvent) -> dict[Key, dict[str, Any]] | None:
        """One ``BatchGetItem`` for both checks (the settings' thresholds and the stored ones); None if it failed."""
        try:
            keys = self._alerts.wanted(event.at)
            if self._thresholds is not None:
                keys += self._thresholds.wanted(event)
            return self._ledger.store.get_items(keys)
        except Exception:
            logger.exception("cost threshold check failed", extra={"request_id": event.request_id})
            record_cost_failure("alert")
            return None
