"""GET /api/v2/costs/breakdown — AI spend over UTC days, grouped by provider, model, campaign, user or day."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.schemas import CostBreakdownEnvelope, GroupBy
from shared.api.costs.views import (
    SpendScopeQuery,
    TenantQuery,
    breakdown_response,
    breakdown_window,
    check_group_by,
    cost_scope,
)
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.ledger import cost_ledger

app = build_resolver()
ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"


@app.get(
    "/api/v2/costs/breakdown",
    tags=[ApiTag.COSTS],
    summary="AI spend over a range of UTC days, grouped",
    security=BEARER_AUTH,
    responses={**ok(CostBreakdownEnvelope, "Groups and their total"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def get_cost_breakdown(
    first: Annotated[
        str | None, Query(alias="from", pattern=ISO_DAY, description="First UTC day (default: 6 days before `to`)")
    ] = None,
    last: Annotated[str | None, Query(alias="to", pattern=ISO_DAY, description="Last UTC day (default: today)")] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy", description="What to group by")] = "provider",
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: one user's spend")
    ] = None,
    spend_scope: SpendScopeQuery = None,
    tenant: TenantQuery = None,
) -> Response[dict]:
    """One Query of daily counters: reads grow with days x groups, never with the calls recorded."""
    caller = current_caller(app)
    scope = cost_scope(caller, user_id, spend_scope, tenant)
    check_group_by(caller, scope, group_by)
    start, end = breakdown_window(first, last, utc_day(time.time()))
    groups = cost_ledger().breakdown(scope, group_by, start, end)
    return breakdown_response(groups, scope, group_by, start, end)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
