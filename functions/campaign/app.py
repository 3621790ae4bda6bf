"""POST /api/v2/campaigns/hybrid — run a campaign through the hybrid provider router."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import shared.wiring.providers  # noqa: F401  (the SDK at init, for SnapStart)
from shared.api.campaigns.async_view import AcceptedEnvelope
from shared.api.campaigns.schemas import CampaignEnvelope
from shared.api.campaigns.view import CampaignRequest, campaign_answer
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.campaigns import campaign_dispatcher
from shared.wiring.routing import request_deadline

app = build_resolver()


@app.post(
    "/api/v2/campaigns/hybrid",
    tags=[ApiTag.CAMPAIGNS],
    summary="Run a campaign through the hybrid router",
    security=BEARER_AUTH,
    responses={
        **ok(CampaignEnvelope, "The campaign ran (fan_messages: its messages are queued for sending)"),
        **ok(AcceptedEnvelope, "Async mode: the campaign is queued; poll its status", 202),
        **error_responses(400, 401, 402, 403, 413, 415, 422, 500, 503),
    },
)
@tracer.capture_method
def run_campaign(request: CampaignRequest) -> Response[dict]:
    """Validate; pick the path (flags); async → queue it (202); sync → run it and answer with what and how."""
    return campaign_answer(
        campaign_dispatcher().run(request, current_caller(app), request_deadline(app.lambda_context))
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
