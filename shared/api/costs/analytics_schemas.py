"""Response models of the campaign analytics and forecast routes (USD floats beside exact ``…Micros``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.api.costs.return_on_cost import ReturnOnCostView
from shared.api.costs.schemas import CostScopeView, ProviderSpend, SpendView
from shared.api.schemas import envelope
from shared.core.models import CamelModel


class CampaignCostView(SpendView, ReturnOnCostView):
    """One campaign (workflow) over the range; ``requests`` are its provider calls."""

    campaign_id: str = Field(description="The workflow id")
    messages: int = Field(description="Generated messages: one per recorded (billed, successful) call")
    cost_per_message: float = Field(description="USD per generated message: cost / messages")
    fallbacks: int = Field(description="Calls a fallback candidate served (not the route's first choice)")
    fallback_share: float = Field(description="fallbacks / requests, 0..1")
    providers: list[ProviderSpend] = Field(description="Provider split, largest spend first")


class CampaignTotalsView(SpendView):
    """Every campaign in the range added up (before the limit)."""

    fallbacks: int


class CampaignCostsView(CamelModel):
    """``GET /api/v2/campaigns/costs``."""

    scope: CostScopeView
    from_: str = Field(alias="from", description="First UTC day, inclusive")
    to: str = Field(description="Last UTC day, inclusive")
    sort_by: str
    order: Literal["asc", "desc"]
    limit: int
    total: int = Field(description="Campaigns with spend in the range (the list holds at most `limit`)")
    totals: CampaignTotalsView
    campaigns: list[CampaignCostView]


class ForecastParameters(CamelModel):
    """The fitted model: spend(day) = intercept + slopePerDay x t + weekdayOffsets[weekday] (USD)."""

    intercept: float = Field(description="USD per day at t = 0, the first day with spend")
    slope_per_day: float = Field(description="USD per day added each day (the trend)")
    weekday_offsets: dict[str, float] = Field(
        description="USD above or below the trend per weekday (they sum to 0); empty for the trend-only model"
    )
    residual_sd: float = Field(description="Standard deviation of a day's spend around the model, USD")
    degrees_of_freedom: int


class ForecastInterval(CamelModel):
    """The prediction interval of the month-end total."""

    low: float
    low_micros: int
    high: float
    high_micros: int
    confidence: float = Field(description="e.g. 0.9 for a 90 % interval")


class SpikeView(CamelModel):
    """Today's spend so far against the median of the previous days."""

    today: float
    today_micros: int
    baseline: float = Field(description="Median daily spend of the previous days (up to 28), USD")
    threshold: float = Field(description="baseline + max(k x 1.4826 x MAD, minimum), USD")
    is_spike: bool


class ForecastThresholdView(CamelModel):
    """A monthly threshold against the projection."""

    threshold_id: str = Field(description="`settings` (MONTHLY_COST_THRESHOLD_USD) or a stored threshold's id")
    source: Literal["settings", "stored"]
    amount_usd: float
    amount_micros: int
    crossed: bool = Field(description="Month-to-date spend has reached it")
    projected_to_cross: bool = Field(description="The projected month-end total reaches it")
    crossing_date: str | None = Field(description="The UTC day it was or is projected to be reached this month")


class ForecastView(CamelModel):
    """``GET /api/v2/costs/forecast``: the month-end projection (absent without 7 days of history)."""

    scope: CostScopeView
    status: Literal["ok", "insufficient_history"]
    date: str = Field(description="Today (UTC)")
    month: str
    month_end: str
    history_days: int = Field(description="Complete days since the first day with spend (at most 56 used)")
    required_history_days: int
    month_to_date: float
    month_to_date_micros: int
    method: str | None = Field(description="`ols_linear_trend` or `ols_linear_trend_weekday_offsets`")
    parameters: ForecastParameters | None
    projected_month_end: float | None
    projected_month_end_micros: int | None
    interval: ForecastInterval | None
    days_remaining: float | None = Field(description="Days still to come, the rest of today as its share")
    spike: SpikeView | None
    thresholds: list[ForecastThresholdView]


CampaignCostsEnvelope = envelope("CampaignCostsEnvelope", CampaignCostsView)
ForecastEnvelope = envelope("ForecastEnvelope", ForecastView)
