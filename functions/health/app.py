"""GET /api/health/hybrid-orchestrator — each dependency's status and latency; 503 when unhealthy."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.envelope import success
from shared.api.resolver import build_resolver
from shared.api.schemas import ApiTag, HealthEnvelope, HealthView, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.container import health_check

app = build_resolver()


@app.get(
    "/api/health/hybrid-orchestrator",
    tags=[ApiTag.HEALTH],
    summary="Each dependency's status and latency",
    responses={**ok(HealthEnvelope, "Healthy or degraded"), **ok(HealthEnvelope, "Unhealthy", status=503)},
)
@tracer.capture_method
def health() -> Response[dict]:
    """No token needed, no token spent; at most one probe of each dependency per ``HEALTH_CACHE_S``."""
    report = health_check().report()
    view = HealthView(status=report.status, checks={name: result.as_dict() for name, result in report.checks.items()})
    status = 503 if report.status == "unhealthy" else 200
    return success(view.model_dump(by_alias=True, exclude_none=True), status=status)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
