"""The workflows queue's consumer: runs async campaigns, once per workflow id."""

from aws_lambda_powertools.utilities.typing import LambdaContext

import shared.wiring.providers  # noqa: F401  (the SDK at init, for SnapStart)
from shared.core.batch import drain_batch
from shared.core.observability import logger, metrics, tracer
from shared.wiring.campaigns import async_campaigns


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """One SQS batch of campaign jobs; a job that raises is reported alone and retried by SQS."""
    return drain_batch(event, context, async_campaigns())
