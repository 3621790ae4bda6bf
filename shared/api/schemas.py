"""Response models: the envelope and each route's data, so the OpenAPI document describes what is sent.

Views build their answers from these models, so the document and the wire cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from shared.campaigns.models import Workflow
from shared.core.models import CamelModel
from shared.sending.messages import FanMessageStatus, MessageCounts

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


class CampaignResult(CamelModel):
    """What a sync campaign produced."""

    workflow_id: str
    status: str
    content: str | None = None
    provider: str | None = None
    model: str | None = Field(default=None, description="The base model that served (what it was priced as)")
    deployment: str | None = Field(default=None, description="What was called: the Azure deployment or OpenAI model")
    fallback_used: bool = False
    path: Literal["hybrid", "legacy"] = "hybrid"
    counts: MessageCounts | None = None


class CallCostView(CamelModel):
    """Tokens and cost of the request (every call the providers billed for it); `costNanos` is exact,
    `costMicros` the same rounded half up to a micro-dollar, `cost` that in USD."""

    tokens: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int = Field(description="Input tokens read from the provider's prompt cache, billed cheaper")
    reasoning_tokens: int = Field(description="Output tokens spent reasoning, already in outputTokens")
    cost: float
    cost_micros: int
    cost_nanos: int = Field(description="The exact cost in nano-dollars (10^-9 USD)")


class CampaignMetrics(CamelModel):
    """How the request was served."""

    duration: int = Field(description="Whole milliseconds in the orchestrator")
    cost: CallCostView
    attempts: int
    fallbacks: list[str]
    breaker: dict[str, str] = Field(description="State of each circuit tried")
    overhead_ms: float = Field(description="Our own time: all but provider calls and deliberate waits")
    router_overhead_ms: float
    provider_ms: float


class WorkflowCost(CamelModel):
    """The workflow's steps added up (`costNanos` exact, `costMicros` rounded half up once)."""

    tokens: int
    cached_tokens: int = 0
    cost: float
    cost_micros: int
    cost_nanos: int = 0


class WorkflowView(Workflow):
    """A stored workflow with its cost summed and, for fan_messages, one page of its fans' messages."""

    cost: WorkflowCost
    recipient_ids: SkipJsonSchema[list[str]] = Field(default_factory=list, exclude=True)  # `messages` pages them
    messages: list[FanMessageStatus] = Field(
        default_factory=list, description="fan_messages: each fan's message and send state, in request order"
    )
    messages_next_token: str | None = Field(
        default=None, description="Pass as `nextToken` for the next page of `messages`; absent on the last page"
    )


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


CampaignEnvelope = envelope("CampaignEnvelope", CampaignResult, CampaignMetrics)
WorkflowEnvelope = envelope("WorkflowEnvelope", WorkflowView)


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
