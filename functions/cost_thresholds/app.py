"""GET|POST /api/v2/costs/thresholds — spend thresholds (global, per user, per campaign) and their progress."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.alerts.threshold_schemas import CreateThresholdRequest, SpendThresholdEnvelope, SpendThresholdsEnvelope
from shared.api.alerts.threshold_views import create_threshold, listed_user, threshold_response, thresholds_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.alerts import default_thresholds, threshold_store
from shared.wiring.campaigns import workflow_store
from shared.wiring.ledger import cost_ledger

app = build_resolver()


@app.get(
    "/api/v2/costs/thresholds",
    tags=[ApiTag.BUDGETS],
    summary="The caller's thresholds, the global ones and the configured defaults, with this period's spend",
    security=BEARER_AUTH,
    responses={
        **ok(SpendThresholdsEnvelope, "Thresholds with their current spend (global spend: admins only)"),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def list_thresholds(
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: one user's thresholds")
    ] = None,
) -> Response[dict]:
    """Two Queries (the user's, the global ones) and one read of their counters."""
    caller = current_caller(app)
    defaults = default_thresholds()
    return thresholds_response(
        listed_user(caller, user_id), caller, threshold_store(), cost_ledger().store, defaults, time.time()
    )


@app.post(
    "/api/v2/costs/thresholds",
    tags=[ApiTag.BUDGETS],
    summary="Create a spend threshold",
    security=BEARER_AUTH,
    responses={
        **ok(SpendThresholdEnvelope, "The threshold, with its current spend", 201),
        **error_responses(400, 401, 403, 404, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def create(request: CreateThresholdRequest) -> Response[dict]:
    """Global and hard caps need an admin; a campaign threshold needs the campaign's owner; at most
    ``MAX_THRESHOLDS_PER_OWNER`` per owner (409)."""
    caller = current_caller(app)
    now = time.time()
    threshold = create_threshold(request, caller, threshold_store(), workflow_store(), now, cost_ledger().store)
    return threshold_response(threshold, caller, cost_ledger().store, now, 201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
