"""Response models of the cost routes: every USD figure is a float derived from the exact ``…Micros`` beside it.

Money is integer micro-dollars end to end; the floats are for people and charts (they print
exactly for any amount under nine billion dollars), the ``…Micros`` integers are for sums.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.api.schemas import TokenCounts as TokenCounts  # shared with the optimization views
from shared.api.schemas import envelope
from shared.core.models import CamelModel

# The ledger's query vocabularies, re-exported for the handlers' query parameters.
from shared.ledger.campaign_costs import CampaignSort as CampaignSort
from shared.ledger.campaign_costs import SortOrder as SortOrder
from shared.ledger.ledger import GroupBy as GroupBy


class SpendView(CamelModel):
    """Spend, calls and tokens of one group or period."""

    cost: float = Field(description="USD, derived from costMicros")
    cost_micros: int = Field(description="Exact spend in micro-dollars")
    requests: int = Field(description="Provider calls recorded")
    tokens: TokenCounts


class ProviderSpend(SpendView):
    """One provider's spend."""

    provider: str


class ProviderSpendByPeriod(CamelModel):
    """Each provider's spend, calls and tokens, today and this month."""

    today: list[ProviderSpend]
    month: list[ProviderSpend]


class PeriodCounts(CamelModel):
    """Provider calls today and this month."""

    today: int
    month: int


class PeriodTokens(CamelModel):
    """Tokens today and this month."""

    today: TokenCounts
    month: TokenCounts


class ThresholdView(CamelModel):
    """A global threshold and how close the scope's spend is to it."""

    period: Literal["daily", "monthly"]
    amount_usd: float
    amount_micros: int
    spent_usd: float | None = Field(default=None, description="The scope's spend this period; admins only")
    spent_micros: int | None = None
    percent: float | None = Field(default=None, description="spent / amount x 100, two decimals")
    crossed: bool | None = None


class CostScopeView(CamelModel):
    """Whose spend this is: everyone's (admins) or one user's."""

    kind: Literal["all", "user"]
    user_id: str | None = None


class CostStatsView(CamelModel):
    """``GET /api/v2/costs/stats``: UTC today and this month."""

    scope: CostScopeView
    date: str = Field(description="Today (UTC), YYYY-MM-DD")
    month: str = Field(description="This month (UTC), YYYY-MM")
    today_total: float = Field(description="USD spent today")
    today_total_micros: int
    month_total: float = Field(description="USD spent this month")
    month_total_micros: int
    provider_breakdown: dict[str, float] = Field(
        description="USD spent today per provider, every configured provider present (0 when idle)"
    )
    by_provider: ProviderSpendByPeriod = Field(description="Per provider: spend, calls and tokens, today and month")
    requests: PeriodCounts
    tokens: PeriodTokens
    thresholds: list[ThresholdView]


class BreakdownGroup(SpendView):
    """One group: a provider, model, campaign type, campaign (workflow id), user, or UTC day."""

    key: str


class CostBreakdownView(CamelModel):
    """``GET /api/v2/costs/breakdown``."""

    scope: CostScopeView
    from_: str = Field(alias="from", description="First UTC day, inclusive")
    to: str = Field(description="Last UTC day, inclusive")
    group_by: str
    groups: list[BreakdownGroup] = Field(description="By spend, largest first; by date for groupBy=day")
    total: SpendView


CostStatsEnvelope = envelope("CostStatsEnvelope", CostStatsView)
CostBreakdownEnvelope = envelope("CostBreakdownEnvelope", CostBreakdownView)
