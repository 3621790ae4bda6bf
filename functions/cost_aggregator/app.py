"""The costs table's stream consumer: folds cost events into the day counters and runs the alert checks."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.core.observability import logger, metrics, tracer
from shared.wiring.alerts import cost_stream_consumer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """One stream batch; the partial batch response names the first record whose counters are not all in."""
    return cost_stream_consumer().handle(event)
