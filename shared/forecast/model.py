"""Month-end spend forecast and today's spike flag, from daily totals: a model a person can check by hand.

Model (ordinary least squares on the complete days since spend began, at most 56):

    spend(day) = intercept + slope * t + offset[weekday(day)] + noise,   noise ~ N(0, sigma²) i.i.d.

``t`` counts days from the first day with spend; the seven weekday offsets sum to zero (effects
coding), so ``intercept + slope * t`` is the average day and each offset says how much more or less
that weekday spends. With fewer than 14 complete days (each weekday not yet seen twice) the offsets
are left out and the model is the trend alone.

Projection: month-end = spent so far this month + the predicted rest of today + the predicted days
after today. Today is in progress: the rest of it is its prediction times the share of the UTC day
still to come (spend assumed to accrue evenly through the day, its noise too). A predicted day below
zero counts as zero.

Prediction interval for the month-end total (the standard OLS interval for a sum of future values):

    centre ± t(1 - (1 - confidence)/2, n - p) * s * sqrt(m + w' (X'X)^-1 w)

where ``s² = RSS / (n - p)`` estimates sigma², ``m`` is the number of days still to come (the rest of
today counted as its share), ``w`` is the sum of their design rows (weighted the same way): ``m``
is the noise of the days to come, ``w' (X'X)^-1 w`` the uncertainty of the fitted trend and offsets
carried to them. It holds when the model's shape is right and the daily noise is independent,
Gaussian and of constant size; it ignores the zero floor. The low end never goes below what was
already spent. Autocorrelated or regime-changing spend (a new big customer) makes it too narrow,
which is why the spike flag looks at today separately.

Spike: today's spend so far against the median of the previous days (up to 28), flagged when it
exceeds ``median + max(k * 1.4826 * MAD, minimum)``: MAD times 1.4826 estimates a standard deviation
that one earlier spike cannot inflate, and the minimum keeps cents from flagging.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.forecast.regression import (
    least_squares,
    median,
    median_absolute_deviation,
    student_t_quantile,
    two_sided_quantile,
)

HISTORY_DAYS = 56  # complete days before today that the fit may use
MIN_HISTORY_DAYS = 7  # fewer complete days since spend began: no forecast
SEASONAL_MIN_DAYS = 14  # every weekday seen twice before its offset is estimated
SPIKE_BASELINE_DAYS = 28
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TREND = "ols_linear_trend"
TREND_WITH_WEEKDAYS = "ols_linear_trend_weekday_offsets"


@dataclass(frozen=True)
class SpikeRule:
    """Flag today when it exceeds the baseline by ``k`` robust standard deviations and by ``minimum_micros``."""

    k: float = 3.0
    minimum_micros: int = 1_000_000


DEFAULT_SPIKE_RULE = SpikeRule()


@dataclass(frozen=True)
class Spike:
    """Today's spend so far against the previous days' median."""

    today_micros: int
    baseline_micros: float
    threshold_micros: float
    is_spike: bool


@dataclass(frozen=True)
class Projection:
    """The fitted model and the month-end total it projects (micro-dollars)."""

    method: str
    intercept_micros: float
    slope_micros_per_day: float
    weekday_offsets_micros: dict[str, float]  # empty for the trend-only model
    residual_sd_micros: float
    degrees_of_freedom: int
    projected_micros: int
    low_micros: int
    high_micros: int
    confidence: float
    days_remaining: float
    cumulative_by_day: list[tuple[date, float]]  # projected month-to-date at the end of today and each later day


@dataclass(frozen=True)
class Forecast:
    """A scope's forecast at one instant: no projection without enough history."""

    status: Literal["ok", "insufficient_history"]
    today: date
    month_end: date
    history_days: int
    month_to_date_micros: int
    daily_micros: dict[date, int]  # the month's days so far, today included
    projection: Projection | None = None
    spike: Spike | None = None

    def crossing_date(self, micros: int) -> date | None:
        """The day the month's spend reached (or is projected to reach) ``micros``; None if not this month."""
        running = 0
        for day, spent in sorted(self.daily_micros.items()):
            running += spent
            if running >= micros:
                return day
        if self.projection is None:
            return None
        return next((day for day, total in self.projection.cumulative_by_day if total >= micros), None)


def forecast(
    daily: Mapping[date, int],
    today: date,
    day_elapsed: float,
    confidence: float = 0.9,
    spike_rule: SpikeRule = DEFAULT_SPIKE_RULE,
) -> Forecast:
    """Forecast from ``daily`` spend (micro-dollars per UTC day; missing days spent nothing).

    ``day_elapsed`` is the share of today (UTC) already gone, 0..1.
    """
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    month = {day: int(daily.get(day, 0)) for day in _days(month_start, today)}
    month_to_date = sum(month.values())
    window_start = today - timedelta(days=HISTORY_DAYS)
    spent_days = [day for day, micros in daily.items() if micros > 0 and window_start <= day < today]
    history = (today - min(spent_days)).days if spent_days else 0
    if history < MIN_HISTORY_DAYS:
        return Forecast("insufficient_history", today, month_end, history, month_to_date, month)
    first = today - timedelta(days=history)
    past = [float(daily.get(day, 0)) for day in _days(first, today - timedelta(days=1))]
    projection = _project(past, first, today, month_end, month_to_date, day_elapsed, confidence)
    return Forecast(
        "ok", today, month_end, history, month_to_date, month, projection, _spike(past, month[today], spike_rule)
    )


def _project(
    past: list[float],
    first: date,
    today: date,
    month_end: date,
    month_to_date: int,
    day_elapsed: float,
    confidence: float,
) -> Projection:
    seasonal = len(past) >= SEASONAL_MIN_DAYS
    rows = [_design_row(first, first + timedelta(days=t), seasonal) for t in range(len(past))]
    fit = least_squares(rows, past)
    rest_of_today = min(max(1.0 - day_elapsed, 0.0), 1.0)
    weights = {day: (rest_of_today if day == today else 1.0) for day in _days(today, month_end)}
    combined = [0.0] * len(rows[0])
    running = float(month_to_date)
    cumulative = []
    for day, weight in weights.items():
        row = _design_row(first, day, seasonal)
        combined = [c + weight * x for c, x in zip(combined, row, strict=True)]
        running += weight * max(fit.predict(row), 0.0)
        cumulative.append((day, running))
    remaining = sum(weights.values())
    spread = fit.residual_variance * (remaining + fit.leverage(combined))
    half_width = student_t_quantile(two_sided_quantile(confidence), fit.degrees_of_freedom) * spread**0.5
    offsets = _weekday_offsets(fit.coefficients[2:]) if seasonal else {}
    return Projection(
        method=TREND_WITH_WEEKDAYS if seasonal else TREND,
        intercept_micros=fit.coefficients[0],
        slope_micros_per_day=fit.coefficients[1],
        weekday_offsets_micros=offsets,
        residual_sd_micros=fit.residual_variance**0.5,
        degrees_of_freedom=fit.degrees_of_freedom,
        projected_micros=round(running),
        low_micros=max(month_to_date, round(running - half_width)),
        high_micros=round(running + half_width),
        confidence=confidence,
        days_remaining=remaining,
        cumulative_by_day=cumulative,
    )


def _design_row(first: date, day: date, seasonal: bool) -> list[float]:
    """``[1, t]`` plus six effects-coded weekday columns (Sunday is minus the sum of the others)."""
    row = [1.0, float((day - first).days)]
    if seasonal:
        weekday = day.weekday()
        row += [(1.0 if weekday == k else 0.0) - (1.0 if weekday == 6 else 0.0) for k in range(6)]
    return row


def _weekday_offsets(coefficients: list[float]) -> dict[str, float]:
    offsets = [*coefficients, -sum(coefficients)]
    return dict(zip(WEEKDAYS, offsets, strict=True))


def _spike(past: list[float], today_micros: int, rule: SpikeRule) -> Spike:
    baseline_days = past[-SPIKE_BASELINE_DAYS:]
    baseline = median(baseline_days)
    spread = rule.k * MAD_TO_SIGMA * median_absolute_deviation(baseline_days)
    threshold = baseline + max(spread, float(rule.minimum_micros))
    return Spike(today_micros, baseline, threshold, today_micros > threshold)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
