"""The experiment use cases: start, list, read with results, stop, promote (admins only; the views check).

A new experiment is validated like the configured routing table (every candidate priced, every Azure
deployment mapped: :func:`shared.routing.candidates.unpriced_candidates`) and like a split of users
(one share per variant, summing to 100). Promoting writes the winner's route as the type's routing
override through the same audited change the optimizer makes (a :class:`RouteChange` whose ``by`` names
the experiment), in the one transaction that ends the experiment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.core.errors import (
    ExperimentConflictError,
    ExperimentInputError,
    ExperimentNotFoundError,
    RoutingConflictError,
)
from shared.core.observability import logger
from shared.core.pricing import PriceTable
from shared.experiments.model import (
    DEFAULT_PLANNED_EFFECT,
    MAX_VARIANTS,
    Experiment,
    Variant,
    new_experiment_id,
    running_from_item,
    running_item,
)
from shared.experiments.results import ExperimentResults, ResultsReader
from shared.experiments.store import ExperimentPage, ExperimentStore, ExperimentWrite, Promotion
from shared.routing.candidates import RouteCandidate, unpriced_candidates
from shared.routing.overrides import Route, RouteChange, RoutingOverrides, new_change_id

_WRITE_TRIES = 3  # a version conflict is re-read and retried: another type's change is no reason to fail


@dataclass(frozen=True)
class ExperimentPlan:
    """What an admin asks to run."""

    name: str
    campaign_type: str
    variants: Sequence[Variant]
    split: Sequence[int]
    ends_at: float | None = None
    planned_effect: float = DEFAULT_PLANNED_EFFECT
    recommendation_id: str | None = None


class RecommendedRoute(Protocol):
    """The part of an optimizer recommendation an experiment is made of."""

    recommendation_id: str
    campaign_type: str
    summary: str
    current_route: Route
    proposed_route: Route


class RecommendationSource(Protocol):
    """The optimizer's current recommendations (404 unknown, 409 no longer current)."""

    def current_recommendation(self, recommendation_id: str, today: date) -> RecommendedRoute: ...


class ExperimentService:
    """Experiments over the costs table and the routing overrides."""

    def __init__(
        self,
        store: ExperimentStore,
        configured: Mapping[str, Sequence[RouteCandidate]],
        prices: PriceTable,
        results: ResultsReader,
        recommendations: RecommendationSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._recommendations = recommendations
        self._store = store
        self._configured = {kind: tuple(route) for kind, route in configured.items()}
        self._prices = prices
        self._results = results
        self._clock = clock

    def start(self, plan: ExperimentPlan, by: str) -> Experiment:
        """Validate and store a running experiment; 409 naming ``campaignType`` when one runs on the type."""
        self._check(plan)
        now = self._clock()
        experiment = Experiment(
            experiment_id=new_experiment_id(now),
            name=plan.name,
            campaign_type=plan.campaign_type,
            variants=tuple(plan.variants),
            split=tuple(plan.split),
            status="running",
            created_at=now,
            created_by=by,
            planned_effect=plan.planned_effect,
            ends_at=plan.ends_at,
            recommendation_id=plan.recommendation_id,
        )
        for attempt in range(1, _WRITE_TRIES + 1):
            current = self._store.current()
            running = self._running(current, now)
            if plan.campaign_type in running:
                raise ExperimentConflictError(
                    f"Experiment {running[plan.campaign_type]['id']} already runs on {plan.campaign_type}; "
                    "stop or promote it first.",
                    details=[
                        {"field": "campaignType", "message": "one running experiment per type", "type": "conflict"}
                    ],
                )
            running[plan.campaign_type] = running_item(experiment)
            try:
                self._store.write(ExperimentWrite(experiment, running, current.version))
                break
            except RoutingConflictError:
                if attempt == _WRITE_TRIES:
                    raise
        logger.info("experiment started", extra={"experiment_id": experiment.experiment_id, "by": by})
        return experiment

    def start_from_recommendation(self, recommendation_id: str, by: str, today: date) -> Experiment:
        """Try a current recommendation instead of applying it: A the route in force, B the proposed one, 50/50."""
        assert self._recommendations is not None, "wired with the optimizer"
        rec = self._recommendations.current_recommendation(recommendation_id, today)
        plan = ExperimentPlan(
            name=f"{rec.recommendation_id}: {rec.summary}"[:100],
            campaign_type=rec.campaign_type,
            variants=[Variant("A", tuple(rec.current_route)), Variant("B", tuple(rec.proposed_route))],
            split=[50, 50],
            recommendation_id=rec.recommendation_id,
        )
        return self.start(plan, by)

    def page(self, limit: int, after: str | None) -> ExperimentPage:
        """Newest first."""
        return self._store.page(limit, after)

    def get(self, experiment_id: str) -> Experiment:
        """One experiment, or a 404."""
        experiment = self._store.get(experiment_id)
        if experiment is None:
            raise ExperimentNotFoundError(f"No experiment {experiment_id}.")
        return experiment

    def results(self, experiment: Experiment) -> ExperimentResults:
        """Per-variant figures from the ledger and the outcomes, and the comparison."""
        return self._results.results(experiment, self._clock())

    def stop(self, experiment_id: str, by: str) -> Experiment:
        """End a running experiment: every user is back on the type's route in force."""
        return self._end(experiment_id, by, None)[0]

    def promote(self, experiment_id: str, variant_name: str, by: str) -> tuple[Experiment, RouteChange]:
        """End the experiment and make the variant's route the type's route (an audited routing change)."""
        experiment = self.get(experiment_id)
        if experiment.variant(variant_name) is None:
            names = ", ".join(v.name for v in experiment.variants)
            raise ExperimentInputError(
                f"Experiment {experiment_id} has no variant {variant_name!r}.",
                details=[{"field": "variant", "message": f"one of {names}", "type": "value_error"}],
            )
        ended, change = self._end(experiment_id, by, variant_name)
        assert change is not None
        return ended, change

    def _end(self, experiment_id: str, by: str, winner: str | None) -> tuple[Experiment, RouteChange | None]:
        for attempt in range(1, _WRITE_TRIES + 1):
            experiment = self.get(experiment_id)
            if experiment.status != "running":
                raise ExperimentConflictError(f"Experiment {experiment_id} is {experiment.status} already.")
            current = self._store.current()
            now = self._clock()
            running = self._running(current, now, keep_ended=True)
            if running.get(experiment.campaign_type, {}).get("id") == experiment_id:
                del running[experiment.campaign_type]
            promotion = None
            if winner is None:
                ended = experiment.ended("stopped", now, by)
            else:
                promotion = self._promotion(current, experiment, winner, by, now)
                ended = experiment.ended(
                    "promoted", now, by, promoted_variant=winner, change_id=promotion.change.change_id
                )
            try:
                self._store.write(ExperimentWrite(ended, running, current.version, promotion))
            except RoutingConflictError:
                if attempt == _WRITE_TRIES:
                    raise
                continue
            logger.info("experiment ended", extra={"experiment_id": experiment_id, "status": ended.status, "by": by})
            return ended, promotion.change if promotion else None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _promotion(
        self, current: RoutingOverrides, experiment: Experiment, winner: str, by: str, now: float
    ) -> Promotion:
        """The routing change a promotion makes, as the optimizer records one (before/after, overridden)."""
        kind = experiment.campaign_type
        variant = experiment.variant(winner)
        assert variant is not None
        self._check_route(kind, variant.route)
        routes = dict(current.routes)
        if variant.route == self._configured.get(kind):
            routes.pop(kind, None)
        else:
            routes[kind] = variant.route
        change = RouteChange(
            change_id=new_change_id(now),
            kind="apply",
            campaign_type=kind,
            before=current.routes.get(kind) or self._configured[kind],
            after=variant.route,
            before_overridden=kind in current.routes,
            after_overridden=kind in routes,
            by=f"{by} (experiment {experiment.experiment_id}, variant {winner})",
            at=now,
        )
        return Promotion(change, routes)

    def _running(self, current: RoutingOverrides, now: float, keep_ended: bool = False) -> dict[str, dict]:
        """The running experiments' entries; ones past their end make room for a new one (unless kept)."""
        return {
            kind: dict(raw)
            for kind, raw in current.experiments.items()
            if keep_ended or running_from_item(raw).live_at(now)
        }

    def _check(self, plan: ExperimentPlan) -> None:
        """Every problem of the plan at once, each naming its field (422)."""
        problems: list[dict[str, str]] = []
        if plan.campaign_type not in self._configured:
            problems.append(_problem("campaignType", f"{plan.campaign_type} is not a configured campaign type"))
        if not 2 <= len(plan.variants) <= MAX_VARIANTS:
            problems.append(_problem("variants", f"2 to {MAX_VARIANTS} variants"))
        seen: set[str] = set()
        for index, variant in enumerate(plan.variants):
            if variant.name in seen:
                problems.append(_problem(f"variants[{index}].name", f"{variant.name!r} is used by another variant"))
            seen.add(variant.name)
            for unpriced in unpriced_candidates({variant.name: variant.route}, self._prices):
                problems.append(
                    _problem(f"variants[{index}].route", f"{unpriced.candidate.circuit_name}: {unpriced.error}")
                )
        if len(plan.split) != len(plan.variants):
            problems.append(_problem("split", "one share per variant"))
        elif sum(plan.split) != 100 or any(share < 0 for share in plan.split):
            problems.append(_problem("split", "shares of 0-100 that sum to 100"))
        if plan.ends_at is not None and plan.ends_at <= self._clock():
            problems.append(_problem("endsAt", "must be in the future"))
        if problems:
            raise ExperimentInputError("The experiment is not valid.", details=problems)

    def _check_route(self, campaign_type: str, route: Route) -> None:
        unpriced = unpriced_candidates({campaign_type: route}, self._prices)
        if unpriced:
            raise RoutingConflictError(f"{unpriced[0].candidate.circuit_name} is not routable now: {unpriced[0].error}")


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message, "type": "value_error"}
