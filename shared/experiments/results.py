"""An experiment's results: per-variant figures from the ledger's variant counters and the reported outcomes,
and the comparison of each variant against the first (the control).

Per variant: calls (billed provider calls), cost per call (mean and 95 % interval, USD), latency p50/p95
(to the histogram bucket's upper bound, shared/ledger/variant_counters.py), fallback rate, error rate
(billed attempts not answered ``ok`` / calls), and outcomes per message (revenue per message and reply
rate over the messages with a reported outcome). Comparison: Welch's t-test on cost per call and on
revenue per message, a two-proportion z-test on fallback and reply rates, each with its p-value; the calls
each variant needs to detect the planned relative effect on cost; a verdict only when the tests say so.

The tests come from :mod:`shared.experiments.statistics` (a small, scipy-checked implementation), imported
when results are first computed; without it the figures are still given and ``comparison`` is null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from shared.core.time import utc_day
from shared.experiments.model import Experiment
from shared.ledger.keys import aggregate_pk, day_period, experiment_scope, period_bounds, split_sort_key
from shared.ledger.store import CostStore
from shared.ledger.variant_counters import VariantCounters

NANOS_PER_USD = 1_000_000_000
SIGNIFICANCE = 0.05
Recommendation = Literal["promote", "continue", "stop"]


class OutcomeTotalsLike(Protocol):
    """One variant's reported outcomes (``shared.outcomes.store.OutcomeTotals``)."""

    messages_with_outcome: int
    revenue_nanos: int
    revenue_squares: float  # sum of each message's revenue in nanos, squared
    replies: int
    messages_replied: int  # messages with at least one reply: a reply rate's numerator (replies may exceed it)


class OutcomeSource(Protocol):
    """Where the reported outcomes are summed per variant (``shared.outcomes.store.OutcomeStore``)."""

    def variant_totals(self, experiment_id: str) -> Mapping[str, OutcomeTotalsLike]: ...


@dataclass(frozen=True)
class Interval:
    """A mean and its 95 % interval (USD); None bounds below two samples."""

    mean: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class VariantResult:
    """One variant's figures."""

    name: str
    calls: int
    cost_per_call: Interval
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    fallback_rate: float
    error_rate: float
    messages_with_outcome: int
    revenue_per_message: Interval | None
    reply_rate: float | None


@dataclass(frozen=True)
class Comparison:
    """One variant against the control; p-values None where a side lacks the data."""

    variant: str
    against: str
    cost_change_percent: float | None
    cost_p_value: float | None
    revenue_change_percent: float | None
    revenue_p_value: float | None
    fallback_p_value: float | None
    reply_p_value: float | None


@dataclass(frozen=True)
class ExperimentResults:
    """Everything ``GET /api/v2/experiments/{id}`` says about how the variants did."""

    variants: list[VariantResult]
    comparisons: list[Comparison] | None  # None: the statistics module is not installed
    calls_needed_per_variant: int | None
    more_calls_needed: int | None
    verdict: str | None
    recommendation: Recommendation
    recommended_variant: str | None = None
    notes: list[str] = field(default_factory=list)


def read_variant_counters(store: CostStore, experiment_id: str, first: date, last: date) -> dict[str, VariantCounters]:
    """Each variant's counters summed over the experiment's days: one Query."""
    totals: dict[str, VariantCounters] = {}
    pk = aggregate_pk(experiment_scope(experiment_id), "variant")
    for item in store.query(pk, *period_bounds(day_period(first), day_period(last))):
        _, variant = split_sort_key(str(item["sk"]))
        totals[variant] = totals.get(variant, VariantCounters()) + VariantCounters.from_item(item)
    return totals


def statistics_module() -> Any | None:
    """The tests' module, or None where it is not installed."""
    try:
        from shared.experiments import statistics
    except ImportError:
        return None
    return statistics


class ResultsReader:
    """Reads the counters and outcomes of an experiment and assembles its results."""

    def __init__(self, costs: CostStore, outcomes: OutcomeSource, stats: Any | None = None) -> None:
        self._costs = costs
        self._outcomes = outcomes
        self._stats = stats

    def results(self, experiment: Experiment, now: float) -> ExperimentResults:
        """One Query of the variant counters, one read of the outcomes."""
        last = utc_day(min(now, experiment.ended_at or now, experiment.ends_at or now))
        counters = read_variant_counters(self._costs, experiment.experiment_id, utc_day(experiment.created_at), last)
        outcomes = self._outcomes.variant_totals(experiment.experiment_id)
        stats = self._stats if self._stats is not None else statistics_module()
        return assemble(experiment, counters, outcomes, stats)


def assemble(
    experiment: Experiment,
    counters: Mapping[str, VariantCounters],
    outcomes: Mapping[str, OutcomeTotalsLike],
    stats: Any | None,
) -> ExperimentResults:
    """The results from the summed figures; ``stats`` provides the tests (None: figures only)."""
    names = [v.name for v in experiment.variants]
    summaries = {name: _cost_summary(stats, counters.get(name, VariantCounters())) for name in names}
    revenue = {name: _revenue_summary(stats, outcomes.get(name)) for name in names}
    variants = [
        _variant(stats, name, counters.get(name, VariantCounters()), outcomes.get(name), summaries[name], revenue[name])
        for name in names
    ]
    if stats is None:
        return ExperimentResults(variants, None, None, None, None, "continue", notes=["statistics unavailable"])
    control = names[0]
    comparisons = [_compare(stats, name, control, counters, outcomes, summaries, revenue) for name in names[1:]]
    needed = _calls_needed(stats, summaries[control], experiment.planned_effect)
    fewest = min(v.calls for v in variants)
    more = None if needed is None else max(needed - fewest, 0)
    verdict, recommendation, winner = _verdict(variants, comparisons, more)
    return ExperimentResults(variants, comparisons, needed, more, verdict, recommendation, winner)


def _cost_summary(stats: Any | None, c: VariantCounters) -> Any | None:
    if stats is None:
        return None
    return stats.SampleSummary(
        c.counters.requests, c.counters.nanos / NANOS_PER_USD, c.nanos_squared / NANOS_PER_USD**2
    )


def _revenue_summary(stats: Any | None, o: OutcomeTotalsLike | None) -> Any | None:
    if stats is None or o is None or not o.messages_with_outcome:
        return None
    return stats.SampleSummary(
        o.messages_with_outcome, o.revenue_nanos / NANOS_PER_USD, o.revenue_squares / NANOS_PER_USD**2
    )


def _interval(stats: Any | None, summary: Any | None, mean: float) -> Interval:
    if stats is None or summary is None or summary.n < 2:
        return Interval(mean, None, None)
    low, high = stats.mean_interval(summary)
    return Interval(mean, low, high)


def _variant(
    stats: Any | None,
    name: str,
    c: VariantCounters,
    o: OutcomeTotalsLike | None,
    cost: Any | None,
    revenue: Any | None,
) -> VariantResult:
    calls = c.counters.requests
    has_outcomes = o is not None and o.messages_with_outcome > 0
    return VariantResult(
        name=name,
        calls=calls,
        cost_per_call=_interval(stats, cost, c.counters.nanos / NANOS_PER_USD / calls if calls else 0.0),
        latency_p50_ms=c.latency_percentile_ms(0.5),
        latency_p95_ms=c.latency_percentile_ms(0.95),
        fallback_rate=c.counters.fallbacks / calls if calls else 0.0,
        error_rate=c.errors / calls if calls else 0.0,
        messages_with_outcome=o.messages_with_outcome if o else 0,
        revenue_per_message=_interval(stats, revenue, o.revenue_nanos / NANOS_PER_USD / o.messages_with_outcome)
        if has_outcomes and o
        else None,
        reply_rate=o.messages_replied / o.messages_with_outcome if has_outcomes and o else None,
    )


def _change_percent(new: float, old: float) -> float | None:
    return None if old == 0 else round((new - old) / old * 100, 2)


def _p(result: Any) -> float | None:
    value = float(result.p_value)
    return None if math.isnan(value) else value


def _compare(
    stats: Any,
    name: str,
    control: str,
    counters: Mapping[str, VariantCounters],
    outcomes: Mapping[str, OutcomeTotalsLike],
    summaries: Mapping[str, Any],
    revenue: Mapping[str, Any | None],
) -> Comparison:
    a, b = summaries[control], summaries[name]
    cost_p = _p(stats.welch_t_test(a, b)) if a.n >= 2 and b.n >= 2 else None
    ra, rb = revenue[control], revenue[name]
    revenue_p = (
        _p(stats.welch_t_test(ra, rb)) if ra is not None and rb is not None and ra.n >= 2 and rb.n >= 2 else None
    )
    ca, cb = counters.get(control, VariantCounters()).counters, counters.get(name, VariantCounters()).counters
    fallback_p = (
        _p(stats.two_proportion_z_test(ca.fallbacks, ca.requests, cb.fallbacks, cb.requests))
        if ca.requests and cb.requests and (ca.fallbacks or cb.fallbacks)
        else None
    )
    oa, ob = outcomes.get(control), outcomes.get(name)
    reply_p = (
        _p(
            stats.two_proportion_z_test(
                oa.messages_replied, oa.messages_with_outcome, ob.messages_replied, ob.messages_with_outcome
            )
        )
        if oa
        and ob
        and oa.messages_with_outcome
        and ob.messages_with_outcome
        and (oa.messages_replied or ob.messages_replied)
        else None
    )
    return Comparison(
        variant=name,
        against=control,
        cost_change_percent=_change_percent(b.mean, a.mean) if a.n and b.n else None,
        cost_p_value=cost_p,
        revenue_change_percent=_change_percent(rb.mean, ra.mean) if ra is not None and rb is not None else None,
        revenue_p_value=revenue_p,
        fallback_p_value=fallback_p,
        reply_p_value=reply_p,
    )


def _calls_needed(stats: Any, control: Any, planned_effect: float) -> int | None:
    """Calls per variant to detect the planned relative change in cost per call (None: no spread known yet)."""
    if control.n < 2 or control.mean <= 0 or control.variance <= 0:
        return None
    return int(stats.sample_size_for_means(math.sqrt(control.variance), planned_effect * control.mean))


def _significant(p: float | None) -> bool:
    return p is not None and p < SIGNIFICANCE


def _verdict(
    variants: list[VariantResult], comparisons: list[Comparison], more: int | None
) -> tuple[str | None, Recommendation, str | None]:
    """A verdict only when the data allow one: enough calls, and what the tests say."""
    if more is None or more > 0:
        approx = f"~{more} more calls per variant" if more is not None else "more calls to measure the spread"
        return f"not enough data: {approx}", "continue", None
    control = variants[0].name
    cheaper = [c for c in comparisons if _significant(c.cost_p_value) and (c.cost_change_percent or 0) < 0]
    dearer = [c for c in comparisons if _significant(c.cost_p_value) and (c.cost_change_percent or 0) > 0]
    if not cheaper:
        if dearer and len(dearer) == len(comparisons):
            return f"{control} costs least per call at 95 %: keep {control}", "stop", None
        return "no difference in cost per call at 95 %", "stop", None
    best = min(cheaper, key=lambda c: c.cost_change_percent or 0)
    saving = f"{best.variant} saves {-(best.cost_change_percent or 0):.0f} % per call"
    if _significant(best.revenue_p_value) and (best.revenue_change_percent or 0) < 0:
        return (
            f"{saving} but earns {-(best.revenue_change_percent or 0):.0f} % less per message at 95 %: keep {control}",
            "stop",
            None,
        )
    if _significant(best.fallback_p_value):
        return f"{saving} but its fallback rate differs at 95 %: look before promoting", "continue", None
    revenue = (
        "revenue per message not different at 95 %"
        if best.revenue_p_value is not None
        else "no outcomes reported to compare revenue"
    )
    return f"{saving}, {revenue}: promote {best.variant}", "promote", best.variant
