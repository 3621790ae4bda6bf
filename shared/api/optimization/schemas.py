"""Request and response models of the optimization routes; USD floats sit beside their exact ``…Micros``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from shared.api.route_views import CandidateView
from shared.api.schemas import TokenCounts, envelope
from shared.core.models import CamelModel

RECOMMENDATION_ID = r"^rec_[0-9a-f]{20}$"
CHANGE_ID = r"^chg_\d{13}[0-9a-f]{8}$"


class ApplyRecommendationRequest(BaseModel):
    """Apply a current recommendation: its proposed route serves the campaign type from the next request."""

    model_config = ConfigDict(extra="forbid")

    action: Annotated[Literal["apply"], Field(description="apply (the default) or revert")] = "apply"
    recommendation_id: Annotated[
        str,
        Field(alias="recommendationId", pattern=RECOMMENDATION_ID, description="From GET /api/v2/costs/optimization"),
    ]


class RevertChangeRequest(BaseModel):
    """Revert a routing change: the route it replaced serves again (if nothing changed that route since)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["revert"]
    change_id: Annotated[str, Field(alias="changeId", pattern=CHANGE_ID, description="A change's id (audit log)")]


def _action_of(body: Any) -> str | None:
    """The union's tag: ``action``, ``apply`` when absent; anything but a string tags nothing (a 422)."""
    action = body.get("action", "apply") if isinstance(body, dict) else getattr(body, "action", None)
    return action if isinstance(action, str) else None


OptimizationChangeRequest = Annotated[
    Annotated[ApplyRecommendationRequest, Tag("apply")] | Annotated[RevertChangeRequest, Tag("revert")],
    Discriminator(
        _action_of,
        custom_error_type="invalid_action",
        custom_error_message="action must be 'apply' (the default, with recommendationId) or 'revert' (with changeId)",
    ),
]


class PeriodView(CamelModel):
    """The UTC days the figures cover, both included."""

    from_: str = Field(alias="from")
    to: str
    days: int


class EvidenceView(CamelModel):
    """The recorded figures a recommendation stands on (its campaign type, or its one candidate)."""

    calls: int
    fallbacks: int
    fallback_share: float = Field(description="fallbacks / calls, 0..1 (4 decimals)")
    tokens: TokenCounts
    spend: float = Field(description="USD recorded in the period")
    spend_micros: int
    period: PeriodView


class RecommendationView(CamelModel):
    """One proposed route change; the saving is per 30-day month at the period's volume (negative: costs more)."""

    recommendation_id: str = Field(
        description="What apply takes; stable while the routes and the proposal are the same"
    )
    kind: Literal["model_downgrade", "fallback_order"]
    campaign_type: str
    summary: str
    current_route: list[CandidateView]
    proposed_route: list[CandidateView]
    monthly_saving: float = Field(description="USD per month, derived from monthlySavingMicros")
    monthly_saving_micros: int
    evidence: EvidenceView


class RouteInForceView(CamelModel):
    """A campaign type's hybrid route now."""

    campaign_type: str
    route: list[CandidateView]
    overridden: bool = Field(description="True when an applied change set it, false for the configured route")


class RouteChangeView(CamelModel):
    """One audited routing change."""

    change_id: str = Field(description="What a revert takes")
    kind: Literal["apply", "revert"]
    campaign_type: str
    before: list[CandidateView]
    after: list[CandidateView]
    before_overridden: bool
    after_overridden: bool
    by: str = Field(description="The admin's user id")
    at: str = Field(description="ISO 8601, UTC")
    recommendation_id: str | None = None
    reverts: str | None = Field(default=None, description="The change a revert undid")


class OptimizationView(CamelModel):
    """``GET /api/v2/costs/optimization``."""

    period: PeriodView
    fallback_share_threshold: float
    min_calls_for_fallback_share: int
    recommendations: list[RecommendationView] = Field(description="Largest saving first")
    routes: list[RouteInForceView]
    recent_changes: list[RouteChangeView] = Field(description="The routing audit log, newest first")


class OptimizationChangeView(CamelModel):
    """``POST /api/v2/costs/optimization/apply``: the change made."""

    change: RouteChangeView
    effective_within_s: float = Field(description="Every container serves the new route within this time")


class BudgetView(CamelModel):
    """A monthly budget: the MONTHLY_COST_THRESHOLD_USD setting or a stored global monthly threshold."""

    source: str
    amount: float
    amount_micros: int


class SpendProjectionView(CamelModel):
    """The month's projected spend: the period's spend as recorded, then with the savings taken off."""

    before: float
    before_micros: int
    after_all: float
    after_all_micros: int
    after_needed: float
    after_needed_micros: int


class OptimizationPlanView(CamelModel):
    """``GET /api/v2/costs/optimize``: what the engine would apply, given the budgets."""

    period: PeriodView
    steps: list[RecommendationView] = Field(description="Positive savings, the best per campaign type, largest first")
    projected_month_spend: SpendProjectionView
    budgets: list[BudgetView]
    budget_micros: int | None = Field(description="The binding (lowest) monthly budget")
    needed: list[str] = Field(description="Ids of the fewest steps (greedy by saving) that bring spend under it")
    under_budget: bool | None = Field(description="Whether spend ends under the budget with the needed steps")


OptimizationEnvelope = envelope("OptimizationEnvelope", OptimizationView)
OptimizationChangeEnvelope = envelope("OptimizationChangeEnvelope", OptimizationChangeView)
OptimizationPlanEnvelope = envelope("OptimizationPlanEnvelope", OptimizationPlanView)
