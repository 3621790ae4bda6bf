"""The forecast model: a backtest on generated series with known trend, weekly seasonality and noise.

Each trial draws a daily-spend series, shows the model the days before "today" and today's spend so
far, and checks its interval against the month's true total, which the model never saw.
"""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta

import pytest

from shared.forecast.model import (
    MIN_HISTORY_DAYS,
    TREND,
    TREND_WITH_WEEKDAYS,
    SpikeRule,
    forecast,
)
from shared.forecast.regression import (
    SingularDesignError,
    invert,
    least_squares,
    median_absolute_deviation,
    student_t_quantile,
)

USD = 1_000_000
TODAY = date(2026, 3, 18)  # a Wednesday


def generated_trial(rng: random.Random, slope: float, weekly: float, noise: float) -> tuple[bool, float]:
    """One backtest trial: (true month-end total inside the interval, interval width / projection).

    ``slope``, ``weekly`` and ``noise`` are relative to the series' level: the trend per day, the
    weekday effects' spread and the Gaussian noise's standard deviation.
    """
    level = rng.uniform(5, 60) * USD
    history = rng.randint(14, 56)
    today = date(2026, 1, 1) + timedelta(days=rng.randint(0, 730))
    first = today - timedelta(days=history)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    raw = [rng.uniform(-1, 1) for _ in range(7)]
    season = [(r - sum(raw) / 7) * weekly * level for r in raw]
    truth: dict[date, float] = {}
    day = first
    while day <= month_end:
        mean = level * (1 + slope * (day - first).days) + season[day.weekday()]
        truth[day] = max(mean + rng.gauss(0, noise * level), 0.0)
        day += timedelta(days=1)
    elapsed = rng.random()
    seen = {d: round(v) for d, v in truth.items() if d < today}
    seen[today] = round(elapsed * truth[today])
    outlook = forecast(seen, today, elapsed, confidence=0.9)
    projection = outlook.projection
    assert outlook.status == "ok" and projection is not None and projection.method == TREND_WITH_WEEKDAYS
    true_total = sum(v for d, v in truth.items() if (d.year, d.month) == (today.year, today.month))
    return projection.low_micros <= true_total <= projection.high_micros, (
        projection.high_micros - projection.low_micros
    ) / projection.projected_micros


@pytest.mark.parametrize(
    ("slope", "weekly", "noise"),
    [
        (0.0, 0.0, 0.10),  # flat, no weekly pattern
        (0.01, 0.30, 0.10),  # growing 1 %/day, strong weekdays
        (0.02, 0.20, 0.20),  # fast growth, noisy
        (-0.005, 0.40, 0.15),  # slow decline
        (0.03, 0.50, 0.25),  # steep, very seasonal, very noisy
    ],
)
def test_the_90_percent_interval_covers_the_true_month_end_in_at_least_85_percent_of_trials(slope, weekly, noise):
    rng = random.Random(f"{slope}/{weekly}/{noise}")
    trials = [generated_trial(rng, slope, weekly, noise) for _ in range(250)]
    coverage = sum(covered for covered, _ in trials) / len(trials)
    mean_width = sum(width for _, width in trials) / len(trials)
    assert coverage >= 0.85, coverage
    assert mean_width < 0.35, mean_width  # an interval from zero to infinity would cover everything


def test_a_known_noiseless_series_gives_its_own_parameters_back():
    first = TODAY - timedelta(days=28)
    offsets = [3.0, 1.0, 0.0, -1.0, 2.0, -4.0, -1.0]  # sum 0, Monday first
    daily = {
        first + timedelta(days=t): round((10 + 0.5 * t + offsets[(first + timedelta(days=t)).weekday()]) * USD)
        for t in range(28)
    }
    outlook = forecast(daily, TODAY, 0.0)
    projection = outlook.projection
    assert projection is not None and outlook.history_days == 28
    assert projection.slope_micros_per_day == pytest.approx(0.5 * USD, abs=1)
    assert projection.intercept_micros == pytest.approx(10 * USD, abs=1)
    assert list(projection.weekday_offsets_micros.values()) == pytest.approx([o * USD for o in offsets], abs=1)
    # March 18..31 still to come, each day exactly as the series says; nothing spent today yet.
    expected_rest = sum(10 + 0.5 * (28 + n) + offsets[(TODAY + timedelta(days=n)).weekday()] for n in range(14))
    month_so_far = sum(v for d, v in daily.items() if d.month == 3)
    assert projection.projected_micros == pytest.approx(month_so_far + expected_rest * USD, abs=20)
    assert projection.high_micros - projection.low_micros <= 100  # no noise, (almost) no interval


def test_half_a_day_gone_counts_half_of_todays_prediction_still_to_come():
    first = TODAY - timedelta(days=10)
    daily = {first + timedelta(days=t): 2 * USD for t in range(10)}
    daily[TODAY] = 1 * USD  # half of a usual day, half-way through it
    outlook = forecast(daily, TODAY, 0.5)
    assert outlook.projection is not None and outlook.projection.method == TREND
    march_before_today = 2 * USD * 10
    assert outlook.month_to_date_micros == march_before_today + USD
    assert outlook.projection.projected_micros == march_before_today + USD + USD + 13 * 2 * USD
    assert outlook.projection.days_remaining == 13.5


@pytest.mark.parametrize("days", [0, 1, 6])
def test_fewer_than_seven_days_of_history_is_insufficient(days):
    daily = {TODAY - timedelta(days=n): 5 * USD for n in range(1, days + 1)}
    daily[TODAY] = 3 * USD
    outlook = forecast(daily, TODAY, 0.5)
    assert (outlook.status, outlook.history_days, outlook.projection, outlook.spike) == (
        "insufficient_history",
        days,
        None,
        None,
    )
    assert outlook.month_to_date_micros == sum(v for d, v in daily.items() if d.month == 3)


def test_seven_days_fit_the_trend_alone_and_history_counts_from_the_first_day_with_spend():
    daily = {TODAY - timedelta(days=n): (20 - n) * USD for n in range(1, MIN_HISTORY_DAYS + 1)}
    daily[TODAY - timedelta(days=40)] = 0  # a zero counter long before is not "history"
    outlook = forecast(daily, TODAY, 0.0)
    assert outlook.status == "ok" and outlook.history_days == MIN_HISTORY_DAYS
    assert outlook.projection is not None and outlook.projection.method == TREND
    assert outlook.projection.weekday_offsets_micros == {}
    assert outlook.projection.slope_micros_per_day == pytest.approx(USD)


def noisy_days(rng: random.Random, count: int, mean: float = 40.0, sd: float = 4.0) -> dict[date, int]:
    return {TODAY - timedelta(days=n): round(rng.gauss(mean, sd) * USD) for n in range(1, count + 1)}


def test_an_injected_spike_is_flagged_and_a_normal_day_is_not():
    rng = random.Random(11)
    history = noisy_days(rng, 28)
    history[TODAY - timedelta(days=9)] = 400 * USD  # an earlier spike does not inflate the baseline
    normal = forecast({**history, TODAY: 44 * USD}, TODAY, 1.0)
    spiked = forecast({**history, TODAY: 90 * USD}, TODAY, 0.6)
    assert normal.spike is not None and not normal.spike.is_spike
    assert spiked.spike is not None and spiked.spike.is_spike
    assert 35 * USD < spiked.spike.baseline_micros < 45 * USD
    assert spiked.spike.baseline_micros + 3 * USD < spiked.spike.threshold_micros < 70 * USD


def test_tiny_amounts_never_flag_below_the_minimum():
    steady = {TODAY - timedelta(days=n): 1_000 for n in range(1, 15)}  # a tenth of a cent a day, constant
    tiny = forecast({**steady, TODAY: 50_000}, TODAY, 0.5, spike_rule=SpikeRule(k=3, minimum_micros=USD))
    assert tiny.spike is not None and not tiny.spike.is_spike and tiny.spike.threshold_micros == 1_000 + USD
    loose = forecast({**steady, TODAY: 50_000}, TODAY, 0.5, spike_rule=SpikeRule(k=3, minimum_micros=10_000))
    assert loose.spike is not None and loose.spike.is_spike


def test_crossing_dates_come_from_actual_days_then_from_the_projection():
    first = TODAY - timedelta(days=20)
    daily = {first + timedelta(days=t): 10 * USD for t in range(21)}  # Feb 26 .. Mar 18, today included
    outlook = forecast(daily, TODAY, 1.0)
    assert outlook.crossing_date(25 * USD) == date(2026, 3, 3)  # March 1, 2, 3: 30 $
    assert outlook.crossing_date(200 * USD) == date(2026, 3, 20)  # 180 $ so far, then 10 $ a day
    assert outlook.crossing_date(10_000 * USD) is None


def test_least_squares_and_its_helpers():
    fit = least_squares([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]], [1.0, 3.0, 5.0, 7.5])
    assert fit.coefficients == pytest.approx([0.9, 2.15])
    assert fit.degrees_of_freedom == 2
    assert invert([[2.0, 0.0], [0.0, 4.0]]) == [[0.5, 0.0], [0.0, 0.25]]
    with pytest.raises(SingularDesignError):
        invert([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(SingularDesignError):
        least_squares([[1.0, 0.0], [1.0, 1.0]], [1.0, 2.0])
    # Student's t 95th percentiles from the tables, to three decimals.
    assert [round(student_t_quantile(0.95, v), 3) for v in (5, 6, 10, 30)] == [2.015, 1.943, 1.812, 1.697]
    assert median_absolute_deviation([1, 2, 3, 4, 100]) == 1
