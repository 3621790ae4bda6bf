"""What the campaign service calls for each billed call: record it, then check the thresholds.

Neither step may fail the campaign: the provider has already billed the call and the answer is
paid for, so failing the request would only make the client retry and pay twice. A failure is
logged with the whole event (enough to replay it) and counted in the ``CostRecordFailures``
metric, which a CloudWatch alarm watches.
"""

from __future__ import annotations

from dataclasses import asdict

from shared.costs.alerts import ThresholdAlerts
from shared.costs.events import CostEvent
from shared.costs.ledger import CostLedger
from shared.observability import logger
from shared.telemetry import record_cost_alert, record_cost_failure


class CostTracker:
    """The :class:`~shared.costs.events.CostRecorder` of the deployed functions."""

    def __init__(self, ledger: CostLedger, alerts: ThresholdAlerts) -> None:
        self._ledger = ledger
        self._alerts = alerts

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
        try:
            for alert in self._alerts.check(event.at):
                logger.warning("cost alert sent", extra={"subject": alert.subject, "period": alert.period})
                record_cost_alert(alert.threshold.name)
        except Exception:
            logger.exception("cost threshold check failed", extra={"request_id": event.request_id})
            record_cost_failure("alert")
        return True
