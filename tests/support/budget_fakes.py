"""In-memory fakes for budget enforcement: the budget store (DynamoDB's semantics) and a cap source."""

from __future__ import annotations

import threading

from shared.alerts.thresholds import SpendThreshold
from shared.budgets.store import Reservation, ReserveResult


class InMemoryBudgetStore:
    """Budget items and reservations in dicts; a lock stands in for DynamoDB's per-item serialization.

    ``calls`` counts every operation, so a test can show a user without a cap costs nothing here.
    """

    def __init__(self) -> None:
        self.committed_by_month: dict[tuple[str, str], int] = {}
        self.reservations: dict[str, Reservation] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def seed(self, user_id: str, month: str, committed_micros: int) -> bool:
        with self._lock:
            self.calls.append("seed")
            if (user_id, month) in self.committed_by_month:
                return False
            self.committed_by_month[(user_id, month)] = committed_micros
            return True

    def reserve(self, reservation: Reservation, cap_micros: int) -> ReserveResult:
        with self._lock:
            self.calls.append("reserve")
            key = (reservation.user_id, reservation.month)
            committed = self.committed_by_month.get(key)
            held = self.reservations.get(reservation.reservation_id)
            if committed is not None and held is None and committed <= cap_micros - reservation.micros:
                self.committed_by_month[key] = committed + reservation.micros
                self.reservations[reservation.reservation_id] = reservation
                return ReserveResult("reserved", reservation)
            if held is not None:
                return ReserveResult("held", held)
            if committed is None:
                return ReserveResult("missing")
            return ReserveResult("over", committed_micros=committed)

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        with self._lock:
            self.calls.append("settle")
            if self.reservations.pop(reservation.reservation_id, None) is None:
                return False
            key = (reservation.user_id, reservation.month)
            self.committed_by_month[key] = self.committed_by_month.get(key, 0) + actual_micros - reservation.micros
            return True

    def committed(self, user_id: str, month: str) -> int | None:
        with self._lock:
            self.calls.append("committed")
            return self.committed_by_month.get((user_id, month))


class FixedCaps:
    """Hard caps by user id; ``lookups`` counts the reads."""

    def __init__(self, caps: dict[str, SpendThreshold] | None = None) -> None:
        self.caps = caps or {}
        self.lookups = 0

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        self.lookups += 1
        return self.caps.get(user_id)


def cap(user_id: str, micros: int, action: str = "block") -> SpendThreshold:
    """A monthly user-scope hard cap."""
    return SpendThreshold(
        threshold_id=f"th_{'0' * 31}1",
        scope="user",
        subject_id=user_id,
        owner_id=user_id,
        period="monthly",
        micros=micros,
        action=action,
    )
