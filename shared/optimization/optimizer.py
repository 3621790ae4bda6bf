"""Cost recommendations and the engine's plan, computed from the last 30 days of type x model counters.

Every amount is integer micro-dollars priced with :meth:`PriceTable.cost` from exact token sums,
cached input tokens at the cached price (Tin includes Tcached, which is assumed to stay cached on the
other candidate: the same prompts share the same prefixes), computed in exact nano-dollars and rounded
once per figure. The window is the 30 UTC days ending today, today included; a 30-day
window is a 30-day month, so its figures are the monthly ones as they stand (no extrapolation):

- model downgrade (type T ran on candidate C whose base model M has a cheaper equivalent M' listed in
  ``data/model_downgrades.json`` for T):
  ``saving = cost(Tin, Tout at M) - cost(Tin, Tout at M')`` with Tin/Tout the window's tokens of T on C;
  proposed only when positive. The proposed route puts C' (same provider, M') where C was.
- fallback order (T's fallback share ``fallbacks / calls`` above the threshold, with enough calls):
  ``saving = cost(Tin, Tout at the first candidate) - cost(Tin, Tout at the second)`` with Tin/Tout all
  of T's window tokens: what swapping the two would change if every call went to the new first
  candidate. It may be negative (the swap costs more); the summary says so.
- plan: positive savings only, the best one per campaign type (two changes of one route cannot both
  start from the route they were computed on), largest first; ``after = before - sum(savings)``
  where ``before`` is the window's recorded spend; greedily the fewest steps that bring ``after``
  under the lowest monthly budget (all of them if it stays over).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from shared.core.data import DATA_DIR
from shared.core.pricing import PriceTable, UnpricedModelError, format_usd, nanos_to_micros
from shared.ledger.keys import EVERYONE, aggregate_pk, day_period, period_bounds, split_sort_key
from shared.ledger.store import CostStore, Counters
from shared.routing.candidates import RouteCandidate
from shared.routing.overrides import Route

WINDOW_DAYS = 30
DEFAULT_DOWNGRADES_FILE = DATA_DIR / "model_downgrades.json"
RecommendationKind = Literal["model_downgrade", "fallback_order"]
Target = tuple[str, str]  # (provider, model or Azure deployment)
Traffic = dict[str, dict[Target, Counters]]  # campaign type → what it ran on → the window's counters


@dataclass(frozen=True)
class Window:
    """The UTC days the figures cover, both included."""

    first: date
    last: date

    @classmethod
    def ending(cls, today: date) -> Window:
        """The 30 days ending ``today``."""
        return cls(today - timedelta(days=WINDOW_DAYS - 1), today)


@dataclass(frozen=True)
class OptimizationPolicy:
    """What makes a recommendation: the explicit downgrade pairs and the fallback-share rule."""

    downgrades: Mapping[str, Mapping[str, str]]
    azure_deployments: Mapping[str, str]
    fallback_share: Decimal
    min_calls: int


@dataclass(frozen=True)
class Evidence:
    """The window's figures a recommendation stands on."""

    calls: int
    fallbacks: int
    tokens_in: int
    tokens_out: int
    spend_micros: int
    window: Window


@dataclass(frozen=True)
class Recommendation:
    """One proposed route change and what it would save a month (negative: cost more)."""

    recommendation_id: str
    kind: RecommendationKind
    campaign_type: str
    current_route: Route
    proposed_route: Route
    saving_micros: int
    summary: str
    evidence: Evidence


@dataclass(frozen=True)
class Budget:
    """A monthly budget the plan is measured against: the settings' threshold, or a stored one."""

    source: str
    micros: int


@dataclass(frozen=True)
class OptimizationPlan:
    """The steps the engine would apply, and the month's projected spend before and after."""

    steps: tuple[Recommendation, ...]
    spend_before_micros: int
    budgets: tuple[Budget, ...]
    needed: tuple[Recommendation, ...]
    window: Window

    @property
    def spend_after_micros(self) -> int:
        """Projected spend with every step applied."""
        return self.spend_before_micros - sum(step.saving_micros for step in self.steps)

    @property
    def budget_micros(self) -> int | None:
        """The binding (lowest) monthly budget."""
        return min((b.micros for b in self.budgets), default=None)

    @property
    def spend_after_needed_micros(self) -> int:
        """Projected spend with only the needed steps applied."""
        return self.spend_before_micros - sum(step.saving_micros for step in self.needed)


def load_downgrades(path: Path = DEFAULT_DOWNGRADES_FILE) -> dict[str, dict[str, str]]:
    """The shipped equivalent-tier pairs, by campaign type."""
    raw = json.loads(path.read_text())
    raw.pop("_comment", None)
    return {campaign_type: dict(pairs) for campaign_type, pairs in raw.items()}


def read_traffic(store: CostStore, window: Window) -> Traffic:
    """One Query of the ``type_model`` day counters over the window, summed per (type, provider, deployment)."""
    bounds = period_bounds(day_period(window.first), day_period(window.last))
    traffic: Traffic = {}
    for item in store.query(aggregate_pk(EVERYONE, "type_model"), *bounds):
        campaign_type, provider, deployment, _ = split_sort_key(item["sk"])[1].split("#", 3)  # then the model
        served = traffic.setdefault(campaign_type, {})
        served[(provider, deployment)] = served.get((provider, deployment), Counters()) + Counters.from_item(item)
    return traffic


def recommend(
    traffic: Traffic,
    routes: Mapping[str, Route],
    prices: PriceTable,
    policy: OptimizationPolicy,
    window: Window,
) -> list[Recommendation]:
    """Every recommendation for the routes in force, largest saving first."""
    found: list[Recommendation] = []
    for campaign_type, route in routes.items():
        served = traffic.get(campaign_type, {})
        for target, counters in served.items():
            downgrade = _downgrade(campaign_type, route, target, counters, prices, policy, window)
            if downgrade:
                found.append(downgrade)
        fallback = _fallback_order(campaign_type, route, served, prices, policy, window)
        if fallback:
            found.append(fallback)
    return sorted(found, key=lambda r: (-r.saving_micros, r.recommendation_id))


def build_plan(
    recommendations: Iterable[Recommendation], spend_before_micros: int, budgets: Sequence[Budget], window: Window
) -> OptimizationPlan:
    """The best positive step per campaign type, largest first, and the greedy prefix the budget needs."""
    best: dict[str, Recommendation] = {}
    for rec in recommendations:
        kept = best.get(rec.campaign_type)
        if rec.saving_micros > 0 and (kept is None or rec.saving_micros > kept.saving_micros):
            best[rec.campaign_type] = rec
    steps = tuple(sorted(best.values(), key=lambda r: (-r.saving_micros, r.recommendation_id)))
    budget = min((b.micros for b in budgets), default=None)
    needed: list[Recommendation] = []
    projected = spend_before_micros
    for step in steps:
        if budget is None or projected <= budget:
            break
        needed.append(step)
        projected -= step.saving_micros
    return OptimizationPlan(steps, spend_before_micros, tuple(budgets), tuple(needed), window)


def window_spend(traffic: Traffic) -> int:
    """Everything the window recorded, all types and models."""
    return nanos_to_micros(sum(c.nanos for served in traffic.values() for c in served.values()))


def _downgrade(
    campaign_type: str,
    route: Route,
    target: Target,
    counters: Counters,
    prices: PriceTable,
    policy: OptimizationPolicy,
    window: Window,
) -> Recommendation | None:
    provider, deployment = target
    position = next((i for i, c in enumerate(route) if (c.provider, c.model) == target), None)
    if position is None:
        return None  # traffic from a candidate no longer routed: nothing to change
    try:
        base = prices.priced_model(provider, deployment)
    except UnpricedModelError:
        return None
    cheaper_base = policy.downgrades.get(campaign_type, {}).get(base)
    cheaper = _deployment_of(provider, cheaper_base, policy.azure_deployments) if cheaper_base else None
    if cheaper is None:
        return None
    try:
        proposed_cost = _window_cost(prices, provider, cheaper, counters)
    except UnpricedModelError:
        return None
    saving = nanos_to_micros(_window_cost(prices, provider, deployment, counters) - proposed_cost)
    if saving <= 0:
        return None
    replacement = RouteCandidate(provider=provider, model=cheaper)
    proposed = [*route[:position], replacement, *route[position + 1 :]]
    proposed_route = tuple(c for i, c in enumerate(proposed) if c not in proposed[:i])  # no candidate twice
    monthly = format_usd(saving, cents_from_a_dollar=True)
    summary = (
        f"{campaign_type} on {_label(target)} -> {cheaper}: -{monthly}/month at this volume "
        f"({counters.requests} calls, {counters.tokens_total} tokens in {WINDOW_DAYS} days)"
    )
    evidence = Evidence(
        counters.requests, counters.fallbacks, counters.tokens_in, counters.tokens_out, counters.micros, window
    )
    return _recommendation("model_downgrade", campaign_type, route, proposed_route, saving, summary, evidence)


def _fallback_order(
    campaign_type: str,
    route: Route,
    served: Mapping[Target, Counters],
    prices: PriceTable,
    policy: OptimizationPolicy,
    window: Window,
) -> Recommendation | None:
    total = sum(served.values(), Counters())
    if len(route) < 2 or total.requests < policy.min_calls:
        return None
    if Decimal(total.fallbacks) <= policy.fallback_share * total.requests:
        return None
    first, second = route[0], route[1]
    try:
        at_first = _window_cost(prices, first.provider, first.model, total)
        at_second = _window_cost(prices, second.provider, second.model, total)
    except UnpricedModelError:
        return None
    saving = nanos_to_micros(at_first - at_second)
    share = round(100 * total.fallbacks / total.requests)
    monthly = format_usd(abs(saving), cents_from_a_dollar=True)
    effect = f"saves {monthly}/month" if saving >= 0 else f"costs {monthly}/month more"
    # The ledger counts fallbacks, not their causes (timeouts, 5xx, 429s), so the advice names none:
    # raising a timeout helps only timeouts, and would be wrong for a provider answering 500s.
    summary = (
        f"{campaign_type}: {share} % of calls served by the fallback, {first.circuit_name} failing: swap the order "
        f"(swapping {effect} at this volume), or fix what its workflows' fallback reasons name"
    )
    evidence = Evidence(total.requests, total.fallbacks, total.tokens_in, total.tokens_out, total.micros, window)
    proposed = (second, first, *route[2:])
    return _recommendation("fallback_order", campaign_type, route, proposed, saving, summary, evidence)


def _window_cost(prices: PriceTable, provider: str, deployment: str, counters: Counters) -> int:
    """The window's exact token sums priced at one candidate, in nanos; the cached share of the input
    is assumed to stay cached there too (the same prompts, so the same prefixes)."""
    return prices.cost(provider, deployment, counters.tokens_in, counters.tokens_out, counters.cached_tokens).nanos


def _recommendation(
    kind: RecommendationKind,
    campaign_type: str,
    current: Route,
    proposed: Route,
    saving: int,
    summary: str,
    evidence: Evidence,
) -> Recommendation:
    """Its id hashes what it changes (kind, type, route before and after), so it is stable while they are."""
    content = "|".join([kind, campaign_type, _route_text(current), _route_text(proposed)])
    rec_id = "rec_" + hashlib.sha256(content.encode()).hexdigest()[:20]
    return Recommendation(rec_id, kind, campaign_type, tuple(current), tuple(proposed), saving, summary, evidence)


def _deployment_of(provider: str, base_model: str, azure_deployments: Mapping[str, str]) -> str | None:
    """What to call for a base model: the model itself on OpenAI, a deployment mapped to it on Azure."""
    if provider != "azure":
        return base_model
    return next((name for name, base in sorted(azure_deployments.items()) if base == base_model), None)


def _route_text(route: Sequence[RouteCandidate]) -> str:
    return ",".join(c.circuit_name for c in route)


def _label(target: Target) -> str:
    return target[1] if target[0] == "openai" else f"{target[0]} {target[1]}"
