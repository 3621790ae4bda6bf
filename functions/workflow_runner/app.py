"""The workflows queue's consumer: runs async campaigns, once per workflow id."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

# Imported at init, not on first job, so SnapStart's snapshot already holds the SDK.
import shared.providers.openai_clients  # noqa: F401
from shared.container import async_campaigns
from shared.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """One SQS batch of campaign jobs; a job that raises is reported alone and retried by SQS."""
    runner = async_campaigns()
    runner.bind(context)
    return process_partial_response(event=event, record_handler=runner.handle, processor=processor, context=context)
