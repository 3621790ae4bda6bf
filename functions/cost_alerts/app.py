"""GET|POST|PUT /api/v2/costs/alerts — alert rules on thresholds, and the alert history (newest first)."""

import time
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.alerts.rule_views import (
    create_rule,
    history_response,
    listed_owner,
    rule_response,
    rules_response,
    update_rule,
)
from shared.api.alerts.threshold_schemas import (
    AlertRuleEnvelope,
    AlertsEnvelope,
    CreateAlertRuleRequest,
    UpdateAlertRuleRequest,
)
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.alerts import alert_rule_store, threshold_store
from shared.wiring.settings import get_settings

app = build_resolver()


@app.get(
    "/api/v2/costs/alerts",
    tags=[ApiTag.ALERTS],
    summary="The caller's alert rules (view=rules) or alert history, newest first (view=history)",
    security=BEARER_AUTH,
    responses={**ok(AlertsEnvelope, "Rules, or a page of history"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def list_alerts(
    view: Annotated[Literal["rules", "history"], Query(description="rules or history")] = "rules",
    user_id: Annotated[
        str | None,
        Query(alias="userId", pattern=r"^\S{1,128}$", description="Admins: a user's, or ALL for global thresholds"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="History page size")] = 20,
    next_token: Annotated[
        str | None, Query(alias="nextToken", max_length=512, description="From the previous history page")
    ] = None,
) -> Response[dict]:
    """One Query either way."""
    caller = current_caller(app)
    owner = listed_owner(caller, user_id)
    if view == "history":
        return history_response(owner, alert_rule_store(), limit, next_token, caller, threshold_store())
    return rules_response(owner, alert_rule_store(), get_settings(), caller)


@app.post(
    "/api/v2/costs/alerts",
    tags=[ApiTag.ALERTS],
    summary="Create an alert rule: a threshold, a channel (email or an SNS topic of yours), enabled or not",
    security=BEARER_AUTH,
    responses={**ok(AlertRuleEnvelope, "The rule", 201), **error_responses(400, 401, 404, 409, 415, 422, 500)},
)
@tracer.capture_method
def create(request: CreateAlertRuleRequest) -> Response[dict]:
    """The threshold must be the caller's (admins: any); at most ``MAX_RULES_PER_THRESHOLD`` rules on it (409)."""
    rule = create_rule(request, current_caller(app), threshold_store(), alert_rule_store(), get_settings(), time.time())
    return rule_response(rule, 201)


@app.put(
    "/api/v2/costs/alerts",
    tags=[ApiTag.ALERTS],
    summary="Change an alert rule's channel or enabled flag",
    security=BEARER_AUTH,
    responses={**ok(AlertRuleEnvelope, "The updated rule"), **error_responses(400, 401, 404, 415, 422, 500)},
)
@tracer.capture_method
def update(request: UpdateAlertRuleRequest) -> Response[dict]:
    """Another user's rule is a 404."""
    return rule_response(update_rule(request, current_caller(app), alert_rule_store(), get_settings(), time.time()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
