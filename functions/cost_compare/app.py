"""GET /api/v2/costs/compare — this month (or week) so far against the same days of the previous one."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.report_schemas import CostComparisonEnvelope
from shared.api.costs.report_views import ComparePeriod, comparison_response
from shared.api.costs.views import USER_ID, SpendScopeQuery, TenantQuery, cost_scope
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.ledger import cost_ledger

app = build_resolver()


@app.get(
    "/api/v2/costs/compare",
    tags=[ApiTag.COSTS],
    summary="AI spend this period so far against the same days of the previous period, by provider",
    security=BEARER_AUTH,
    responses={**ok(CostComparisonEnvelope, "Both periods and the change"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def get_cost_comparison(
    period: Annotated[ComparePeriod, Query(description="month (from the 1st) or week (ISO, from Monday)")] = "month",
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=USER_ID, description="Admins: one user's spend")
    ] = None,
    spend_scope: SpendScopeQuery = None,
    tenant: TenantQuery = None,
) -> Response[dict]:
    """Two provider breakdowns of daily counters, whatever the number of calls recorded."""
    caller = current_caller(app)
    scope = cost_scope(caller, user_id, spend_scope, tenant)
    return comparison_response(cost_ledger(), scope, period, utc_day(time.time()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
