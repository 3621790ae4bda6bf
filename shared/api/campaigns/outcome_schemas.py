"""Request and response models of ``POST /api/v2/campaigns/outcomes``.

``revenueUsd`` is a JSON number read as a ``Decimal`` (the route's resolver parses floats that way), so
``12.34`` is exactly 12.34 USD; a string, ``true`` or more than six decimals is refused, not rounded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api.schemas import envelope
from shared.core.models import CamelModel
from shared.outcomes.model import MAX_REPLIES, MAX_REVENUE_USD
from shared.sending.ids import FanId

WORKFLOW_ID_PATTERN = r"^wf_[0-9a-f]{32}$"
OUTCOME_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class OutcomeRequest(BaseModel):
    """What a campaign earned, or how fans reacted; ``(workflowId, recipientId, outcomeId)`` is its idempotency key."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    workflow_id: Annotated[str, Field(alias="workflowId", pattern=WORKFLOW_ID_PATTERN, description="The campaign")]
    outcome_id: Annotated[
        str,
        Field(
            alias="outcomeId",
            pattern=OUTCOME_ID_PATTERN,
            description="The platform's id of this outcome (1-128 of [A-Za-z0-9_.:-]): a replay with the same id "
            "changes nothing",
        ),
    ]
    revenue_usd: Annotated[
        Decimal | None,
        Field(
            alias="revenueUsd",
            ge=0,
            le=MAX_REVENUE_USD,
            decimal_places=6,
            description="USD earned, exact: at most 6 decimals (micro-dollars), at most 1,000,000",
        ),
    ] = None
    replies: Annotated[
        int | None, Field(strict=True, ge=0, le=MAX_REPLIES, description="Fan replies to the message(s)")
    ] = None
    recipient_id: Annotated[
        FanId | None,
        Field(alias="recipientId", description="fan_messages: the fan (one of the workflow's recipients); else absent"),
    ] = None

    @field_validator("revenue_usd", mode="before")
    @classmethod
    def _a_json_number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | Decimal)):
            raise ValueError("revenueUsd must be a JSON number")
        return value


class OutcomeView(CamelModel):
    """An outcome as recorded (on a replay: as first recorded)."""

    workflow_id: str
    outcome_id: str
    recipient_id: str | None
    revenue_usd: float | None = Field(description="USD, from revenueMicros")
    revenue_micros: int | None = Field(description="Exact revenue in micro-dollars")
    replies: int | None
    recorded_at: str
    recorded_by: str = Field(description="Who reported it (the token's subject)")
    experiment: str | None = Field(description="The experiment the workflow ran in, if any")
    variant: str | None = None


OutcomeEnvelope = envelope("OutcomeEnvelope", OutcomeView)
