"""The cost optimizer: recommendations over the routes in force, the plan, and audited, reversible changes.

Applying a recommendation writes a routing override (shared.routing.overrides) that the
router reads on the next request; reverting a change restores the route it replaced. Only hybrid
routes change: the legacy path (``legacy:<type>``) is the rollback path and stays as configured.
Every change is validated like the configured table (Settings._check_routing): each candidate
priced, each Azure deployment mapped to a base model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.core.errors import (
    RecommendationNotFoundError,
    RouteChangeNotFoundError,
    RoutingConflictError,
    StaleRecommendationError,
)
from shared.core.observability import logger
from shared.core.pricing import PriceTable
from shared.ledger.store import CostStore
from shared.optimization.optimizer import (
    Budget,
    OptimizationPlan,
    OptimizationPolicy,
    Recommendation,
    Traffic,
    Window,
    build_plan,
    read_traffic,
    recommend,
    window_spend,
)
from shared.routing.candidates import RouteCandidate, unpriced_candidates
from shared.routing.overrides import (
    ChangeKind,
    Route,
    RouteChange,
    RoutingOverrides,
    RoutingOverrideStore,
    new_change_id,
)

# How far back the audit log is searched for an applied recommendation (a 409 rather than a 404).
APPLIED_LOOKBACK = 100


@dataclass(frozen=True)
class RouteInForce:
    """A campaign type's hybrid route now, and whether an applied override set it."""

    campaign_type: str
    route: Route
    overridden: bool


@dataclass(frozen=True)
class Recommendations:
    """What ``GET /api/v2/costs/optimization`` shows."""

    recommendations: list[Recommendation]
    routes: list[RouteInForce]
    window: Window


class CostOptimizer:
    """Reads the ledger's counters and the overrides; writes overrides and their audit log."""

    def __init__(
        self,
        costs: CostStore,
        overrides: RoutingOverrideStore,
        configured: Mapping[str, Sequence[RouteCandidate]],
        prices: PriceTable,
        policy: OptimizationPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._costs = costs
        self._overrides = overrides
        self._configured = {kind: tuple(route) for kind, route in configured.items()}
        self._prices = prices
        self._policy = policy
        self._clock = clock

    def recommendations(self, today: date) -> Recommendations:
        """One GetItem (overrides) and one Query (30 days of type x model counters)."""
        overrides = self._overrides.current()
        window = Window.ending(today)
        traffic = read_traffic(self._costs, window)
        routes = self._in_force(overrides)
        recs = recommend(traffic, routes, self._prices, self._policy, window)
        in_force = [RouteInForce(kind, route, kind in overrides.routes) for kind, route in routes.items()]
        return Recommendations(recs, in_force, window)

    def plan(self, today: date, budgets: Sequence[Budget]) -> OptimizationPlan:
        """The engine's plan given the monthly budgets; reads only."""
        window = Window.ending(today)
        traffic = read_traffic(self._costs, window)
        recs = recommend(traffic, self._in_force(self._overrides.current()), self._prices, self._policy, window)
        return build_plan(recs, window_spend(traffic), budgets, window)

    def apply(self, recommendation_id: str, by: str, today: date) -> RouteChange:
        """Make a current recommendation's proposed route the one in force for its campaign type."""
        overrides = self._overrides.current()
        rec = self._current_recommendation(overrides, recommendation_id, today)
        self._check_route(rec.campaign_type, rec.proposed_route)
        return self._commit(overrides, rec.campaign_type, rec.proposed_route, by, "apply", recommendation_id)

    def current_recommendation(self, recommendation_id: str, today: date) -> Recommendation:
        """A recommendation that is current now (404 unknown, 409 no longer current): what an experiment tries."""
        return self._current_recommendation(self._overrides.current(), recommendation_id, today)

    def _current_recommendation(
        self, overrides: RoutingOverrides, recommendation_id: str, today: date
    ) -> Recommendation:
        window = Window.ending(today)
        traffic = read_traffic(self._costs, window)
        current = recommend(traffic, self._in_force(overrides), self._prices, self._policy, window)
        rec = next((r for r in current if r.recommendation_id == recommendation_id), None)
        if rec is None:
            raise self._unknown_or_stale(recommendation_id, traffic, window)
        return rec

    def revert(self, change_id: str, by: str) -> RouteChange:
        """Restore the route a change replaced, if that change's route is still the one in force."""
        change = self._overrides.change(change_id)
        if change is None:
            raise RouteChangeNotFoundError(f"No routing change {change_id}.")
        overrides = self._overrides.current()
        now = self._in_force(overrides).get(change.campaign_type)
        if now != change.after:
            raise RoutingConflictError(
                f"{change.campaign_type}'s route is no longer the one {change_id} set: it was reverted already, "
                "or a later change moved it (revert that one first)."
            )
        restore = change.before if change.before_overridden else None
        self._check_route(change.campaign_type, restore or self._configured[change.campaign_type])
        return self._commit(overrides, change.campaign_type, restore, by, "revert", reverts=change_id)

    def changes(self, limit: int) -> list[RouteChange]:
        """The audit log, newest first."""
        return self._overrides.changes(limit)

    def _in_force(self, overrides: RoutingOverrides) -> dict[str, Route]:
        """The hybrid routes as the router serves them: configured, overlaid by the overrides."""
        return {kind: overrides.routes.get(kind) or route for kind, route in self._configured.items()}

    def _commit(
        self,
        overrides: RoutingOverrides,
        campaign_type: str,
        route: Route | None,
        by: str,
        kind: ChangeKind,
        recommendation_id: str | None = None,
        *,
        reverts: str | None = None,
    ) -> RouteChange:
        """Store the new overrides (``route`` None, or the configured route itself: no override) and the audit item."""
        routes = dict(overrides.routes)
        if route is None or route == self._configured.get(campaign_type):
            routes.pop(campaign_type, None)
        else:
            routes[campaign_type] = route
        at = self._clock()
        change = RouteChange(
            change_id=new_change_id(at),
            kind=kind,
            campaign_type=campaign_type,
            before=self._in_force(overrides)[campaign_type],
            after=routes.get(campaign_type) or self._configured[campaign_type],
            before_overridden=campaign_type in overrides.routes,
            after_overridden=campaign_type in routes,
            by=by,
            at=at,
            recommendation_id=recommendation_id,
            reverts=reverts,
        )
        self._overrides.commit(change, routes, overrides.version)
        logger.info(
            "routing changed",
            extra={
                "change_id": change.change_id,
                "kind": change.kind,
                "campaign_type": campaign_type,
                "before": [c.circuit_name for c in change.before],
                "after": [c.circuit_name for c in change.after],
                "by": by,
            },
        )
        return change

    def _check_route(self, campaign_type: str, route: Route) -> None:
        """Like Settings._check_routing, plus prices: a route of priced candidates and mapped deployments."""
        if campaign_type not in self._configured:
            raise RoutingConflictError(f"{campaign_type} is not a configured campaign type.")
        if not route:
            raise RoutingConflictError(f"The route for {campaign_type} would have no candidates.")
        unpriced = unpriced_candidates({campaign_type: route}, self._prices)
        if unpriced:
            name, error = unpriced[0].candidate.circuit_name, unpriced[0].error
            raise RoutingConflictError(f"{name} is not routable now: {error}") from error

    def _unknown_or_stale(self, recommendation_id: str, traffic: Traffic, window: Window) -> Exception:
        """409 when the id was real (applied already, or made for the configured routes), else 404."""
        at_configured = recommend(traffic, self._configured, self._prices, self._policy, window)
        applied = any(c.recommendation_id == recommendation_id for c in self._overrides.changes(APPLIED_LOOKBACK))
        if applied or any(r.recommendation_id == recommendation_id for r in at_configured):
            return StaleRecommendationError(
                f"Recommendation {recommendation_id} is no longer current: its route has changed since. "
                "List the recommendations again."
            )
        return RecommendationNotFoundError(f"No current recommendation {recommendation_id}.")
