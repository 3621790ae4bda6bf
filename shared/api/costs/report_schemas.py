"""Response models of the comparison route (the export answers CSV, described in its handler)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.api.costs.schemas import CostScopeView, ProviderSpend, SpendView
from shared.api.schemas import envelope
from shared.core.models import CamelModel


class ComparedPeriodView(CamelModel):
    """One side of the comparison: its UTC days, its total and its providers."""

    from_: str = Field(alias="from", description="First UTC day, inclusive")
    to: str = Field(description="Last UTC day, inclusive")
    days: int
    total: SpendView
    providers: list[ProviderSpend] = Field(description="Largest spend first")


class SpendChangeView(CamelModel):
    """How spend moved from the previous period to this one."""

    current_micros: int
    previous_micros: int
    change_micros: int = Field(description="current - previous, micro-dollars")
    change_usd: float
    change_percent: float | None = Field(description="change / previous x 100, two decimals; null when previous is 0")


class ProviderChangeView(SpendChangeView):
    """One provider's change (a provider seen in either period)."""

    provider: str


class CostComparisonView(CamelModel):
    """``GET /api/v2/costs/compare``: this period so far against the same days of the previous one."""

    scope: CostScopeView
    period: Literal["month", "week"]
    current: ComparedPeriodView
    previous: ComparedPeriodView = Field(description="The previous period's first days, as many as the current has")
    total: SpendChangeView
    providers: list[ProviderChangeView] = Field(description="Largest current spend first")


CostComparisonEnvelope = envelope("CostComparisonEnvelope", CostComparisonView)
