"""The SQS consumers' one entry: bind the invocation, process the batch, report only the failed records."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


class RecordConsumer(Protocol):
    """Handles one record (raising makes it a batch item failure) with the invocation bound first."""

    def bind(self, context: Any) -> None: ...

    def handle(self, record: SQSRecord) -> Any: ...


def drain_batch(event: dict, context: Any, consumer: RecordConsumer) -> dict:
    """Powertools batch processing with a partial batch response (``batchItemFailures``)."""
    consumer.bind(context)
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=consumer.handle, processor=processor, context=context)
