"""Ordinary least squares in pure Python, small enough to read: a handful of columns, a few dozen rows.

The forecast needs the coefficients, the residual variance and ``(X'X)^-1`` (for the parameters'
share of a prediction's uncertainty); numpy would cost the Lambda more at cold start than the
arithmetic ever will.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Matrix = list[list[float]]


@dataclass(frozen=True)
class LeastSquaresFit:
    """``y ≈ X·coefficients``: the coefficients, ``(X'X)^-1`` and the residual variance ``RSS / (n - p)``."""

    coefficients: list[float]
    inverse_gram: Matrix
    residual_variance: float
    degrees_of_freedom: int

    def predict(self, row: Sequence[float]) -> float:
        """``x'β`` for one design row."""
        return sum(x * b for x, b in zip(row, self.coefficients, strict=True))

    def leverage(self, weights: Sequence[float]) -> float:
        """``w'(X'X)^-1 w``: how much the estimated coefficients' uncertainty adds to the prediction ``w'β``."""
        size = len(weights)
        return sum(weights[i] * self.inverse_gram[i][j] * weights[j] for i in range(size) for j in range(size))


class SingularDesignError(ValueError):
    """The columns are linearly dependent (e.g. fewer distinct rows than coefficients)."""


def least_squares(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> LeastSquaresFit:
    """Solve the normal equations ``(X'X)β = X'y`` by Gauss-Jordan elimination with partial pivoting.

    Needs more rows than columns (at least one residual degree of freedom).
    """
    n, p = len(rows), len(rows[0])
    if n <= p:
        raise SingularDesignError(f"{n} rows cannot fit {p} coefficients with a residual left over")
    gram = [[sum(row[i] * row[j] for row in rows) for j in range(p)] for i in range(p)]
    inverse = invert(gram)
    moments = [sum(row[i] * y for row, y in zip(rows, targets, strict=True)) for i in range(p)]
    coefficients = [sum(inverse[i][j] * moments[j] for j in range(p)) for i in range(p)]
    residuals = [
        y - sum(x * b for x, b in zip(row, coefficients, strict=True)) for row, y in zip(rows, targets, strict=True)
    ]
    return LeastSquaresFit(coefficients, inverse, sum(r * r for r in residuals) / (n - p), n - p)


def invert(matrix: Matrix) -> Matrix:
    """The inverse of a small square matrix; :class:`SingularDesignError` when it has none."""
    size = len(matrix)
    work = [list(row) + [1.0 if i == j else 0.0 for j in range(size)] for i, row in enumerate(matrix)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0) or 1.0
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(work[r][column]))
        if abs(work[pivot][column]) <= 1e-12 * scale:
            raise SingularDesignError("the design matrix has linearly dependent columns")
        work[column], work[pivot] = work[pivot], work[column]
        lead = work[column][column]
        work[column] = [v / lead for v in work[column]]
        for r in range(size):
            if r != column and work[r][column]:
                factor = work[r][column]
                work[r] = [a - factor * b for a, b in zip(work[r], work[column], strict=True)]
    return [row[size:] for row in work]


def student_t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion around the normal one.

    Four terms of the expansion (Abramowitz & Stegun 26.7.5): within 0.1 % of the exact value from
    5 degrees of freedom up, which is the fewest the forecast ever fits with.
    """
    z = NormalDist().inv_cdf(probability)
    v = float(degrees_of_freedom)
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + sum(term / v ** (k + 1) for k, term in enumerate(terms))


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_absolute_deviation(values: Sequence[float]) -> float:
    """``median(|x - median(x)|)``; times 1.4826 it estimates a normal standard deviation, ignoring outliers."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def two_sided_quantile(confidence: float) -> float:
    """The upper quantile probability of a central interval: 0.90 → 0.95."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return 1 - (1 - confidence) / 2
