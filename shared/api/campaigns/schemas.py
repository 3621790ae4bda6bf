"""Response models of the campaign routes: a sync campaign's result and metrics, a stored workflow's view."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from shared.api.schemas import envelope
from shared.campaigns.models import Workflow
from shared.core.models import CamelModel
from shared.sending.messages import FanMessageStatus, MessageCounts


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


CampaignEnvelope = envelope("CampaignEnvelope", CampaignResult, CampaignMetrics)
WorkflowEnvelope = envelope("WorkflowEnvelope", WorkflowView)
