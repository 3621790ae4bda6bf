"""The routing table's vocabulary: campaign types, providers, and one candidate of the fallback matrix.

The defaults live here, beside the type they are made of; configuration may replace them
(``ROUTING_TABLE``, ``AZURE_DEPLOYMENTS``) but never defines what a candidate is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.core.pricing import PriceTable, UnpricedModelError

ProviderName = Literal["azure", "openai"]
CampaignType = Literal["content_planning", "message_generation", "fan_messages", "caption"]


class RouteCandidate(BaseModel):
    """One entry of the fallback matrix: a provider and the model (OpenAI) or deployment (Azure)."""

    provider: ProviderName
    model: Annotated[str, Field(min_length=1, description="OpenAI model name or Azure deployment name")]

    @property
    def circuit_name(self) -> str:
        """Name of the circuit breaker guarding this (provider, deployment)."""
        return f"{self.provider}:{self.model}"


DEFAULT_ROUTING_TABLE: dict[str, list[RouteCandidate]] = {
    "content_planning": [
        RouteCandidate(provider="azure", model="planner-gpt-4o"),
        RouteCandidate(provider="openai", model="gpt-4o"),
    ],
    "message_generation": [
        RouteCandidate(provider="openai", model="gpt-4o-mini"),
        RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),
    ],
    "fan_messages": [
        RouteCandidate(provider="openai", model="gpt-4o-mini"),
        RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),
    ],
    "caption": [
        RouteCandidate(provider="openai", model="gpt-4o-mini"),
        RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),
    ],
}

# Azure reports whatever model name the deployment was created from (and sometimes a version
# suffix); pricing must never depend on that, so each deployment names its priced base model.
DEFAULT_AZURE_DEPLOYMENTS: dict[str, str] = {
    "planner-gpt-4o": "gpt-4o",
    "chat-gpt-4o-mini": "gpt-4o-mini",
}


@dataclass(frozen=True)
class UnpricedCandidate:
    """A candidate the router would skip: no price for its model, or an Azure deployment mapped to none."""

    route: str
    candidate: RouteCandidate
    error: UnpricedModelError


def unpriced_candidates(
    routing_table: Mapping[str, Sequence[RouteCandidate]], prices: PriceTable
) -> list[UnpricedCandidate]:
    """Every candidate of the table the price table cannot price, route by route (empty when all are routable)."""
    unpriced = []
    for route, candidates in routing_table.items():
        for candidate in candidates:
            try:
                prices.priced_model(candidate.provider, candidate.model)
            except UnpricedModelError as exc:
                unpriced.append(UnpricedCandidate(route, candidate, exc))
    return unpriced
