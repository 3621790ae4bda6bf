"""Claim once, then publish: how exactly one of many concurrent callers sends a given alert.

Every alert path (the settings' daily and monthly thresholds, the stored thresholds' crossings and an
owner's e-mail of the period, the forecast's early warnings) elects its sender the same way: a
conditional Put of a marker item that only one caller can create. The winner publishes; if publishing
fails the marker is deleted again, so a later check retries instead of the alert being lost. A loser
does nothing: the winner is sending, or sent already.

A marker lives :data:`MARKER_TTL_S` (through the table's TTL on ``expiresAt``): longer than the
longest period it guards (a month), so it cannot expire while its period can still be crossed again,
and it is gone soon after, so no marker item outlives its use by more than a month.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from shared.core.time import SECONDS_PER_DAY

MARKER_TTL_S = 62 * SECONDS_PER_DAY  # outlives the longest period a marker guards (a calendar month)

Marker = tuple[str, str]  # (pk, sk)
Sent = TypeVar("Sent")


class MarkerStore(Protocol):
    """Where markers are claimed: a conditional create and a delete (the costs table)."""

    def put_if_absent(self, key: Marker, attributes: Mapping[str, Any]) -> bool: ...

    def delete(self, key: Marker) -> None: ...


class Election:
    """Elects one sender per marker; see the module docstring."""

    def __init__(self, store: MarkerStore, ttl_s: int = MARKER_TTL_S) -> None:
        self._store = store
        self._ttl_s = ttl_s

    def claim(self, marker: Marker, at: float, attributes: Mapping[str, Any]) -> bool:
        """True for the one caller whose conditional Put created the marker (``attributes`` say what won it)."""
        return self._store.put_if_absent(marker, {**attributes, "expiresAt": int(at) + self._ttl_s})

    def release(self, marker: Marker) -> None:
        """Give the marker back (what it elected was not sent), so the next check may claim it again."""
        self._store.delete(marker)

    def run(self, marker: Marker, at: float, attributes: Mapping[str, Any], publish: Callable[[], Sent]) -> Sent | None:
        """``publish()``'s result for the elected caller, None for every other one; a ``publish`` that raises
        releases the marker and the error propagates. ``publish`` must not return None."""
        if not self.claim(marker, at, attributes):
            return None
        try:
            return publish()
        except Exception:
            self.release(marker)
            raise
