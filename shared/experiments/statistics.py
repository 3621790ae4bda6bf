"""The experiments' statistics in pure Python (``math`` only): scipy is far too large for a Lambda layer.

What is here, and how (docs/experiments-statistics.md says the same for readers of the results):

- Samples arrive as sums (:class:`SampleSummary`: n, sum, sum of squares), because the ledger keeps
  counters, not lists. The variance is centred exactly (``fractions.Fraction`` of the given sums), so
  the only rounding is in the sums handed in.
- Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom), two-sided. Student's t
  CDF comes from the regularized incomplete beta function, ``I_x(df/2, 1/2)`` with
  ``x = df / (df + t²)``, evaluated by its continued fraction with the modified Lentz method (Numerical
  Recipes' ``betai``/``betacf``): the fraction converges for ``x < (a + 1) / (a + b + 2)`` and the
  symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)`` covers the rest, so both tails keep their relative precision.
- The two-proportion z-test with the pooled proportion, two-sided; the normal CDF is ``erfc``.
- Quantiles (for intervals and sample sizes) invert the CDFs by bisection: slower than a rational
  approximation, but as exact as the CDF itself and well under a millisecond per call. (The forecast's
  Cornish-Fisher t quantile, shared/forecast/regression.py, is within 0.1 % from 5 degrees of freedom:
  enough for its interval, not for an interval of 3 samples checked against scipy.)
- Sample sizes per variant for a two-sided test at ``alpha`` with ``power``: for means the normal
  formula ``2 (z(1 - alpha/2) + z(power))² sd² / effect²`` refined with t quantiles at ``2n - 2`` degrees of
  freedom until it settles (the t-test needs a few more samples than the z formula says when n is small);
  for proportions the classic pooled-under-H0 / unpooled-under-H1 formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

_MAX_FRACTION_TERMS = 10_000  # the continued fraction needs O(sqrt(max(a, b))) terms: df up to ~10^8
_EPSILON = 1e-15
_TINY = 1e-300  # Lentz's guard against a zero denominator
_BISECTION_STEPS = 200


@dataclass(frozen=True)
class SampleSummary:
    """A sample known by its size, sum and sum of squares."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float:
        """The sample mean; 0 for an empty sample."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (divided by ``n - 1``); 0 when ``n < 2``."""
        if self.n < 2:
            return 0.0
        total, squares = Fraction(self.total), Fraction(self.total_squares)
        centred = squares - total * total / self.n
        return max(0.0, float(centred / (self.n - 1)))


@dataclass(frozen=True)
class TestResult:
    """A test's statistic (t or z) and its two-sided p-value."""

    __test__ = False  # not a pytest test class, whatever its name

    statistic: float
    p_value: float


def welch_t_test(a: SampleSummary, b: SampleSummary) -> TestResult:
    """Welch's two-sided t-test of ``mean(a) == mean(b)``.

    Fewer than 2 samples on either side: nothing to test, (0, 1). Both variances 0: equal means
    give (0, 1), different ones (±inf, 0), the limit of the test as the spread vanishes.
    """
    if a.n < 2 or b.n < 2:
        return TestResult(0.0, 1.0)
    share_a, share_b = a.variance / a.n, b.variance / b.n
    standard_error_squared = share_a + share_b
    difference = a.mean - b.mean
    if standard_error_squared == 0.0:
        return TestResult(0.0, 1.0) if difference == 0.0 else TestResult(math.copysign(math.inf, difference), 0.0)
    statistic = difference / math.sqrt(standard_error_squared)
    df = standard_error_squared**2 / (share_a**2 / (a.n - 1) + share_b**2 / (b.n - 1))
    return TestResult(statistic, student_t_two_sided_p(statistic, df))


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> TestResult:
    """Two-sided z-test of ``p_a == p_b`` with the pooled proportion; (0, 1) when it is 0 or 1 (no spread)."""
    if not (0 <= successes_a <= n_a and 0 <= successes_b <= n_b):
        raise ValueError("successes must be between 0 and their sample size")
    if n_a == 0 or n_b == 0:
        return TestResult(0.0, 1.0)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        return TestResult(0.0, 1.0)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    statistic = (successes_a / n_a - successes_b / n_b) / standard_error
    return TestResult(statistic, math.erfc(abs(statistic) / math.sqrt(2)))


def mean_interval(s: SampleSummary, level: float = 0.95) -> tuple[float, float]:
    """The t-based interval of the mean at ``level``; (mean, mean) when ``n < 2`` (no spread is known)."""
    _check_probability(level, "level")
    if s.n < 2:
        return s.mean, s.mean
    half_width = student_t_quantile((1 + level) / 2, s.n - 1) * math.sqrt(s.variance / s.n)
    return s.mean - half_width, s.mean + half_width


def sample_size_for_means(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Samples per variant for Welch's test to detect a difference ``effect`` in means of spread ``sd``."""
    if sd < 0 or effect == 0:
        raise ValueError("sd must be >= 0 and effect non-zero")
    _check_probability(alpha, "alpha")
    _check_probability(power, "power")
    ratio = (sd / effect) ** 2
    n = math.ceil(2 * (normal_quantile(1 - alpha / 2) + normal_quantile(power)) ** 2 * ratio)
    for _ in range(20):  # settles in two or three rounds; bounded in case it flips between two integers
        df = max(2 * n - 2, 1)
        refined = math.ceil(2 * (student_t_quantile(1 - alpha / 2, df) + student_t_quantile(power, df)) ** 2 * ratio)
        if refined == n:
            break
        n = refined
    return max(n, 2)


def sample_size_for_proportions(p: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Samples per variant for the z-test to tell a rate ``p`` from ``p + effect``."""
    other = p + effect
    if not (0 < p < 1 and 0 < other < 1) or effect == 0:
        raise ValueError("p and p + effect must be strictly between 0 and 1, effect non-zero")
    _check_probability(alpha, "alpha")
    _check_probability(power, "power")
    mean_rate = (p + other) / 2
    under_null = normal_quantile(1 - alpha / 2) * math.sqrt(2 * mean_rate * (1 - mean_rate))
    under_effect = normal_quantile(power) * math.sqrt(p * (1 - p) + other * (1 - other))
    return max(math.ceil((under_null + under_effect) ** 2 / effect**2), 2)


def normal_cdf(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def normal_quantile(probability: float) -> float:
    """The inverse of :func:`normal_cdf`."""
    _check_probability(probability, "probability")
    if probability > 0.5:  # the lower tail is where erfc keeps its relative precision
        return -normal_quantile(1 - probability)
    return _bisect(normal_cdf, probability, -40.0, 0.0)


def student_t_two_sided_p(t: float, df: float) -> float:
    """``P(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom (``df`` may be fractional)."""
    if df <= 0:
        raise ValueError("df must be positive")
    if math.isinf(t):
        return 0.0
    if t * t < df:
        return 1 - _t_central(t, df)
    return regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t))


def student_t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df`` degrees of freedom.

    Near the centre it is ``1/2 ± P(|T| < |t|) / 2`` from ``t² / (df + t²)`` itself (which ``df / (df + t²)``
    would round to 1), so a quantile near the median keeps its precision too.
    """
    if df <= 0:
        raise ValueError("df must be positive")
    if t * t < df:
        return 0.5 + math.copysign(_t_central(t, df), t) / 2
    tail = student_t_two_sided_p(t, df) / 2
    return 1 - tail if t > 0 else tail


def student_t_quantile(probability: float, df: float) -> float:
    """The inverse of :func:`student_t_cdf`."""
    _check_probability(probability, "probability")
    if probability < 0.5:
        return -student_t_quantile(1 - probability, df)
    high = 1.0
    while student_t_cdf(high, df) < probability:  # heavy tails at small df: widen the bracket as needed
        high *= 2
    return _bisect(lambda t: student_t_cdf(t, df), probability, 0.0, high)


def _t_central(t: float, df: float) -> float:
    """``P(|T| < |t|) = I_y(1/2, df/2)`` with ``y = t² / (df + t²)``."""
    return regularized_incomplete_beta(0.5, df / 2, t * t / (df + t * t))


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """``I_x(a, b)``, for ``a, b > 0`` and ``0 <= x <= 1``."""
    if a <= 0 or b <= 0 or not 0.0 <= x <= 1.0:
        raise ValueError("needs a, b > 0 and 0 <= x <= 1")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1 - front * _beta_continued_fraction(b, a, 1 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of ``I_x(a, b)`` by the modified Lentz method (Numerical Recipes' ``betacf``)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > _TINY else _TINY)
    fraction = d
    for m in range(1, _MAX_FRACTION_TERMS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            fraction *= step
        if abs(step - 1) < _EPSILON:
            return fraction
    raise ArithmeticError(f"the incomplete beta's continued fraction did not converge (a={a}, b={b}, x={x})")


def _bisect(cdf: Callable[[float], float], probability: float, low: float, high: float) -> float:
    """The ``x`` in [low, high] with ``cdf(x) == probability``, for an increasing ``cdf``."""
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if cdf(middle) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _check_probability(value: float, name: str) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1")
