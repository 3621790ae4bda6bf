"""GET /api/v2/campaigns/costs — per-campaign spend, tokens, calls, cost per message, fallback share, provider split,
reported revenue and ROI."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.analytics_schemas import CampaignCostsEnvelope
from shared.api.costs.analytics_views import ranked_campaign_costs_response
from shared.api.costs.schemas import CampaignSort, SortOrder
from shared.api.costs.views import SpendScopeQuery, TenantQuery, breakdown_window, cost_scope
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.ledger import cost_ledger
from shared.wiring.outcomes import outcome_store

app = build_resolver()
ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"


@app.get(
    "/api/v2/campaigns/costs",
    tags=[ApiTag.COSTS],
    summary="Per-campaign AI spend over a range of UTC days, sortable",
    security=BEARER_AUTH,
    responses={
        **ok(CampaignCostsEnvelope, "The caller's campaigns (everyone's for admins)"),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def get_campaign_costs(
    first: Annotated[
        str | None, Query(alias="from", pattern=ISO_DAY, description="First UTC day (default: 6 days before `to`)")
    ] = None,
    last: Annotated[str | None, Query(alias="to", pattern=ISO_DAY, description="Last UTC day (default: today)")] = None,
    sort_by: Annotated[
        CampaignSort,
        Query(
            alias="sortBy",
            description="spend (costMicros), calls (requests), tokens (tokens.total), costPerMessage or fallbackShare",
        ),
    ] = "spend",
    order: Annotated[SortOrder, Query(description="asc or desc")] = "desc",
    limit: Annotated[int, Query(ge=1, le=500, description="Campaigns listed at most (the total counts all)")] = 100,
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: one user's campaigns")
    ] = None,
    spend_scope: SpendScopeQuery = None,
    tenant: TenantQuery = None,
) -> Response[dict]:
    """One Query of the campaign x provider daily counters, whatever the number of campaigns or calls."""
    caller = current_caller(app)
    scope = cost_scope(caller, user_id, spend_scope, tenant)
    start, end = breakdown_window(first, last, utc_day(time.time()))
    revenue_of = outcome_store().campaign_revenue
    return ranked_campaign_costs_response(cost_ledger().store, scope, start, end, sort_by, order, limit, revenue_of)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
