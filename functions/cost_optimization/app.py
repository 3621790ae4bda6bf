"""GET /api/v2/costs/optimization, POST /api/v2/costs/optimization/apply, GET /api/v2/costs/optimize (admins).

Recommendations computed from the last 30 days of the ledger, applied to (and reverted from) the
routing configuration without a deploy, and the plan the engine would apply given the budgets.
"""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.auth import require_admin
from shared.api.optimization.schemas import (
    ApplyRecommendationRequest,
    OptimizationChangeEnvelope,
    OptimizationChangeRequest,
    OptimizationEnvelope,
    OptimizationPlanEnvelope,
)
from shared.api.optimization.views import change_response, monthly_budgets, optimization_response, plan_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.alerts import default_thresholds, threshold_store
from shared.wiring.optimization import cost_optimizer
from shared.wiring.settings import get_settings

RECENT_CHANGES = 20

app = build_resolver()


@app.get(
    "/api/v2/costs/optimization",
    tags=[ApiTag.OPTIMIZATION],
    summary="Cost recommendations from the last 30 days (admin): cheaper equivalent models, fallback order",
    security=BEARER_AUTH,
    responses={
        **ok(OptimizationEnvelope, "The recommendations, the routes in force and the recent changes"),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def get_optimization() -> Response[dict]:
    """One GetItem (overrides), one Query (30 days of type x model counters), one Query (audit log)."""
    require_admin(current_caller(app))
    settings = get_settings()
    optimizer = cost_optimizer()
    found = optimizer.recommendations(utc_day(time.time()))
    changes = optimizer.changes(RECENT_CHANGES)
    return optimization_response(found, changes, settings.optimization_fallback_share, settings.optimization_min_calls)


@app.post(
    "/api/v2/costs/optimization/apply",
    tags=[ApiTag.OPTIMIZATION],
    summary="Apply a recommendation to the routing, or revert a routing change (admin, audited)",
    security=BEARER_AUTH,
    responses={
        **ok(OptimizationChangeEnvelope, "The change made: the next campaign request is routed by it"),
        **error_responses(400, 401, 403, 404, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def apply_optimization(request: Annotated[OptimizationChangeRequest, Body()]) -> Response[dict]:
    """``{"recommendationId"}`` applies a recommendation; ``{"action": "revert", "changeId"}`` undoes a change."""
    caller = current_caller(app)
    require_admin(caller)
    optimizer = cost_optimizer()
    if isinstance(request, ApplyRecommendationRequest):
        change = optimizer.apply(request.recommendation_id, caller.user_id, utc_day(time.time()))
    else:
        change = optimizer.revert(request.change_id, caller.user_id)
    return change_response(change, get_settings().routing_overrides_cache_s)


@app.get(
    "/api/v2/costs/optimize",
    tags=[ApiTag.OPTIMIZATION],
    summary="The plan the engine would apply given the monthly budgets (admin; reads only)",
    security=BEARER_AUTH,
    responses={
        **ok(OptimizationPlanEnvelope, "The plan and the projected month spend"),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def get_optimization_plan() -> Response[dict]:
    """The recommendations' positive savings against the settings' and stored global monthly budgets."""
    require_admin(current_caller(app))
    _, monthly = default_thresholds()
    budgets = monthly_budgets(monthly.micros, threshold_store())
    return plan_response(cost_optimizer().plan(utc_day(time.time()), budgets))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
