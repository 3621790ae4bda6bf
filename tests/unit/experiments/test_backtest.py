"""The backtest: simulated experiments with a known true difference (and with none) give the right verdict at
the stated rates.

Each trial draws two variants' samples (seeded), summarises them as the ledger would (n, sum, sum of
squares; successes and trials), and runs the test at 5 %. With no true difference, the share of trials
calling a difference is the false-positive rate: at most 5 % plus three binomial standard deviations of
the share over the trials (and not far below 5 % either: a test that never fires would pass the bound).
With the planned difference and the sample size ``sample_size_*`` computes for 80 % power, the share of
trials that detect it is the observed power: within three binomial standard deviations of 80 % (plus
a point for the sample-size formula's approximation).
"""

from __future__ import annotations

import math
import random

import pytest

from shared.experiments.statistics import (
    SampleSummary,
    sample_size_for_means,
    sample_size_for_proportions,
    two_proportion_z_test,
    welch_t_test,
)

TRIALS = 2_000
ALPHA = 0.05
POWER = 0.8


def tolerance(rate: float) -> float:
    """Three standard deviations of an observed share of TRIALS at a true ``rate``."""
    return 3 * math.sqrt(rate * (1 - rate) / TRIALS)


def normal_summary(rng: random.Random, n: int, mean: float, sd: float) -> SampleSummary:
    values = [rng.gauss(mean, sd) for _ in range(n)]
    return SampleSummary(n, math.fsum(values), math.fsum(v * v for v in values))


def successes(rng: random.Random, n: int, rate: float) -> int:
    return sum(rng.random() < rate for _ in range(n))


def detection_rate_for_means(seed: int, n: int, difference: float, sd: float) -> float:
    """Share of trials where Welch's test calls the means different at ALPHA (cost per call in nano-dollars)."""
    rng = random.Random(seed)
    base = 40_000.0
    hits = sum(
        welch_t_test(normal_summary(rng, n, base, sd), normal_summary(rng, n, base + difference, sd)).p_value < ALPHA
        for _ in range(TRIALS)
    )
    return hits / TRIALS


def detection_rate_for_proportions(seed: int, n: int, rate: float, difference: float) -> float:
    """Share of trials where the z-test calls the rates different at ALPHA (e.g. reply rates)."""
    rng = random.Random(seed)
    hits = sum(
        two_proportion_z_test(successes(rng, n, rate), n, successes(rng, n, rate + difference), n).p_value < ALPHA
        for _ in range(TRIALS)
    )
    return hits / TRIALS


@pytest.mark.parametrize(("n", "sd"), [(10, 5_000.0), (200, 5_000.0)])
def test_welch_false_positive_rate_is_at_most_alpha(n, sd):
    observed = detection_rate_for_means(seed=n, n=n, difference=0.0, sd=sd)
    assert ALPHA - tolerance(ALPHA) <= observed <= ALPHA + tolerance(ALPHA), observed


def test_welch_false_positive_rate_with_unequal_spreads():
    """Welch's point: unequal variances and sizes do not inflate the false positives (Student's test would)."""
    rng = random.Random(99)
    hits = sum(
        welch_t_test(normal_summary(rng, 8, 100.0, 30.0), normal_summary(rng, 40, 100.0, 3.0)).p_value < ALPHA
        for _ in range(TRIALS)
    )
    assert hits / TRIALS <= ALPHA + tolerance(ALPHA), hits / TRIALS


def test_welch_power_at_the_computed_sample_size():
    sd, effect = 5_000.0, 1_500.0
    n = sample_size_for_means(sd, effect, ALPHA, POWER)
    observed = detection_rate_for_means(seed=1, n=n, difference=effect, sd=sd)
    assert abs(observed - POWER) <= tolerance(POWER) + 0.01, (n, observed)


def test_z_false_positive_rate_is_at_most_alpha():
    observed = detection_rate_for_proportions(seed=2, n=400, rate=0.12, difference=0.0)
    assert ALPHA - tolerance(ALPHA) <= observed <= ALPHA + tolerance(ALPHA), observed


def test_z_power_at_the_computed_sample_size():
    rate, effect = 0.20, 0.08
    n = sample_size_for_proportions(rate, effect, ALPHA, POWER)
    observed = detection_rate_for_proportions(seed=3, n=n, rate=rate, difference=effect)
    assert abs(observed - POWER) <= tolerance(POWER) + 0.01, (n, observed)


def test_half_the_sample_size_falls_well_short_of_the_power():
    """The computed n is not generous by accident: half of it detects the effect far less often."""
    sd, effect = 5_000.0, 1_500.0
    n = sample_size_for_means(sd, effect, ALPHA, POWER) // 2
    assert detection_rate_for_means(seed=4, n=n, difference=effect, sd=sd) < POWER - 0.2
