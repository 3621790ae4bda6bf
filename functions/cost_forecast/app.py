"""GET /api/v2/costs/forecast — month-end spend projection with a prediction interval, and today's spike check."""

import time
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.costs.analytics_schemas import ForecastEnvelope
from shared.api.costs.analytics_views import forecast_response
from shared.api.costs.views import cost_scope
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.alerts import spend_forecaster

app = build_resolver()


@app.get(
    "/api/v2/costs/forecast",
    tags=[ApiTag.COSTS],
    summary="Month-end AI spend projection (linear trend + weekday offsets) with an interval, and a spike flag",
    security=BEARER_AUTH,
    responses={
        **ok(
            ForecastEnvelope, "The caller's forecast (everyone's for admins); status insufficient_history below 7 days"
        ),
        **error_responses(401, 403, 422, 500),
    },
)
@tracer.capture_method
def get_cost_forecast(
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: one user's forecast")
    ] = None,
) -> Response[dict]:
    """One Query of daily totals and one of the monthly thresholds; the model is fitted here, in pure Python."""
    scope = cost_scope(current_caller(app), user_id)
    forecaster = spend_forecaster()
    return forecast_response(forecaster.forecast(scope, time.time()), scope, forecaster.monthly_thresholds(scope))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
