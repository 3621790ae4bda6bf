"""Request and response models of ``/api/v2/experiments`` (admins only).

Shapes are checked here (lengths, types, a known campaign type); what needs the price table, the clock
or several fields at once (routes priced, split per variant, names unique, an end in the future) is
checked by the service, which names each field in the 422's details the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.api.route_views import CandidateView
from shared.api.schemas import envelope
from shared.core.models import CamelModel
from shared.experiments.model import MAX_VARIANTS
from shared.routing.candidates import CampaignType, RouteCandidate

EXPERIMENT_ID = r"^exp_\d{13}[0-9a-f]{8}$"
VariantName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="e.g. A, B, control")]


class VariantRequest(BaseModel):
    """One arm of the experiment: a name and the route its users take (ordered fallback candidates)."""

    model_config = ConfigDict(extra="forbid")

    name: VariantName
    route: Annotated[list[RouteCandidate], Field(min_length=1, max_length=5)]


class CreateExperimentRequest(BaseModel):
    """``POST /api/v2/experiments``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    campaign_type: Annotated[CampaignType, Field(alias="campaignType", description="Legacy routes never take part")]
    variants: Annotated[list[VariantRequest], Field(min_length=2, max_length=MAX_VARIANTS)]
    split: Annotated[
        list[Annotated[int, Field(ge=0, le=100)]],
        Field(
            min_length=2, max_length=MAX_VARIANTS, description="Each variant's share of users, in percent; sums to 100"
        ),
    ]
    ends_at: Annotated[
        datetime | None, Field(alias="endsAt", description="ISO 8601; past it the experiment counts as stopped")
    ] = None
    planned_effect: Annotated[
        float,
        Field(alias="plannedEffect", gt=0, le=1, description="Relative change in cost per call to detect (0.1: 10 %)"),
    ] = 0.10


class PromoteRequest(BaseModel):
    """``POST /api/v2/experiments/{id}/promote``."""

    model_config = ConfigDict(extra="forbid")

    variant: VariantName


class VariantView(CamelModel):
    """A variant, its route and its share of users."""

    name: str
    route: list[CandidateView]
    share: int = Field(description="Percent of users assigned to it")


class IntervalView(CamelModel):
    """A mean (USD) and its 95 % interval; null bounds below two samples."""

    mean: float
    low: float | None
    high: float | None


class VariantResultView(CamelModel):
    """One variant's figures."""

    name: str
    calls: int = Field(description="Billed provider calls")
    cost_per_call: IntervalView
    latency_p50_ms: int | None = Field(description="Upper bound of the histogram bucket (50, 100, 250, 500 ms…)")
    latency_p95_ms: int | None
    fallback_rate: float
    error_rate: float = Field(description="Billed attempts not answered ok (e.g. content-filtered) / calls")
    messages_with_outcome: int
    revenue_per_message: IntervalView | None
    reply_rate: float | None


class ComparisonView(CamelModel):
    """One variant against the control (the first variant)."""

    variant: str
    against: str
    cost_change_percent: float | None
    cost_p_value: float | None = Field(description="Welch's t-test on cost per call")
    revenue_change_percent: float | None
    revenue_p_value: float | None = Field(description="Welch's t-test on revenue per message")
    fallback_p_value: float | None = Field(description="Two-proportion z-test on fallback rates")
    reply_p_value: float | None = Field(description="Two-proportion z-test on reply rates")


class ResultsView(CamelModel):
    """How the variants did, and what the tests say."""

    variants: list[VariantResultView]
    comparisons: list[ComparisonView] | None
    calls_needed_per_variant: int | None = Field(description="For the planned effect at 95 % and 80 % power")
    more_calls_needed: int | None
    verdict: str | None
    recommendation: str = Field(description="promote (with recommendedVariant), continue or stop")
    recommended_variant: str | None
    notes: list[str]


class ExperimentView(CamelModel):
    """One experiment."""

    id: str
    name: str
    campaign_type: str
    status: str = Field(description="running, stopped (also once past endsAt) or promoted")
    variants: list[VariantView]
    split: list[int]
    planned_effect: float
    created_at: str
    created_by: str
    ends_at: str | None
    ended_at: str | None
    ended_by: str | None
    promoted_variant: str | None
    change_id: str | None = Field(description="The routing change a promotion made")
    recommendation_id: str | None
    results: ResultsView | None = None


class ExperimentsView(CamelModel):
    """A page of experiments, newest first."""

    experiments: list[ExperimentView]
    next_token: str | None = None


ExperimentEnvelope = envelope("ExperimentEnvelope", ExperimentView)
ExperimentsEnvelope = envelope("ExperimentsEnvelope", ExperimentsView)
