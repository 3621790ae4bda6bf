"""The two request paths and their routes: hybrid (the fallback matrix) and legacy (one provider).

Legacy routes sit in the same routing table under ``legacy:<type>``, so one router, with one set
of circuits, serves both paths and a stored workflow says which one it took.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from shared.routing.candidates import RouteCandidate

RequestPath = Literal["hybrid", "legacy"]


def legacy_routing_table(
    routing_table: Mapping[str, Sequence[RouteCandidate]], provider: str
) -> dict[str, list[RouteCandidate]]:
    """The legacy path: for each campaign type, the one candidate of the legacy provider (no fallback).

    A type with no candidate of that provider keeps its first candidate, still alone.
    """
    return {
        campaign_type: [next((c for c in candidates if c.provider == provider), candidates[0])]
        for campaign_type, candidates in routing_table.items()
    }


LEGACY_PREFIX = "legacy:"


def route_key(path: str, campaign_type: str) -> str:
    """The routing-table key of a campaign type on a path (legacy routes live beside the hybrid ones)."""
    return campaign_type if path == "hybrid" else f"{LEGACY_PREFIX}{campaign_type}"


def with_legacy_routes(
    routing_table: Mapping[str, Sequence[RouteCandidate]], provider: str
) -> dict[str, list[RouteCandidate]]:
    """The hybrid routes plus, under ``legacy:<type>``, the legacy path's single candidates."""
    legacy = legacy_routing_table(routing_table, provider)
    return {**{k: list(v) for k, v in routing_table.items()}, **{route_key("legacy", k): v for k, v in legacy.items()}}
