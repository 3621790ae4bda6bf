"""Reported revenue beside AI cost: one response model and its exact figures, shared by campaign analytics and billing.

Its own small module so the billing statement does not import the analytics and forecast views for it.
"""

from __future__ import annotations

from pydantic import Field

from shared.core.models import CamelModel
from shared.core.pricing import nanos_to_micros, usd_amount
from shared.ledger.revenue import RevenueTotals
from shared.ledger.store import Counters


class ReturnOnCostView(CamelModel):
    """Reported revenue beside the AI cost: ROI exact from nano-dollars (see return_on)."""

    revenue_usd: float = Field(default=0.0, description="USD the platform reported (POST /campaigns/outcomes)")
    revenue_micros: int = Field(default=0, description="Exact reported revenue in micro-dollars")
    roi_usd: float = Field(default=0.0, description="revenueUsd - cost (the AI spend in the range), USD")
    roi_micros: int = Field(default=0, description="The same, exact, in micro-dollars (rounded half up once)")
    roi_ratio: float | None = Field(default=None, description="revenue / cost, six decimals; null when cost is 0")
    replies: int = Field(default=0, description="Fan replies reported")
    outcomes: int = Field(default=0, description="Outcomes reported")


def return_on(revenue: RevenueTotals, cost: Counters) -> dict:
    """Revenue and ROI, exact: nano-dollar integers subtracted, then rounded half up to micro-dollars once."""
    roi_micros = nanos_to_micros(revenue.revenue_nanos - cost.nanos)
    return {
        "revenue_usd": usd_amount(revenue.revenue_micros),
        "revenue_micros": revenue.revenue_micros,
        "roi_usd": usd_amount(roi_micros),
        "roi_micros": roi_micros,
        "roi_ratio": round(revenue.revenue_nanos / cost.nanos, 6) if cost.nanos else None,
        "replies": revenue.replies,
        "outcomes": revenue.outcomes,
    }
