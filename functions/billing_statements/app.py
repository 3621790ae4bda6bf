"""GET /api/v2/billing/statements — a tenant's monthly statement: spend by user, campaign type and model."""

import time
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.billing.schemas import MONTH, TENANT_ID, StatementEnvelope
from shared.api.billing.views import CSV_HEADER, stated_tenant, statement_response, valid_month
from shared.api.costs.report_views import CSV_MEDIA_TYPE
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.core.time import utc_day
from shared.wiring.billing import tenant_statements

app = build_resolver()
STATEMENT_OK = ok(
    StatementEnvelope,
    f"The statement; with format=csv, `text/csv`: `{','.join(CSV_HEADER)}`, the total row first, then one row "
    "per dimension and value",
)
STATEMENT_OK[200]["content"][CSV_MEDIA_TYPE] = {"schema": {"type": "string"}}


@app.get(
    "/api/v2/billing/statements",
    tags=[ApiTag.BILLING],
    summary="A tenant's monthly statement: spend, calls and tokens by user, campaign type and model",
    security=BEARER_AUTH,
    responses={
        **STATEMENT_OK,
        **error_responses(401, 403, 404, 422, 500),
    },
)
@tracer.capture_method
def get_statement(
    tenant: Annotated[
        str | None,
        Query(pattern=TENANT_ID, description="The tenant (default the caller's; another one: platform admins)"),
    ] = None,
    month: Annotated[
        str | None, Query(pattern=MONTH, description="YYYY-MM, UTC, not in the future (default this month)")
    ] = None,
    file_format: Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv")] = "json",
) -> Response[dict | str]:
    """Live for an open month, frozen on first read for a closed one (then identical on every read)."""
    whose = stated_tenant(current_caller(app), tenant)
    return statement_response(tenant_statements(), whose, valid_month(month, utc_day(time.time())), file_format)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
