"""GET /api/v2/costs/stats — today's and this month's AI spend by provider, against the thresholds."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.schemas import CostStatsEnvelope
from shared.api.costs.views import SpendScopeQuery, TenantQuery, cost_scope, stats_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.alerts import default_thresholds
from shared.wiring.ledger import cost_ledger
from shared.wiring.settings import get_settings

app = build_resolver()


@app.get(
    "/api/v2/costs/stats",
    tags=[ApiTag.COSTS],
    summary="AI spend today and this month, by provider, with each threshold's progress",
    security=BEARER_AUTH,
    responses={
        **ok(CostStatsEnvelope, "The caller's spend (everyone's for admins)"),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def get_cost_stats(
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: one user's spend")
    ] = None,
    spend_scope: SpendScopeQuery = None,
    tenant: TenantQuery = None,
) -> Response[dict]:
    """Two Queries of pre-aggregated counters, whatever the number of calls recorded."""
    caller = current_caller(app)
    scope = cost_scope(caller, user_id, spend_scope, tenant)
    stats = cost_ledger().stats(scope, utc_day(time.time()))
    return stats_response(stats, scope, default_thresholds(), get_settings().configured_providers, caller)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
