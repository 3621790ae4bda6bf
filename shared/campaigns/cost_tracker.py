"""What the campaign service calls for each billed call: record it, one conditional ``PutItem``.

Counters, threshold alerts and forecast warnings are not on this path any more: they are folded from
the costs table's stream (the ``cost_aggregator`` function), so a campaign pays one write for its meter.
Recording may not fail the campaign: the provider has already billed the call and the answer is paid
for, so failing the request would only make the client retry and pay twice. A failure is logged with
the whole event (enough to replay it) and counted in the ``CostRecordFailures`` metric, which a
CloudWatch alarm watches.
"""

from __future__ import annotations

from dataclasses import asdict

from shared.core.observability import logger
from shared.ledger.events import CostEvent
from shared.ledger.ledger import CostLedger
from shared.routing.telemetry import record_cost_failure


class CostTracker:
    """The :class:`~shared.ledger.events.CostRecorder` of the deployed functions."""

    def __init__(self, ledger: CostLedger) -> None:
        self._ledger = ledger

    def record(self, event: CostEvent) -> bool:
        """True when this call recorded the event (False: a duplicate, or the write failed and was logged)."""
        try:
            recorded = self._ledger.record(event)
        except Exception:
            logger.exception("cost event not recorded", extra={"cost_event": asdict(event)})
            record_cost_failure("record")
            return False
        if not recorded:
            logger.info("duplicate cost event ignored", extra={"request_id": event.request_id})
        return recorded
