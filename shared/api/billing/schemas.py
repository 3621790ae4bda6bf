"""Response models of ``GET /api/v2/billing/statements``: every USD figure beside the exact integers it comes from."""

from __future__ import annotations

from pydantic import Field

from shared.api.costs.return_on_cost import ReturnOnCostView
from shared.api.costs.schemas import SpendView
from shared.api.schemas import envelope
from shared.core.models import CamelModel

MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"  # 2000-01 to 2099-12: the years a ledger can hold
TENANT_ID = r"^[^\s#]{1,128}$"  # "#" separates key parts (TENANT#<id>)


class StatementSpendView(SpendView):
    """A line's or the total's spend: ``costMicros`` rounded half up once from the exact ``costNanos``."""

    cost_nanos: int = Field(description="Exact spend in nano-dollars (lines add up to the total's exactly)")
    cached_tokens: int = Field(description="Of tokens.input, read from the providers' prompt caches")


class StatementLineView(StatementSpendView):
    """One user, campaign type or model."""

    key: str = Field(description="The user id, the campaign type or the (priced) model")


class StatementCampaignLineView(StatementLineView, ReturnOnCostView):
    """One campaign (its id as ``key``): the month's AI cost, and its all-time reported revenue and ROI exactly
    as ``GET /api/v2/campaigns/costs`` computes them."""


class StatementTotalView(StatementSpendView, ReturnOnCostView):
    """The month's spend, and the campaign lines' revenue added, with ROI against the whole month's spend."""


class StatementView(CamelModel):
    """One tenant's month."""

    tenant: str
    month: str = Field(description="YYYY-MM (UTC)")
    final: bool = Field(description="true: a closed month's frozen statement, identical on every read")
    generated_at: str = Field(description="When it was computed (ISO 8601, UTC); frozen ones keep theirs")
    total: StatementTotalView
    by_user: list[StatementLineView] = Field(description="Largest spend first")
    by_type: list[StatementLineView]
    by_model: list[StatementLineView]
    by_campaign: list[StatementCampaignLineView] = Field(description="Largest spend first")


StatementEnvelope = envelope("StatementEnvelope", StatementView)
