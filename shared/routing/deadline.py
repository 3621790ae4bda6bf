"""The time a request may still spend: the Lambda's remaining time and API Gateway's 29 s cap."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class RemainingTime(Protocol):
    """The part of the Lambda context the deadline needs."""

    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A point in monotonic time after which no new provider attempt may start."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends_at = clock() + max(budget_s, 0.0)

    @classmethod
    def for_invocation(cls, context: RemainingTime | None, api_cap_s: float, margin_s: float) -> Deadline:
        """The earlier of the API cap and the Lambda's own remaining time, less a margin to answer in."""
        budget = api_cap_s
        if context is not None:
            budget = min(budget, context.get_remaining_time_in_millis() / 1000)
        return cls(budget - margin_s)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(self._ends_at - self._clock(), 0.0)
