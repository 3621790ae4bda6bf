"""The registry's rules: admins change it, users read their own part, and senders are checked against it.

Tenants: an account keeps the tenant it was created under (the creator's ``tenant`` claim). A tenant
admin creates, changes, removes and lists the accounts of their own tenant; another tenant's account,
or one created before tenants (no tenant), is a 404 to them as if it did not exist. A user sends as an
account of a tenant only under that same tenant claim (platform admins see and change everything).

A user may send as an account only when its record lists them. Admins are no exception: being an
admin lets someone link users, not send as an account nobody linked them to, so a mistyped
account id never reaches fans. The check is one strongly consistent GetItem and runs before a
workflow is stored, a token is spent or anything is queued.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from shared.core.errors import (
    AccountNotAllowedError,
    CreatorAccountConflictError,
    CreatorAccountNotFoundError,
    ForbiddenError,
)
from shared.core.identity import Caller
from shared.creator_accounts.model import AccountListing, AccountPage, CreatorAccount
from shared.creator_accounts.store import CreatorAccountStore

# Two admins changing one account at once: the loser reads again and reapplies its set this often.
WRITE_ATTEMPTS = 3
T = TypeVar("T")


class CreatorAccountService:
    """Manages the registry (admins) and answers who may send as which account."""

    def __init__(self, store: CreatorAccountStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def require_sender(self, account_id: str, caller: Caller) -> None:
        """Raise :class:`AccountNotAllowedError` unless ``caller`` is linked to ``account_id``."""
        account = self._store.get(account_id)
        if account is None or not account.allows(caller.user_id) or not _same_tenant(account, caller):
            raise AccountNotAllowedError(
                f"You may not send as creator account {account_id}.",
                details=[
                    {
                        "field": "data.accountId",
                        "message": "this account is not linked to the caller",
                        "type": "account_not_allowed",
                    }
                ],
            )

    def link(self, caller: Caller, account_id: str, user_ids: Sequence[str]) -> CreatorAccount:
        """Replace the set of users who may send as ``account_id`` (creating the account if new)."""
        _require_admin(caller)

        def write() -> CreatorAccount:
            previous = self._store.get(account_id)
            if previous is not None and not _manages(caller, previous):
                raise CreatorAccountNotFoundError(f"No creator account {account_id} in your tenant.")
            account = CreatorAccount(
                account_id=account_id,
                user_ids=tuple(sorted(set(user_ids))),
                updated_at=self._clock(),
                updated_by=caller.user_id,
                version=previous.version + 1 if previous else 1,
                tenant=previous.tenant if previous else caller.tenant,
            )
            self._store.save(account, previous)
            return account

        return _retrying(write)

    def remove(self, caller: Caller, account_id: str) -> None:
        """Delete the account and its links: later sends as it are refused. Unknown → 404."""
        _require_admin(caller)

        def write() -> None:
            account = self._store.get(account_id)
            if account is None or not _manages(caller, account):
                raise CreatorAccountNotFoundError(f"No creator account {account_id}.")
            self._store.delete(account)

        _retrying(write)

    def whose_accounts(self, caller: Caller, user_id: str | None) -> AccountListing:
        """Whose accounts a listing shows: the caller's; an admin's, one user's with ``user_id``, else
        every account; a tenant admin's, their tenant's (one user's accounts of it with ``user_id``).
        Anyone else naming another user is refused (403), as the cost routes do."""
        if caller.is_admin:
            return AccountListing(user_id=user_id or None)
        if caller.is_tenant_admin and user_id != caller.user_id:
            return AccountListing(user_id=user_id or None, tenant=caller.tenant)
        if user_id and user_id != caller.user_id:
            raise ForbiddenError("Only admins can see another user's creator accounts.")
        return AccountListing(user_id=caller.user_id)

    def page(self, listing: AccountListing, limit: int, after: str | None) -> AccountPage:
        """A page of the listing's accounts in account id order, after ``after``."""
        if listing.user_id is None:
            if listing.tenant is None:
                return self._store.page_all(limit, after)
            return self._store.page_of_tenant(listing.tenant, limit, after)
        page = self._store.page_of_user(listing.user_id, limit, after)
        if listing.tenant is None:
            return page
        return AccountPage([a for a in page.accounts if a.tenant == listing.tenant], page.last)


def _retrying(write: Callable[[], T]) -> T:
    """Run a read-then-conditional-write again when another change won the race, up to WRITE_ATTEMPTS."""
    for _ in range(WRITE_ATTEMPTS - 1):
        try:
            return write()
        except CreatorAccountConflictError:
            continue
    return write()


def _require_admin(caller: Caller) -> None:
    if not (caller.is_admin or caller.is_tenant_admin):
        raise ForbiddenError("Only admins can change which users may send as a creator account.")


def _manages(caller: Caller, account: CreatorAccount) -> bool:
    """Platform admins manage every account; a tenant admin only their own tenant's."""
    return caller.is_admin or caller.manages_tenant(account.tenant)


def _same_tenant(account: CreatorAccount, caller: Caller) -> bool:
    """An account of a tenant sends only for callers under that tenant; one without a tenant for anyone linked."""
    return account.tenant is None or account.tenant == caller.tenant
