"""GET /api/health/hybrid-orchestrator — each dependency's status and latency; 503 when unhealthy."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.envelope import unwrapped
from shared.api.resolver import build_resolver
from shared.api.schemas import ApiTag, HealthView, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.health import health_check

app = build_resolver()


@app.get(
    "/api/health/hybrid-orchestrator",
    tags=[ApiTag.HEALTH],
    summary="Each dependency's status and latency",
    responses={**ok(HealthView, "Healthy or degraded"), **ok(HealthView, "Unhealthy", status=503)},
)
@tracer.capture_method
def health() -> Response[dict]:
    """No token needed, no token spent; at most one probe of each dependency per ``HEALTH_CACHE_S``."""
    report = health_check().report()
    healthy_enough = report.status != "unhealthy"
    view = HealthView(
        success=healthy_enough,
        status=report.status,
        checks={name: result.as_dict() for name, result in report.checks.items()},
    )
    return unwrapped(view.model_dump(by_alias=True, exclude_none=True), status=200 if healthy_enough else 503)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
