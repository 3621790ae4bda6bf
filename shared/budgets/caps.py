"""Where a user's and a tenant's hard caps come from, and the per-container cache in front of them.

A user's cap is their lowest monthly user-scope threshold with action ``block`` or ``downgrade``
(:meth:`shared.alerts.thresholds.ThresholdStore.hard_cap`), a tenant's its lowest tenant-scope one
(``tenant_cap``). Every budgeted request asks for both, and most have none, so each container remembers
the answers (none included) for ``BUDGET_CAP_CACHE_S``.
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
    """Where hard caps come from (the threshold store)."""

    def hard_cap(self, user_id: str) -> SpendThreshold | None: ...

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None: ...


class CachedHardCaps:
    """Caps, remembered per container for ``ttl_s`` seconds: users and tenants without a cap cost one read
    per interval, and a new or changed cap takes effect in every container within that interval."""

    def __init__(self, caps: HardCaps, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._caps = caps
        self._cache: TtlCache[str, SpendThreshold | None] = TtlCache(ttl_s, clock)
        self._tenant_cache: TtlCache[str, SpendThreshold | None] = TtlCache(ttl_s, clock)

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        """The cached cap while fresh, else a read of the store."""
        return self._cache.get(user_id, partial(self._caps.hard_cap, user_id))

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None:
        """The cached tenant cap while fresh, else a read of the store."""
        return self._tenant_cache.get(tenant_id, partial(self._caps.tenant_cap, tenant_id))
