"""Response headers saying how a request was served, on successes and on routing failures alike."""

from __future__ import annotations

from shared.routing.types import RoutingOutcome


def routing_headers(outcome: RoutingOutcome, overhead_ms: float | None = None) -> dict[str, str]:
    """Attempts, fallbacks and our own overhead (the router's, when the whole request's is unknown)."""
    overhead = outcome.overhead_ms if overhead_ms is None else overhead_ms
    return {
        "X-Orchestrator-Attempts": str(len(outcome.attempts)),
        "X-Orchestrator-Fallbacks": str(len(outcome.fallback_reasons)),
        "X-Orchestrator-Overhead-Ms": f"{overhead:.2f}",
    }
