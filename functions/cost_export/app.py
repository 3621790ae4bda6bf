"""GET /api/v2/costs/export — spend as CSV, one row per group and UTC day, for a spreadsheet or a script."""

import time
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.report_views import CSV_MEDIA_TYPE, GroupBy, export_response
from shared.api.costs.views import (
    ISO_DAY,
    USER_ID,
    SpendScopeQuery,
    TenantQuery,
    breakdown_window,
    check_group_by,
    cost_scope,
)
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.ledger import cost_ledger

app = build_resolver()
CSV_OK = {
    200: {
        "description": "`day,<groupBy>,calls,inputTokens,outputTokens,costUsd`, one row per group and UTC day; "
        "costUsd is exact (six decimals, from micro-dollars)",
        "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}


@app.get(
    "/api/v2/costs/export",
    tags=[ApiTag.COSTS],
    summary="AI spend per group and UTC day, as CSV",
    security=BEARER_AUTH,
    responses={**CSV_OK, **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def get_cost_export(
    first: Annotated[
        str | None, Query(alias="from", pattern=ISO_DAY, description="First UTC day (default: 6 days before `to`)")
    ] = None,
    last: Annotated[str | None, Query(alias="to", pattern=ISO_DAY, description="Last UTC day (default: today)")] = None,
    group_by: Annotated[GroupBy, Query(alias="groupBy", description="What to group by within each day")] = "provider",
    file_format: Annotated[Literal["csv"], Query(alias="format", description="Only CSV")] = "csv",
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=USER_ID, description="Admins: one user's spend")
    ] = None,
    spend_scope: SpendScopeQuery = None,
    tenant: TenantQuery = None,
) -> Response[str]:
    """The breakdown's scoping, defaults and validation, one breakdown per day of the range."""
    caller = current_caller(app)
    scope = cost_scope(caller, user_id, spend_scope, tenant)
    check_group_by(caller, scope, group_by)
    start, end = breakdown_window(first, last, utc_day(time.time()))
    return export_response(cost_ledger(), scope, group_by, start, end)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
