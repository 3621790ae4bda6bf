"""A route's candidates as the optimization and experiment routes show them (one view, one conversion)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from shared.routing.candidates import RouteCandidate


class CandidateView(BaseModel):
    """One candidate of a route: provider and OpenAI model or Azure deployment."""

    provider: str
    model: str


def candidate_views(route: Iterable[RouteCandidate]) -> list[CandidateView]:
    """A route's candidates, in order."""
    return [CandidateView(provider=c.provider, model=c.model) for c in route]
