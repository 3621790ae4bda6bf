"""Request, response and workflow models: validated at the edge, documented in the OpenAPI schema."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.core.models import CamelModel
from shared.core.pricing import CallCost, nanos_to_micros
from shared.routing.candidates import CampaignType
from shared.sending.ids import MAX_RECIPIENTS, AccountId, FanId
from shared.sending.messages import MessageCounts

FAN_MESSAGES = "fan_messages"
SENDING_PLATFORM = "onlyfans"  # the one platform fan messages are sent on
WorkflowStatus = Literal["queued", "running", "completed", "failed"]
Platform = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$", description="Target platform, e.g. instagram")]


class CampaignData(BaseModel):
    """What to write about; unknown keys are refused so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    theme: Annotated[str | None, Field(min_length=1, max_length=500, description="Subject of the campaign")] = None
    prompt: Annotated[str | None, Field(min_length=1, max_length=4000, description="Free-form instructions")] = None
    tone: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    audience: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    language: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = None
    # fan_messages only: who sends, and to whom (one personalised message per fan).
    account_id: Annotated[AccountId | None, Field(alias="accountId")] = None
    recipients: Annotated[
        list[FanId] | None, Field(min_length=1, max_length=MAX_RECIPIENTS, description="Fan ids, no repeats")
    ] = None

    @field_validator("recipients")
    @classmethod
    def _no_repeated_fans(cls, recipients: list[str] | None) -> list[str] | None:
        if recipients is not None and len(set(recipients)) != len(recipients):
            repeated = sorted(fan for fan, count in Counter(recipients).items() if count > 1)
            raise ValueError(f"recipients must not repeat: {', '.join(repeated[:5])}")
        return recipients

    @model_validator(mode="after")
    def _needs_a_subject(self) -> CampaignData:
        if self.theme is None and self.prompt is None:
            raise ValueError("data needs a theme or a prompt")
        return self


class CampaignRequest(BaseModel):
    """``POST /api/v2/campaigns/hybrid``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: Annotated[CampaignType, Field(description="Kind of work; decides the provider route")]
    platforms: Annotated[list[Platform], Field(min_length=1, max_length=10)]
    data: CampaignData
    mode: Annotated[
        Literal["sync", "async"],
        Field(description="sync returns the result in the response; async answers 202 and runs it from a queue"),
    ] = "sync"

    @model_validator(mode="after")
    def _unique_platforms(self) -> CampaignRequest:
        if len(set(self.platforms)) != len(self.platforms):
            raise ValueError("platforms must not repeat")
        return self

    @model_validator(mode="after")
    def _fan_fields_match_the_type(self) -> CampaignRequest:
        """accountId and recipients belong to fan_messages, which needs both and sends on onlyfans only."""
        has_fan_fields = self.data.account_id is not None or self.data.recipients is not None
        if self.type != FAN_MESSAGES:
            if has_fan_fields:
                raise ValueError("data.accountId and data.recipients are only for type fan_messages")
            return self
        if self.data.account_id is None or self.data.recipients is None:
            raise ValueError("fan_messages needs data.accountId and data.recipients")
        if self.platforms != [SENDING_PLATFORM]:
            raise ValueError(f'fan_messages are sent on platforms ["{SENDING_PLATFORM}"] only')
        return self


MODEL_DESCRIPTION = "The base model the call was priced as (an Azure deployment's mapped model)"
DEPLOYMENT_DESCRIPTION = "What was called: the Azure deployment, or the OpenAI model"


class TokenUsage(CamelModel):
    """Tokens the provider reported; ``cached`` is part of ``input``, ``reasoning`` part of ``output``."""

    input: int = 0
    output: int = 0
    total: int = 0
    cached: int = Field(default=0, description="Input tokens read from the provider's prompt cache (cheaper)")
    reasoning: int = Field(default=0, description="Output tokens spent reasoning (already in output)")

    @classmethod
    def of(cls, cost: CallCost) -> TokenUsage:
        """The token counts of a priced call."""
        return cls(
            input=cost.input_tokens,
            output=cost.output_tokens,
            total=cost.total_tokens,
            cached=cost.cached_tokens,
            reasoning=cost.reasoning_tokens,
        )


class AttemptRecord(CamelModel):
    """One provider attempt, as stored on a workflow step; a billed one (an answer, or a completion
    filtered on output) has its tokens and cost."""

    provider: str
    deployment: str = Field(description=DEPLOYMENT_DESCRIPTION)
    status: str
    latency_ms: int
    http_status: int | None = None
    waited_ms: int = 0
    tokens: TokenUsage | None = None
    cost_micros: int = 0
    cost_nanos: int = 0


class WorkflowStep(CamelModel):
    """One unit of work in a workflow (for now: the generation step)."""

    name: str
    status: Literal["completed", "failed"]
    provider: str | None = None
    model: str | None = Field(default=None, description=MODEL_DESCRIPTION)
    deployment: str | None = Field(default=None, description=DEPLOYMENT_DESCRIPTION)
    attempts: list[AttemptRecord] = Field(default_factory=list)
    fallback_reasons: list[str] = Field(default_factory=list)
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    cost_micros: int = Field(default=0, description="Every billed attempt's cost, rounded half up to a micro-dollar")
    cost_nanos: int | None = Field(default=None, description="The same, exact, in nano-dollars")
    latency_ms: int = 0
    budget_note: str | None = Field(
        default=None, description="How the monthly budget changed this step: a downgrade, or messages not generated"
    )
    experiment: str | None = Field(default=None, description="The routing experiment this step's route came from")
    variant: str | None = Field(default=None, description="That experiment's variant the owner is assigned to")


class WorkflowError(CamelModel):
    """Why a workflow failed."""

    code: str
    message: str


class Workflow(CamelModel):
    """A campaign run, stored in DynamoDB and read back by its owner."""

    workflow_id: str
    owner_id: str
    tenant: str | None = None
    type: str
    platforms: list[str]
    mode: str
    status: WorkflowStatus
    path: Literal["hybrid", "legacy"] = Field(
        default="hybrid", description="hybrid router, or the legacy single provider"
    )
    steps: list[WorkflowStep] = Field(default_factory=list)
    content: str | None = None
    provider: str | None = None
    model: str | None = Field(default=None, description=MODEL_DESCRIPTION)
    deployment: str | None = Field(default=None, description=DEPLOYMENT_DESCRIPTION)
    error: WorkflowError | None = None
    counts: MessageCounts = Field(default_factory=MessageCounts)
    messages_total: int = 0
    recipient_ids: list[str] = Field(
        default_factory=list, description="fan_messages: the fans in request order (pages of their messages)"
    )
    created_at: str
    updated_at: str
    expires_at: int

    @property
    def cost_nanos(self) -> int:
        """Exact total cost of the workflow's steps (a step stored without nanos counts its micro-dollars)."""
        return sum(step.cost_micros * 1_000 if step.cost_nanos is None else step.cost_nanos for step in self.steps)

    @property
    def cost_micros(self) -> int:
        """Total cost of the workflow's steps, rounded half up once."""
        return nanos_to_micros(self.cost_nanos)

    @property
    def total_tokens(self) -> int:
        """Total tokens of the workflow's steps."""
        return sum(step.tokens.total for step in self.steps)
