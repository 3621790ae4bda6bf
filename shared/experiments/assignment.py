"""Which route a request takes: a running experiment's variant for its user, else the route in force.

Assignment is stable per user and independent across experiments: ``sha256(experiment_id + ":" + user_id)``
into 0..99, against the split's cumulative shares (50/50: buckets 0-49 take A, 50-99 B). It is decided
where the route is read, from the same read of the routing overrides' current item (the running
experiments sit beside the routes there), so an experiment costs the request path no extra read. Only
campaign types are in experiments: the legacy path (``legacy:<type>``) and the budget's downgrade route
ignore them, as they ignore the overrides.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.experiments.model import RunningExperiment, Variant, running_from_item
from shared.routing.candidates import RouteCandidate
from shared.routing.overrides import RoutingOverrides


def assignment_bucket(experiment_id: str, user_id: str) -> int:
    """A user's stable 0..99 bucket in one experiment."""
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def assigned_variant(variants: Sequence[Variant], split: Sequence[int], bucket: int) -> Variant:
    """The variant whose cumulative share first exceeds ``bucket`` (the split sums to 100)."""
    cumulative = 0
    for variant, share in zip(variants, split, strict=True):
        cumulative += share
        if bucket < cumulative:
            return variant
    return variants[-1]


@dataclass(frozen=True)
class RouteChoice:
    """The route a request takes, and the experiment and variant it came from (None: no experiment)."""

    candidates: Sequence[RouteCandidate]
    experiment: str | None = None
    variant: str | None = None


class CandidateSource(Protocol):
    """The router's route lookup, given the overrides already read."""

    def candidates(
        self, campaign_type: str, overrides: Mapping[str, Sequence[RouteCandidate]] | None = None
    ) -> Sequence[RouteCandidate]: ...


class OverridesSource(Protocol):
    """The routing overrides' current item, as the container last read it."""

    def current(self) -> RoutingOverrides: ...


class RouteChooser:
    """Picks each request's route: one read of the overrides item covers the routes and the experiments."""

    def __init__(
        self, router: CandidateSource, overrides: OverridesSource, clock: Callable[[], float] = time.time
    ) -> None:
        self._router = router
        self._overrides = overrides
        self._clock = clock

    def choose(self, route: str, user_id: str) -> RouteChoice:
        """The variant's route when a live experiment runs on this campaign type, else the route in force."""
        current = self._overrides.current()
        raw = current.experiments.get(route) if ":" not in route else None
        running: RunningExperiment | None = running_from_item(raw) if raw else None
        if running is not None and running.live_at(self._clock()):
            variant = assigned_variant(
                running.variants, running.split, assignment_bucket(running.experiment_id, user_id)
            )
            return RouteChoice(variant.route, running.experiment_id, variant.name)
        return RouteChoice(self._router.candidates(route, current.routes))
