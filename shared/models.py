"""Request, response and workflow models: validated at the edge, documented in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

# fan_messages and async mode arrive with the rate-limited sending issue; until then they are
# rejected by validation rather than half-served.
SyncCampaignType = Literal["content_planning", "message_generation", "caption"]
WorkflowStatus = Literal["queued", "running", "completed", "failed"]
Platform = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$", description="Target platform, e.g. instagram")]


class CamelModel(BaseModel):
    """Python names in code, camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CampaignData(BaseModel):
    """What to write about; unknown keys are refused so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    theme: Annotated[str | None, Field(min_length=1, max_length=500, description="Subject of the campaign")] = None
    prompt: Annotated[str | None, Field(min_length=1, max_length=4000, description="Free-form instructions")] = None
    tone: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    audience: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    language: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = None

    @model_validator(mode="after")
    def _needs_a_subject(self) -> CampaignData:
        if self.theme is None and self.prompt is None:
            raise ValueError("data needs a theme or a prompt")
        return self


class CampaignRequest(BaseModel):
    """``POST /api/v2/campaigns/hybrid``."""

    model_config = ConfigDict(extra="forbid")

    type: Annotated[SyncCampaignType, Field(description="Kind of work; decides the provider route")]
    platforms: Annotated[list[Platform], Field(min_length=1, max_length=10)]
    data: CampaignData
    mode: Annotated[Literal["sync"], Field(description="sync returns the result in the response")] = "sync"

    @model_validator(mode="after")
    def _unique_platforms(self) -> CampaignRequest:
        if len(set(self.platforms)) != len(self.platforms):
            raise ValueError("platforms must not repeat")
        return self


class Caller(BaseModel):
    """Who is calling, from the claims API Gateway's JWT authorizer verified."""

    user_id: str
    is_admin: bool = False
    tenant: str | None = None

    def can_read(self, owner_id: str) -> bool:
        """Owners read their own workflows; admins read all."""
        return self.is_admin or self.user_id == owner_id


class AttemptRecord(CamelModel):
    """One provider attempt, as stored on a workflow step."""

    provider: str
    model: str
    status: str
    latency_ms: int
    http_status: int | None = None
    waited_ms: int = 0


class TokenUsage(CamelModel):
    """Tokens the provider reported."""

    input: int = 0
    output: int = 0
    total: int = 0


class WorkflowStep(CamelModel):
    """One unit of work in a workflow (for now: the generation step)."""

    name: str
    status: Literal["completed", "failed"]
    provider: str | None = None
    model: str | None = None
    priced_model: str | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    fallback_reasons: list[str] = Field(default_factory=list)
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    cost_micros: int = 0
    latency_ms: int = 0


class MessageCounts(CamelModel):
    """Fan messages of the workflow by state."""

    sent: int = 0
    queued: int = 0
    failed: int = 0


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
    steps: list[WorkflowStep] = Field(default_factory=list)
    content: str | None = None
    provider: str | None = None
    model: str | None = None
    error: WorkflowError | None = None
    counts: MessageCounts = Field(default_factory=MessageCounts)
    created_at: str
    updated_at: str
    expires_at: int

    @property
    def cost_micros(self) -> int:
        """Total cost of the workflow's steps."""
        return sum(step.cost_micros for step in self.steps)

    @property
    def total_tokens(self) -> int:
        """Total tokens of the workflow's steps."""
        return sum(step.tokens.total for step in self.steps)
