"""The registry's record: a creator account and the users who may send as it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINKED_USERS = 100


@dataclass(frozen=True)
class CreatorAccount:
    """One creator account; ``user_ids`` is the whole set of users allowed to send as it, sorted.

    ``version`` grows by one on every change: a write is conditional on the version it read, so
    two admins replacing the same set at once cannot interleave their link writes unnoticed.
    """

    account_id: str
    user_ids: tuple[str, ...]
    updated_at: float
    updated_by: str
    version: int = 1
    tenant: str | None = None  # the tenant it was created under (None: before tenants, platform admins only)

    def allows(self, user_id: str) -> bool:
        """Whether ``user_id`` may send as this account."""
        return user_id in self.user_ids


@dataclass(frozen=True)
class AccountListing:
    """Which accounts a listing shows: one user's (``user_id``), a tenant's (``tenant``), both (that user's
    accounts of that tenant), or every account (neither)."""

    user_id: str | None = None
    tenant: str | None = None

    @property
    def name(self) -> str:
        """What a page token is bound to."""
        if self.user_id is not None:
            return f"user:{self.user_id}" + (f"@tenant:{self.tenant}" if self.tenant is not None else "")
        return f"tenant:{self.tenant}" if self.tenant is not None else "all"


@dataclass(frozen=True)
class AccountPage:
    """One page of a listing, in account id order; ``last`` is where the next page starts after (None: no more)."""

    accounts: list[CreatorAccount]
    last: str | None = None
