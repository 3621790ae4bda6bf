"""An outcome as reported, and the totals it adds to: exact integer nano-dollars, never floats.

``revenueUsd`` arrives as a decimal with at most six places (whole micro-dollars), so it converts to
nano-dollars exactly (``Decimal`` all the way from the JSON text); the ledger's costs are nano-dollars
too, so ROI is an exact integer difference, rounded half up to micro-dollars once for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.core.pricing import NANOS_PER_USD, nanos_to_micros
from shared.ledger.revenue import RevenueTotals as RevenueTotals  # moved below the statements; re-exported

MAX_REVENUE_USD = Decimal(1_000_000)  # per outcome: far above any fan message's earnings, far below overflow
MAX_REPLIES = 100_000


def usd_to_nanos(usd: Decimal) -> int:
    """Exact for the at most six decimals a reported revenue has."""
    return int(usd * NANOS_PER_USD)


@dataclass(frozen=True)
class ReportedOutcome:
    """One report: its idempotency key ``(workflow_id, recipient_id, outcome_id)`` and what it adds."""

    workflow_id: str
    outcome_id: str
    recipient_id: str | None
    revenue_nanos: int | None
    replies: int | None


@dataclass(frozen=True)
class StoredOutcome:
    """A recorded outcome, as the route answers it (the first write's, on every replay)."""

    outcome: ReportedOutcome
    recorded_at: str
    recorded_by: str
    experiment: str | None = None
    variant: str | None = None

    @property
    def revenue_micros(self) -> int | None:
        """The revenue in micro-dollars (exact: it was reported in them)."""
        return None if self.outcome.revenue_nanos is None else nanos_to_micros(self.outcome.revenue_nanos)


@dataclass(frozen=True)
class MessageRevenue:
    """What one message (a fan of a fan_messages workflow, or a whole workflow of another type) has earned so
    far, and the version its next update is conditional on (0: no outcome yet)."""

    revenue_nanos: int = 0
    replies: int = 0
    version: int = 0


@dataclass(frozen=True)
class OutcomeTotals:
    """One experiment variant's outcomes: messages with at least one outcome, their revenue, the sum over
    messages of (revenue per message in nano-dollars)², and replies (``messages_replied``: messages with
    at least one reply, the numerator of a reply rate)."""

    messages_with_outcome: int
    revenue_nanos: int
    revenue_squares: float
    replies: int
    messages_replied: int = 0
