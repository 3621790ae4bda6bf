"""Forecasts of a scope's spend, and the early warning when the month-end projection crosses a monthly threshold.

A scope's forecast is one Query (its daily totals for the last 56 days and today). The monthly
thresholds it is compared with: for everyone, the settings' ``MONTHLY_COST_THRESHOLD_USD`` and the
stored global monthly thresholds; for one user, their own stored user-scope monthly thresholds.

Early warning: when the projection's central value reaches a threshold that the month-to-date has
not reached yet, one e-mail goes to the cost-alert topic, once per threshold, scope and month,
whatever the number of containers: the conditional Put of a ``FORECAST#…`` marker elects the
sender (:class:`~shared.core.election.Election`, as the threshold alerts do), and a failed publish
releases the marker so a later check retries.

Where it runs: in the stream's aggregator, after a batch is folded, for everyone and each user in the
batch, at most once per ``interval_s`` per scope and container, so the extra reads come only
occasionally and never on a campaign's request path; a failure is logged and counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Literal

from shared.alerts.channels import SNS_SUBJECT_MAX, AlertPublisher
from shared.alerts.thresholds import GLOBAL_OWNER, ThresholdStore
from shared.core.election import Election
from shared.core.observability import logger
from shared.core.pricing import format_usd
from shared.core.time import SECONDS_PER_DAY, utc_day
from shared.forecast.model import DEFAULT_SPIKE_RULE, HISTORY_DAYS, Forecast, Projection, SpikeRule, forecast
from shared.ledger.keys import EVERYONE, FORECAST_MARKER_PREFIX, Key, Scope, month_period
from shared.ledger.ledger import CostLedger
from shared.routing.telemetry import record_cost_alert, record_cost_failure

SETTINGS_THRESHOLD_ID = "settings"


@dataclass(frozen=True)
class MonthlyThreshold:
    """A monthly amount a scope's spend is compared with: the settings' global one or a stored one."""

    threshold_id: str  # "settings", or the stored threshold's "th_…" id
    micros: int
    source: Literal["settings", "stored"]


@dataclass(frozen=True)
class SentWarning:
    """An early warning this caller sent."""

    scope: Scope
    threshold: MonthlyThreshold
    month: str
    projected_micros: int
    subject: str


def forecast_marker_key(scope: Scope, threshold: MonthlyThreshold, day: date) -> Key:
    """The marker whose conditional creation elects the one sender of a month's early warning."""
    return f"{FORECAST_MARKER_PREFIX}{scope.key}#{threshold.threshold_id}#{threshold.micros}", month_period(day)


class SpendForecaster:
    """Reads a scope's daily totals (one Query) and its monthly thresholds, and forecasts."""

    def __init__(
        self,
        ledger: CostLedger,
        settings_monthly_micros: int,
        thresholds: ThresholdStore | None = None,
        confidence: float = 0.9,
        spike_rule: SpikeRule = DEFAULT_SPIKE_RULE,
    ) -> None:
        self._ledger = ledger
        self._settings_monthly = settings_monthly_micros
        self._thresholds = thresholds
        self._confidence = confidence
        self._spike_rule = spike_rule

    def forecast(self, scope: Scope, at: float) -> Forecast:
        """The forecast as of ``at`` (epoch seconds) from the last 56 days' totals and today's."""
        today = utc_day(at)
        days = self._ledger.breakdown(scope, "day", today - timedelta(days=HISTORY_DAYS), today)
        daily = {date.fromisoformat(day): counters.micros for day, counters in days.items()}
        elapsed = (at % SECONDS_PER_DAY) / SECONDS_PER_DAY
        return forecast(daily, today, elapsed, self._confidence, self._spike_rule)

    def monthly_thresholds(self, scope: Scope) -> list[MonthlyThreshold]:
        """Everyone: the settings' threshold and the stored global ones; a user: their own user-scope ones."""
        found = (
            [MonthlyThreshold(SETTINGS_THRESHOLD_ID, self._settings_monthly, "settings")] if scope == EVERYONE else []
        )
        if self._thresholds is None:
            return found
        owner = GLOBAL_OWNER if scope == EVERYONE else str(scope.user_id)
        wanted = "global" if scope == EVERYONE else "user"
        for stored in self._thresholds.list_for(owner):
            if stored.period == "monthly" and stored.scope == wanted:
                found.append(MonthlyThreshold(stored.threshold_id, stored.micros, "stored"))
        return found


class EarlyWarnings:
    """Sends the one early-warning e-mail per threshold, scope and month whose projection crosses it."""

    def __init__(
        self, forecaster: SpendForecaster, ledger: CostLedger, publisher: AlertPublisher, product: str
    ) -> None:
        self._forecaster = forecaster
        self._election = Election(ledger.store)
        self._publisher = publisher
        self._product = product

    def check(self, scope: Scope, at: float) -> list[SentWarning]:
        """Thresholds first (no thresholds, no forecast read); a Put and a publish only for a new crossing."""
        thresholds = self._forecaster.monthly_thresholds(scope)
        if not thresholds:
            return []
        outlook = self._forecaster.forecast(scope, at)
        projection = outlook.projection
        if projection is None:
            return []
        sent = []
        for threshold in thresholds:
            if outlook.month_to_date_micros >= threshold.micros or projection.projected_micros < threshold.micros:
                continue
            marker = forecast_marker_key(scope, threshold, outlook.today)
            subject = self._election.run(
                marker,
                at,
                {"projectedMicros": projection.projected_micros},
                partial(self._send, scope, threshold, outlook, projection),
            )
            if subject is not None:  # else already warned this month (or another container is warning now)
                sent.append(SentWarning(scope, threshold, marker[1], projection.projected_micros, subject))
        return sent

    def _send(self, scope: Scope, threshold: MonthlyThreshold, outlook: Forecast, projection: Projection) -> str:
        subject, body = forecast_email(self._product, scope, threshold, outlook, projection)
        self._publisher.publish(subject, body)
        return subject


class ForecastWatch:
    """The aggregator's hook: each scope a batch touched is checked at most once per interval."""

    def __init__(self, warnings: EarlyWarnings, interval_s: float, clock: Callable[[], float] = time.time) -> None:
        self._warnings = warnings
        self._interval_s = interval_s
        self._clock = clock
        self._last_check: dict[str, float] = {}

    def after_batch(self, scopes: Iterable[Scope]) -> None:
        """Check each scope's forecast when due; never raises (logged and counted instead)."""
        now = self._clock()
        for scope in dict.fromkeys(scopes):
            if now - self._last_check.get(scope.key, -math.inf) < self._interval_s:
                continue
            self._last_check[scope.key] = now
            try:
                for warning in self._warnings.check(scope, now):
                    logger.warning("cost forecast warning sent", extra={"subject": warning.subject})
                    record_cost_alert("forecast")
            except Exception:
                logger.exception("cost forecast check failed", extra={"scope": scope.key})
                record_cost_failure("forecast")


def forecast_email(
    product: str, scope: Scope, threshold: MonthlyThreshold, outlook: Forecast, projection: Projection
) -> tuple[str, str]:
    """(subject, body) of an early warning: the projection, its interval, and when the crossing is expected."""
    whose = "all users" if scope.user_id is None else f"user {scope.user_id}"
    month = f"{outlook.today:%Y-%m}"
    limit, projected = format_usd(threshold.micros), format_usd(projection.projected_micros)
    subject = f"{product}: {month} AI spend projected {projected}, above the monthly {limit}"[:SNS_SUBJECT_MAX]
    crossing = outlook.crossing_date(threshold.micros)
    lines = [
        f"The month-end forecast of AI provider spend for {whose} in {month} (UTC) is {projected}, above the "
        f"monthly threshold of {limit}. Spend has not crossed it yet: {format_usd(outlook.month_to_date_micros)} "
        f"so far, as of {outlook.today.isoformat()}.",
        "",
        f"Expected crossing: {crossing.isoformat() if crossing else 'not before month end'}.",
        f"{round(100 * projection.confidence)}% prediction interval for the month end: "
        f"{format_usd(projection.low_micros)} to {format_usd(projection.high_micros)}.",
        f"Model: {projection.method} on {outlook.history_days} days of history; trend "
        f"{format_usd(round(abs(projection.slope_micros_per_day)))} per day "
        f"{'up' if projection.slope_micros_per_day >= 0 else 'down'}.",
        "",
        f"This is the only early warning for this threshold in {month}; the threshold alert itself is sent "
        "if and when spend actually crosses it.",
    ]
    return subject, "\n".join(lines) + "\n"
