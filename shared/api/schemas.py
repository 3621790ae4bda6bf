"""Response models: the envelope, errors, tags and the small views of health and flags, so the OpenAPI document
describes what is sent. A feature's own views live in its package (``shared.api.campaigns.schemas``, …), so a
handler importing these pays for no other feature's models.

Views build their answers from these models, so the document and the wire cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.core.models import CamelModel

API_TITLE = "Hybrid Orchestrator API"
API_VERSION = "2.0.0"
BEARER = "bearerAuth"
# Route-level ``security``: a bearer JWT (API Gateway's authorizer checks it before the handler runs).
BEARER_AUTH: list[dict[str, list[str]]] = [{BEARER: []}]
# A plain mapping: Powertools validates it only when it builds the document, so handlers never pay
# for importing its OpenAPI models (about 0.2 s) at cold start.
SECURITY_SCHEMES: dict[str, Any] = {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


class ApiTag(StrEnum):
    """The groups the OpenAPI document (and the Swagger page) files each route under."""

    CAMPAIGNS = "campaigns"
    COSTS = "costs"
    ALERTS = "alerts"
    BUDGETS = "budgets"
    OPTIMIZATION = "optimization"
    EXPERIMENTS = "experiments"
    ADMIN = "admin"
    CREATOR_ACCOUNTS = "creator-accounts"
    BILLING = "billing"
    HEALTH = "health"


ERROR_DESCRIPTIONS = {
    400: "Malformed JSON, a body that is not UTF-8, or a request the provider rejected as invalid",
    401: "Missing, invalid or expired bearer token",
    402: "The request would exceed a budget",
    403: "The caller is not allowed (admin routes)",
    404: "No such route, or no such resource for this caller",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Body is not application/json",
    422: "Validation failed; `details` names each field",
    500: "Unexpected error on our side",
    503: "No provider could serve the request, or a dependency is unhealthy",
}


class ErrorDetail(BaseModel):
    """One problem with the request."""

    model_config = ConfigDict(defer_build=True)

    field: str = Field(description="Where: a body path like `data.theme`, or a query parameter")
    message: str
    type: str


class ErrorBody(CamelModel):
    """What went wrong."""

    code: str = Field(description="Stable machine-readable code, e.g. VALIDATION_ERROR")
    message: str
    details: list[ErrorDetail | dict[str, Any]] = Field(default_factory=list)
    workflow_id: str | None = Field(default=None, description="Set when the request had created a workflow")


class ErrorEnvelope(BaseModel):
    """Every error answer."""

    model_config = ConfigDict(defer_build=True)

    success: Literal[False]
    error: ErrorBody


def envelope(name: str, data: Any, metrics: Any = None) -> type[BaseModel]:
    """The success envelope around a route's data model."""
    fields: dict[str, Any] = {"success": (Literal[True], ...), "data": (data, ...)}
    if metrics is not None:
        fields["metrics"] = (metrics, ...)
    return create_model(name, __config__=ConfigDict(defer_build=True), **fields)


def error_responses(*codes: int) -> dict[int, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {
        code: {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorEnvelope}}}
        for code in codes
    }


def ok(model: type[BaseModel], description: str, status: int = 200) -> dict[int, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of a route's success."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


class TokenCounts(CamelModel):
    """Tokens the providers reported."""

    input: int
    output: int
    total: int


class CheckView(CamelModel):
    """One dependency's health; the orchestrator's, providers' and queue's checks also say what they found."""

    status: Literal["healthy", "degraded", "unhealthy", "not_configured"]
    latency_ms: float
    detail: str | None = None
    routes: int | None = Field(default=None, description="orchestrator: routes served (hybrid, legacy, downgrade)")
    circuits: dict[str, str] | None = Field(default=None, description="orchestrator, providers: each circuit's state")
    depths: dict[str, int] | None = Field(
        default=None, description="queue: messages waiting per queue (delayed included)"
    )
    flags: Literal["readable", "unreadable"] | None = Field(default=None, description="orchestrator: the rollout gate")
    unpriced: list[str] | None = Field(default=None, description="orchestrator: `route:provider:model` it would skip")


class HealthView(BaseModel):
    """The service's health and each check, at the top level as the product documents show it.

    ``success`` is false exactly when the status is unhealthy (the 503); there is no ``data`` wrapper.
    """

    model_config = ConfigDict(defer_build=True)

    success: bool
    status: Literal["healthy", "degraded", "unhealthy"]
    checks: dict[str, CheckView]


class FlagView(BaseModel):
    """One flag: its default, its rules, and its value for the user asked about."""

    name: str
    default: Any
    rules: dict[str, Any]
    value: Any


class FlagsView(CamelModel):
    """The flags for one user, and the path a campaign of theirs would take."""

    user_id: str
    path: Literal["hybrid", "legacy"]
    reason: str
    flags: list[FlagView]


FlagsEnvelope = envelope("FlagsEnvelope", FlagsView)
