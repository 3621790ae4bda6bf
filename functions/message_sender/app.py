"""The rate-limited queue's drainer: the only place that checks the limiter and calls the sending gateway."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.core.batch import drain_batch
from shared.core.observability import logger, metrics, tracer
from shared.wiring.sending import message_drainer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """One SQS batch; failed records are reported (partial batch response) so only they come back."""
    return drain_batch(event, context, message_drainer())
