"""POST /api/v2/campaigns/outcomes — what a campaign earned or how fans reacted (revenue and replies, for ROI)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.campaigns.outcome_schemas import OutcomeEnvelope, OutcomeRequest
from shared.api.campaigns.outcome_view import outcome_response, reported_outcome
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.outcomes import outcome_service

app = build_resolver(exact_decimals=True)


@app.post(
    "/api/v2/campaigns/outcomes",
    tags=[ApiTag.CAMPAIGNS],
    summary="Report a campaign's outcome (revenue, replies): idempotent per workflowId, recipientId, outcomeId",
    security=BEARER_AUTH,
    responses={
        **ok(OutcomeEnvelope, "Recorded", status=201),
        **ok(OutcomeEnvelope, "Already recorded with the same body: the first write's outcome"),
        **error_responses(400, 401, 404, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def post_outcome(request: OutcomeRequest) -> Response[dict]:
    """One transaction: the outcome, its message's revenue, the campaign's and the experiment variant's totals."""
    stored, created = outcome_service().report(current_caller(app), reported_outcome(request))
    return outcome_response(stored, created)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
