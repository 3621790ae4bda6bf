"""A campaign's reported revenue totals: the outcomes' side of ROI, beside the ledger's AI cost.

It lives under the ledger (not ``shared.outcomes``, which writes it) so that the statements, a layer below
the outcomes, can hold and freeze it; the outcomes package re-exports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.core.pricing import nanos_to_micros


@dataclass(frozen=True)
class RevenueTotals:
    """One campaign's (workflow's) reported outcomes, for ROI beside its AI cost."""

    revenue_nanos: int = 0
    replies: int = 0
    outcomes: int = 0
    messages_with_outcome: int = 0

    @property
    def revenue_micros(self) -> int:
        """The revenue in micro-dollars (whole: every outcome was)."""
        return nanos_to_micros(self.revenue_nanos)


def summed_revenue(totals: Iterable[RevenueTotals]) -> RevenueTotals:
    """Several campaigns' totals added, field by field (exact integers)."""
    listed = list(totals)
    return RevenueTotals(
        revenue_nanos=sum(t.revenue_nanos for t in listed),
        replies=sum(t.replies for t in listed),
        outcomes=sum(t.outcomes for t in listed),
        messages_with_outcome=sum(t.messages_with_outcome for t in listed),
    )
