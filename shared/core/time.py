"""Instants as the product shows and buckets them: UTC, ISO 8601 to the millisecond, calendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime

SECONDS_PER_DAY = 86_400


def iso_timestamp(epoch_s: float) -> str:
    """``2026-03-14T09:00:00.000Z``."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def whole_milliseconds(epoch_s: float) -> float:
    """An instant rounded to the millisecond, as stores that keep ``…AtMs`` hold it: echo and read agree."""
    return round(epoch_s * 1000) / 1000


def utc_day(epoch_s: float) -> date:
    """The UTC calendar day of an instant: days and months roll over at midnight UTC."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).date()
