"""Where a user's hard cap comes from, and the per-container cache in front of it.

A cap is the user's lowest monthly user-scope threshold with action ``block`` or ``downgrade``
(:meth:`shared.alerts.thresholds.ThresholdStore.hard_cap`). Every budgeted request asks for it, and most
users have none, so each container remembers the answer (none included) for ``BUDGET_CAP_CACHE_S``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from shared.core.cache import TtlCache

if TYPE_CHECKING:
    from shared.alerts.thresholds import SpendThreshold


class HardCaps(Protocol):
    """Where a user's hard cap comes from (the threshold store)."""

    def hard_cap(self, user_id: str) -> SpendThreshold | None: ...


class CachedHardCaps:
    """A user's cap, remembered per container for ``ttl_s`` seconds: users without a cap cost one read per
    interval, and a new or changed cap takes effect in every container within that interval."""

    def __init__(self, caps: HardCaps, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._caps = caps
        self._cache: TtlCache[str, SpendThreshold | None] = TtlCache(ttl_s, clock)

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        """The cached cap while fresh, else a read of the store."""
        return self._cache.get(user_id, partial(self._caps.hard_cap, user_id))
