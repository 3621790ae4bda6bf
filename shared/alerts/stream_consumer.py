"""The ``cost_aggregator`` function's work: one batch of the costs table's stream in, counters and alerts out.

The event source mapping hands over inserted cost events only (its filter: ``eventName`` INSERT and a
``pk`` starting ``EVENT#``), at most ``DynamoSource.batch_size`` of them, from one shard, in order.
The batch is folded and applied exactly once (:class:`~shared.ledger.aggregator.CostAggregator`); what
did not apply is reported as a partial batch response naming the first record whose counters are not
all in, so Lambda resends from there and the high-water marks drop what is in already. Then the
batch's new totals go through the alert checks (:class:`~shared.alerts.spend_watch.SpendWatch`).

A record that is not a readable cost event is logged whole (enough to replay it) and counted
(``CostRecordFailures``, alarmed), not retried: no retry could read it. A batch whose shard cannot be
located raises, so Lambda retries it (bisecting), and finally hands it to the on-failure queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.alerts.spend_watch import SpendWatch
from shared.core.observability import logger
from shared.ledger.aggregator import CostAggregator, StreamedEvent
from shared.ledger.stream import StreamShards, streamed_event
from shared.routing.telemetry import record_cost_failure


class CostStreamConsumer:
    """Stream batch in, partial batch response out."""

    def __init__(self, aggregator: CostAggregator, shards: StreamShards, watch: SpendWatch | None = None) -> None:
        self._aggregator = aggregator
        self._shards = shards
        self._watch = watch

    def handle(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        """``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}``: empty when all of it is in."""
        records = list(event.get("Records") or [])
        streamed: list[StreamedEvent] = []
        sequence_numbers: dict[str, str] = {}
        for record in records:
            try:
                found = streamed_event(record)
            except (KeyError, TypeError, ValueError):
                logger.exception("cost stream record unreadable", extra={"stream_record": record})
                record_cost_failure("stream_record")
                continue
            if found is not None:
                streamed.append(found)
                sequence_numbers[found.sequence] = str(record["dynamodb"]["SequenceNumber"])
        if not streamed:
            return {"batchItemFailures": []}
        streamed.sort(key=lambda r: r.sequence)
        shard = self._shards.shard_of(str(records[0]["eventSourceARN"]), [streamed[0].sequence, streamed[-1].sequence])
        result = self._aggregator.apply(shard, streamed)
        logger.info(
            "cost batch folded",
            extra={"records": len(streamed), "updates": len(result.updates), "dropped": result.dropped},
        )
        if self._watch is not None:
            self._watch.after_batch(result.updates, [r.event for r in streamed])
        if result.failed_sequence is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": sequence_numbers[result.failed_sequence]}]}
