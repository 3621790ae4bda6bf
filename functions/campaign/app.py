"""POST /api/v2/campaigns/hybrid — run a campaign through the hybrid provider router."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

# Imported at init, not on first request, so SnapStart's snapshot already holds the SDK.
import shared.routing.clients  # noqa: F401
from shared.api.campaigns.async_view import AcceptedEnvelope, accepted_response
from shared.api.campaigns.view import campaign_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, CampaignEnvelope, error_responses, ok
from shared.campaigns.models import FAN_MESSAGES, CampaignRequest
from shared.config.settings import get_settings
from shared.core.observability import logger, metrics, tracer
from shared.routing.deadline import Deadline
from shared.wiring.container import async_campaigns, campaign_service, fan_campaign_service, rollout_gate

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
    caller = current_caller(app)
    decision = rollout_gate().decide(caller.user_id)
    logger.append_keys(path=decision.path, path_reason=decision.reason)
    if request.mode == "async":
        return accepted_response(async_campaigns().submit(request, caller, path=decision.path))
    settings = get_settings()
    deadline = Deadline.for_invocation(app.lambda_context, settings.api_deadline_s, settings.deadline_margin_s)
    if request.type == FAN_MESSAGES:
        run = fan_campaign_service().run(request, caller, deadline, path=decision.path)
        return campaign_response(run, counts=run.counts)
    return campaign_response(campaign_service().run(request, caller, deadline, path=decision.path))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
