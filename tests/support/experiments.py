"""The experiments' storage in memory, over the in-memory routing overrides, and a statistics stand-in for
assembling results before the real module's numbers matter (p-values given per test; the real module's
``SampleSummary`` and ``TestResult``)."""

from __future__ import annotations

import math
from dataclasses import replace

from shared.core.errors import RoutingConflictError
from shared.experiments.statistics import SampleSummary, TestResult
from shared.experiments.store import ExperimentPage
from tests.support.fakes import InMemoryRoutingOverrideStore


class NoOutcomes:
    """An outcome source with nothing reported."""

    def variant_totals(self, experiment_id):
        return {}


class InMemoryExperimentStore:
    """Records in a dict; the running experiments in the overrides' current item, under its version."""

    def __init__(self, overrides: InMemoryRoutingOverrideStore | None = None) -> None:
        self.overrides = overrides or InMemoryRoutingOverrideStore()
        self.records = {}

    def current(self):
        return self.overrides.current()

    def get(self, experiment_id):
        return self.records.get(experiment_id)

    def page(self, limit, after):
        ids = sorted((i for i in self.records if after is None or i < after), reverse=True)
        found = [self.records[i] for i in ids[:limit]]
        return ExperimentPage(found, found[-1].experiment_id if len(ids) > limit else None)

    def write(self, request):
        experiment, running, promotion = request.experiment, request.running, request.promotion
        current = self.overrides.overrides
        if request.expected_version != current.version:
            raise RoutingConflictError("The routing changed meanwhile; reload and try again.")
        routes = dict(promotion.routes) if promotion else current.routes
        self.overrides.overrides = replace(
            current, routes=routes, version=request.expected_version + 1, experiments=dict(running)
        )
        if promotion:
            self.overrides.log[promotion.change.change_id] = promotion.change
        self.records[experiment.experiment_id] = experiment


class ScriptedStatistics:
    """The statistics module's interface with the p-values a test scripts (Welch's, in call order: cost, then
    revenue), and the sample size it asks for."""

    SampleSummary = SampleSummary

    def __init__(self, welch_p=(0.5, 0.5), proportion_p: float = 0.5, needed: int = 10):
        self.welch_p, self.proportion_p, self.needed = list(welch_p), proportion_p, needed
        self.welch_calls = []

    def welch_t_test(self, a, b):
        self.welch_calls.append((a, b))
        return TestResult(0.0, self.welch_p[(len(self.welch_calls) - 1) % len(self.welch_p)])

    def two_proportion_z_test(self, successes_a, n_a, successes_b, n_b):
        return TestResult(0.0, self.proportion_p)

    def mean_interval(self, s, level=0.95):
        half = 1.96 * math.sqrt(max(s.variance, 0.0) / s.n)
        return s.mean - half, s.mean + half

    def sample_size_for_means(self, sd, effect, alpha=0.05, power=0.8):
        return self.needed
