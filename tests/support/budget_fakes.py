"""In-memory fakes for budget enforcement: the budget store (DynamoDB's semantics) and a cap source."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from shared.alerts.thresholds import SpendThreshold, tenant_owner
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

    def seed(self, budget: str, month: str, committed_micros: int) -> bool:
        with self._lock:
            self.calls.append("seed")
            if (budget, month) in self.committed_by_month:
                return False
            self.committed_by_month[(budget, month)] = committed_micros
            return True

    def reserve(self, reservation: Reservation, caps: Mapping[str, int]) -> ReserveResult:
        with self._lock:
            self.calls.append("reserve")
            keys = [(budget, reservation.month) for budget in reservation.budgets]
            committed = {key[0]: self.committed_by_month.get(key) for key in keys}
            held = self.reservations.get(reservation.reservation_id)
            missing = tuple(budget for budget, micros in committed.items() if micros is None)
            fits = all(
                micros is not None and micros <= caps[budget] - reservation.micros
                for budget, micros in committed.items()
            )
            if held is None and fits:
                for key in keys:
                    self.committed_by_month[key] += reservation.micros
                self.reservations[reservation.reservation_id] = reservation
                return ReserveResult("reserved", reservation)
            if held is not None:
                return ReserveResult("held", held)
            if missing:
                return ReserveResult("missing", missing=missing)
            return ReserveResult("over", committed={budget: int(micros or 0) for budget, micros in committed.items()})

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        with self._lock:
            self.calls.append("settle")
            if self.reservations.pop(reservation.reservation_id, None) is None:
                return False
            for budget in reservation.budgets:
                key = (budget, reservation.month)
                self.committed_by_month[key] = self.committed_by_month.get(key, 0) + actual_micros - reservation.micros
            return True

    def committed(self, budget: str, month: str) -> int | None:
        with self._lock:
            self.calls.append("committed")
            return self.committed_by_month.get((budget, month))


class FixedCaps:
    """Hard caps by user id (tenants' by :func:`tenant_owner`); ``lookups`` counts the reads."""

    def __init__(self, caps: dict[str, SpendThreshold] | None = None) -> None:
        self.caps = caps or {}
        self.lookups = 0

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        self.lookups += 1
        return self.caps.get(user_id)

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None:
        self.lookups += 1
        return self.caps.get(tenant_owner(tenant_id))


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


def tenant_cap(tenant_id: str, micros: int, action: str = "block") -> SpendThreshold:
    """A tenant's monthly hard cap."""
    return SpendThreshold(
        threshold_id=f"th_{'0' * 31}2",
        scope="tenant",
        subject_id=tenant_id,
        owner_id=tenant_owner(tenant_id),
        period="monthly",
        micros=micros,
        action=action,
    )
