"""Per-campaign spend over a range of UTC days, from the ``campaign_provider`` counters.

A campaign is one workflow (its id). Each counter item is one campaign's calls to one provider on
one day, so a user's (or a tenant's) single ``pk = AGG#<scope>#campaign_provider AND sk BETWEEN
DAY#<from> AND DAY#<to>$`` Query gives every campaign's spend, tokens, calls, fallbacks and provider
split at once: the number of requests never grows with the number of campaigns or calls (DynamoDB
pages past 1 MB). Everyone's (admins) is one Query of the range's users, then one per user
(:func:`shared.ledger.ledger.counter_items`): bounded by users, never by calls.

Cost per generated message: every recorded call is a billed call, and providers report usage
only with a successful answer (status ``ok``), which is one generated message — a ``fan_messages``
campaign makes one call per fan, the other types one per campaign. So messages = calls recorded,
and cost per message = spend / calls. A billed call that failed (none today) would count as a
message too; the ledger's counters do not split by status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from shared.ledger.keys import Scope, split_sort_key
from shared.ledger.ledger import counter_items
from shared.ledger.store import CostStore, Counters

CampaignSort = Literal["spend", "calls", "tokens", "costPerMessage", "fallbackShare"]
SortOrder = Literal["asc", "desc"]
DIMENSION = "campaign_provider"


@dataclass(frozen=True)
class CampaignCosts:
    """One campaign's counters over the range, in total and per provider."""

    campaign_id: str
    by_provider: dict[str, Counters] = field(default_factory=dict)

    @property
    def total(self) -> Counters:
        """Every provider's counters added (each call counts under exactly one provider)."""
        return sum(self.by_provider.values(), Counters())

    @property
    def messages(self) -> int:
        """Generated messages: one per recorded call (see the module docstring)."""
        return self.total.requests

    @property
    def cost_per_message_micros(self) -> float:
        """Spend per generated message, in (fractional) micro-dollars."""
        return self.total.micros / self.messages if self.messages else 0.0

    @property
    def fallback_share(self) -> float:
        """Share of calls a fallback candidate served, 0..1."""
        total = self.total
        return total.fallbacks / total.requests if total.requests else 0.0


SORT_KEYS: dict[str, Callable[[CampaignCosts], float]] = {
    "spend": lambda c: c.total.micros,
    "calls": lambda c: c.total.requests,
    "tokens": lambda c: c.total.tokens_total,
    "costPerMessage": lambda c: c.cost_per_message_micros,
    "fallbackShare": lambda c: c.fallback_share,
}


def campaign_costs(store: CostStore, scope: Scope, start: date, end: date) -> list[CampaignCosts]:
    """Every campaign with recorded spend from ``start`` to ``end`` (inclusive), by campaign id."""
    items = counter_items(store, scope, DIMENSION, start, end)
    campaigns: dict[str, dict[str, Counters]] = {}
    for item in items:
        campaign_id, _, provider = split_sort_key(item["sk"])[1].rpartition("#")  # provider names hold no "#"
        providers = campaigns.setdefault(campaign_id, {})
        providers[provider] = providers.get(provider, Counters()) + Counters.from_item(item)
    return [CampaignCosts(campaign_id, providers) for campaign_id, providers in sorted(campaigns.items())]


def sort_campaigns(campaigns: list[CampaignCosts], sort_by: CampaignSort, order: SortOrder) -> list[CampaignCosts]:
    """Sorted by one measure; ties by campaign id (ascending either way), so pages are stable."""
    key = SORT_KEYS[sort_by]
    sign = -1 if order == "desc" else 1
    return sorted(campaigns, key=lambda c: (sign * key(c), c.campaign_id))
