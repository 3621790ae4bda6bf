"""GET /api/admin/feature-flags?userId= — every flag, its rules, and its value for that user (admins only)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.auth import require_admin
from shared.api.envelope import success
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, FlagsEnvelope, FlagsView, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.routing import rollout_gate

app = build_resolver()


@app.get(
    "/api/admin/feature-flags",
    tags=[ApiTag.ADMIN],
    summary="Feature flags and their evaluation for a user (admin)",
    security=BEARER_AUTH,
    responses={**ok(FlagsEnvelope, "The flags"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def feature_flags(
    user_id: Annotated[str, Query(alias="userId", min_length=1, max_length=128, description="User to evaluate for")],
) -> Response[dict]:
    """What the flag store says, evaluated for ``userId`` exactly as a campaign request would be."""
    require_admin(current_caller(app))
    gate = rollout_gate()
    decision = gate.decide(user_id)
    view = FlagsView(user_id=user_id, path=decision.path, reason=decision.reason, flags=gate.describe(user_id))
    return success(view.model_dump(by_alias=True))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
