"""A routing experiment: variants (each a route), the split of users between them, and how it ended.

Stored twice (shared/experiments/store.py): the whole record for the admin routes, and, while it runs,
the part the request path needs (id, variants' routes, split, end) in the routing overrides' current item.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared.routing.overrides import Route, route_from_item, route_item

ExperimentStatus = Literal["running", "stopped", "promoted"]
MAX_VARIANTS = 5
DEFAULT_PLANNED_EFFECT = 0.10  # a 10 % relative difference in cost per call is what the sample size aims at


@dataclass(frozen=True)
class Variant:
    """One arm: a name and the route its users take."""

    name: str
    route: Route


@dataclass(frozen=True)
class Experiment:
    """One experiment on one campaign type; ``split`` gives each variant's share of users, in percent."""

    experiment_id: str
    name: str
    campaign_type: str
    variants: tuple[Variant, ...]
    split: tuple[int, ...]
    status: ExperimentStatus
    created_at: float
    created_by: str
    planned_effect: float = DEFAULT_PLANNED_EFFECT
    ends_at: float | None = None
    ended_at: float | None = None
    ended_by: str | None = None
    promoted_variant: str | None = None
    change_id: str | None = None  # the routing change a promotion made
    recommendation_id: str | None = None  # the optimizer's recommendation it was started from

    def status_at(self, now: float) -> ExperimentStatus:
        """Running until stopped, promoted or past ``ends_at`` (which counts as stopped)."""
        if self.status == "running" and self.ends_at is not None and now >= self.ends_at:
            return "stopped"
        return self.status

    def variant(self, name: str) -> Variant | None:
        """The variant of that name, if any."""
        return next((v for v in self.variants if v.name == name), None)

    def ended(self, status: ExperimentStatus, at: float, by: str, **changes: Any) -> Experiment:
        """The same experiment, ended."""
        return replace(self, status=status, ended_at=at, ended_by=by, **changes)


def new_experiment_id(at: float) -> str:
    """``exp_<ms since epoch, 13 digits><8 hex>``: sorts by creation time."""
    return f"exp_{int(at * 1000):013d}{uuid.uuid4().hex[:8]}"


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _s(ms: Any) -> float | None:
    return None if ms is None else int(ms) / 1000


def _variants_item(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    return [{"name": v.name, "route": route_item(v.route)} for v in variants]


def _variants_from(raw: Sequence[Mapping[str, Any]]) -> tuple[Variant, ...]:
    return tuple(Variant(str(v["name"]), route_from_item(v["route"])) for v in raw)


def experiment_item(experiment: Experiment) -> dict[str, Any]:
    """The record's attributes (None-valued ones are left out when serialized)."""
    return {
        "experimentId": experiment.experiment_id,
        "name": experiment.name,
        "campaignType": experiment.campaign_type,
        "variants": _variants_item(experiment.variants),
        "split": list(experiment.split),
        "status": experiment.status,
        "createdAtMs": _ms(experiment.created_at),
        "createdBy": experiment.created_by,
        # DynamoDB numbers come back as integers here (shared.core.dynamo): the effect is kept in basis points.
        "plannedEffectBp": round(experiment.planned_effect * 10_000),
        "endsAtMs": _ms(experiment.ends_at),
        "endedAtMs": _ms(experiment.ended_at),
        "endedBy": experiment.ended_by,
        "promotedVariant": experiment.promoted_variant,
        "changeId": experiment.change_id,
        "recommendationId": experiment.recommendation_id,
    }


def experiment_from_item(item: Mapping[str, Any]) -> Experiment:
    """The experiment a record holds."""
    return Experiment(
        experiment_id=str(item["experimentId"]),
        name=str(item["name"]),
        campaign_type=str(item["campaignType"]),
        variants=_variants_from(item["variants"]),
        split=tuple(int(share) for share in item["split"]),
        status=item["status"],
        created_at=int(item["createdAtMs"]) / 1000,
        created_by=str(item["createdBy"]),
        planned_effect=int(item.get("plannedEffectBp", 1000)) / 10_000,
        ends_at=_s(item.get("endsAtMs")),
        ended_at=_s(item.get("endedAtMs")),
        ended_by=item.get("endedBy"),
        promoted_variant=item.get("promotedVariant"),
        change_id=item.get("changeId"),
        recommendation_id=item.get("recommendationId"),
    )


@dataclass(frozen=True)
class RunningExperiment:
    """What the request path reads of a running experiment, from the routing overrides' current item."""

    experiment_id: str
    variants: tuple[Variant, ...]
    split: tuple[int, ...]
    ends_at: float | None

    def live_at(self, now: float) -> bool:
        """Still assigning users (not past its end)."""
        return self.ends_at is None or now < self.ends_at


def running_item(experiment: Experiment) -> dict[str, Any]:
    """The entry of ``experiments`` in the overrides' current item."""
    return {
        "id": experiment.experiment_id,
        "variants": _variants_item(experiment.variants),
        "split": list(experiment.split),
        "endsAtMs": _ms(experiment.ends_at),
    }


def running_from_item(raw: Mapping[str, Any]) -> RunningExperiment:
    """The running experiment an entry of ``experiments`` holds."""
    return RunningExperiment(
        experiment_id=str(raw["id"]),
        variants=_variants_from(raw["variants"]),
        split=tuple(int(share) for share in raw["split"]),
        ends_at=_s(raw.get("endsAtMs")),
    )
