"""The HTTP routes and the Lambda functions behind them: one table, read by CDK and the local server.

This module imports nothing from CDK so the local server can serve exactly what CDK deploys
without paying for a CDK import.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its code folder and what it is allowed to touch."""

    name: str
    description: str
    memory_mb: int = 256
    timeout_s: int = 30
    # Grants, by resource key: "workflows_table", "circuits_table", "costs_table",
    # "idempotency_table", "workflows_queue", "messages_queue", "alert_topic",
    # "provider_secrets", "redis"; a table or queue key with ":read" grants reading only.
    uses: tuple[str, ...] = field(default_factory=tuple)
    calls_providers: bool = False

    @property
    def source_dir(self) -> str:
        """Folder of the function's code, relative to the repository root."""
        return f"functions/{self.name}"

    @property
    def handler(self) -> str:
        """Lambda handler string: every function exposes ``app.lambda_handler``."""
        return "app.lambda_handler"


@dataclass(frozen=True)
class HttpRoute:
    """One API Gateway route and the function that serves it."""

    method: str
    path: str
    function: str
    authorized: bool = True


FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec(
            name="campaign",
            description="Runs a hybrid campaign through the provider router",
            memory_mb=256,
            timeout_s=30,
            uses=("workflows_table", "circuits_table", "provider_secrets"),
            calls_providers=True,
        ),
        FunctionSpec(
            name="status",
            description="Returns a workflow to its owner",
            memory_mb=256,
            timeout_s=10,
            uses=("workflows_table:read",),
        ),
        FunctionSpec(
            name="health",
            description="Cheap health check of the orchestrator's dependencies",
            memory_mb=256,
            timeout_s=10,
            uses=("workflows_table:read", "circuits_table:read", "workflows_queue:read", "redis"),
        ),
    )
}

ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("POST", "/api/v2/campaigns/hybrid", "campaign"),
    HttpRoute("GET", "/api/v2/campaigns/status", "status"),
    HttpRoute("GET", "/api/health/hybrid-orchestrator", "health", authorized=False),
)
