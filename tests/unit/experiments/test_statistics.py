"""The experiments' statistics against scipy's on seeded samples: p-values, statistics and intervals within 1e-6."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from shared.experiments.statistics import (
    SampleSummary,
    mean_interval,
    normal_quantile,
    regularized_incomplete_beta,
    sample_size_for_means,
    sample_size_for_proportions,
    student_t_cdf,
    student_t_quantile,
    two_proportion_z_test,
    welch_t_test,
)

RELATIVE = 1e-6


def summary(values: list[float]) -> SampleSummary:
    return SampleSummary(len(values), sum(values), sum(v * v for v in values))


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=RELATIVE, abs_tol=1e-300)


def test_summary_mean_and_variance_match_the_sample():
    values = [3.0, 5.0, 11.0, 2.5]
    s = summary(values)
    assert s.mean == pytest.approx(sum(values) / 4)
    assert close(s.variance, stats.tvar(values))
    assert SampleSummary(1, 4.0, 16.0).variance == 0.0
    assert SampleSummary(0, 0.0, 0.0).mean == 0.0


def test_variance_is_centred_exactly_for_large_integer_sums():
    # Nano-dollar costs: mean 5e10, spread 1; float centring would lose every digit of the variance.
    values = [50_000_000_000 + d for d in (-1, 0, 1, 0)]
    s = SampleSummary(4, sum(values), sum(v * v for v in values))
    assert s.variance == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(8))
def test_welch_matches_scipy_on_seeded_samples(seed):
    rng = random.Random(seed)
    for _ in range(40):
        sizes = rng.randint(2, 400), rng.randint(2, 400)
        a = [rng.gauss(100, rng.uniform(0.5, 30)) for _ in range(sizes[0])]
        b = [rng.gauss(100 + rng.uniform(-10, 10), rng.uniform(0.5, 30)) for _ in range(sizes[1])]
        ours = welch_t_test(summary(a), summary(b))
        theirs = stats.ttest_ind(a, b, equal_var=False)
        assert close(ours.statistic, float(theirs.statistic))
        assert close(ours.p_value, float(theirs.pvalue)), (sizes, ours, theirs)


def test_welch_with_tiny_p_values_keeps_its_relative_precision():
    rng = random.Random(42)
    a = [rng.gauss(0, 1) for _ in range(60)]
    b = [rng.gauss(3, 1) for _ in range(60)]
    ours, theirs = welch_t_test(summary(a), summary(b)), stats.ttest_ind(a, b, equal_var=False)
    assert theirs.pvalue < 1e-20
    assert close(ours.p_value, float(theirs.pvalue))


def test_welch_without_enough_data_or_spread():
    assert welch_t_test(SampleSummary(1, 5.0, 25.0), SampleSummary(10, 50.0, 300.0)).p_value == 1.0
    same = SampleSummary(3, 6.0, 12.0)  # 2, 2, 2
    assert welch_t_test(same, same).p_value == 1.0
    apart = welch_t_test(same, SampleSummary(3, 9.0, 27.0))  # 2s against 3s
    assert apart.p_value == 0.0 and apart.statistic == -math.inf


@pytest.mark.parametrize("seed", range(4))
def test_two_proportion_z_matches_scipy_chi_square_without_correction(seed):
    """The pooled z-test's z² is the 2x2 table's chi-square (no continuity correction): same p-value."""
    rng = random.Random(seed)
    for _ in range(50):
        n_a, n_b = rng.randint(20, 5000), rng.randint(20, 5000)
        rate = rng.uniform(0.02, 0.6)
        x_a = sum(rng.random() < rate for _ in range(n_a))
        x_b = sum(rng.random() < rate * rng.uniform(0.7, 1.4) for _ in range(n_b))
        if x_a + x_b in (0, n_a + n_b):
            continue
        ours = two_proportion_z_test(x_a, n_a, x_b, n_b)
        chi2, p_value, _, _ = stats.chi2_contingency([[x_a, n_a - x_a], [x_b, n_b - x_b]], correction=False)
        assert close(ours.statistic**2, float(chi2))
        assert close(ours.p_value, float(p_value))


def test_two_proportion_z_edge_cases():
    assert two_proportion_z_test(0, 100, 0, 100).p_value == 1.0
    assert two_proportion_z_test(0, 0, 3, 10).p_value == 1.0
    with pytest.raises(ValueError):
        two_proportion_z_test(11, 10, 3, 10)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_mean_interval_matches_scipy(level):
    rng = random.Random(int(level * 100))
    for _ in range(30):
        values = [rng.expovariate(1 / 40) for _ in range(rng.randint(2, 300))]
        low, high = mean_interval(summary(values), level)
        s = summary(values)
        ref_low, ref_high = stats.t.interval(level, len(values) - 1, loc=s.mean, scale=math.sqrt(s.variance / s.n))
        assert close(low, float(ref_low)) and close(high, float(ref_high))


def test_mean_interval_of_one_sample_is_the_point():
    assert mean_interval(SampleSummary(1, 7.0, 49.0)) == (7.0, 7.0)


@pytest.mark.parametrize("df", [0.7, 1, 2, 3, 9.5, 30, 250, 10_000, 1_000_000])
def test_t_cdf_and_quantile_match_scipy(df):
    for t in (-40.0, -5.0, -1.2, -0.01, 0.0, 0.3, 2.0, 7.5, 60.0):
        assert close(student_t_cdf(t, df), float(stats.t.cdf(t, df)))
    for probability in (0.001, 0.025, 0.2, 0.5, 0.8, 0.975, 0.9999):
        assert math.isclose(
            student_t_quantile(probability, df), float(stats.t.ppf(probability, df)), rel_tol=RELATIVE, abs_tol=1e-9
        )


def test_incomplete_beta_matches_scipy():
    rng = random.Random(7)
    for _ in range(200):
        a, b, x = rng.uniform(0.1, 200), rng.uniform(0.1, 200), rng.random()
        assert close(regularized_incomplete_beta(a, b, x), float(stats.beta.cdf(x, a, b)))
    assert regularized_incomplete_beta(2, 3, 0.0) == 0.0 and regularized_incomplete_beta(2, 3, 1.0) == 1.0


def test_normal_quantile_matches_scipy():
    for probability in (1e-10, 0.01, 0.05, 0.5, 0.8, 0.975, 1 - 1e-9):
        assert math.isclose(normal_quantile(probability), float(stats.norm.ppf(probability)), abs_tol=1e-9)


def test_sample_sizes_follow_the_textbook_figures():
    # Two-sided 5 %, power 80 %, a difference of half a standard deviation: 64 per group (t-based; z says 63).
    assert sample_size_for_means(sd=1.0, effect=0.5) == 64
    # 10 % against 15 %: 686 per group (pooled under H0, unpooled under H1).
    assert sample_size_for_proportions(0.10, 0.05) == 686
    assert sample_size_for_proportions(0.15, -0.05) == 686
    assert sample_size_for_means(sd=2.0, effect=0.5) > sample_size_for_means(sd=1.0, effect=0.5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_size_for_means(1.0, 0.0),
        lambda: sample_size_for_means(-1.0, 1.0),
        lambda: sample_size_for_proportions(0.95, 0.1),
        lambda: sample_size_for_proportions(0.0, 0.1),
        lambda: sample_size_for_means(1.0, 1.0, alpha=1.5),
        lambda: mean_interval(SampleSummary(3, 1.0, 1.0), level=1.0),
    ],
)
def test_impossible_arguments_are_refused(call):
    with pytest.raises(ValueError):
        call()
