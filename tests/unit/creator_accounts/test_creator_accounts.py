"""The creator-account registry's rules, over the in-memory store: who may change it, read it, and send."""

from __future__ import annotations

import pytest

from shared.core.errors import (
    AccountNotAllowedError,
    CreatorAccountConflictError,
    CreatorAccountNotFoundError,
    ForbiddenError,
)
from shared.core.identity import Caller
from shared.creator_accounts.model import AccountListing
from shared.creator_accounts.service import CreatorAccountService
from tests.support.fakes import InMemoryCreatorAccountStore, linked_accounts

ADMIN = Caller(user_id="root", is_admin=True)
U1, U2 = Caller(user_id="u1"), Caller(user_id="u2")


def test_an_admin_sets_the_users_of_an_account_sorted_and_once_each():
    service, store = linked_accounts({})
    account = service.link(ADMIN, "creator_01", ["u2", "u1"])
    assert account.user_ids == ("u1", "u2") and account.updated_by == "root" and account.version == 1
    assert store.accounts["creator_01"] == account


def test_setting_the_users_again_replaces_the_whole_set():
    service, _ = linked_accounts({})
    service.link(ADMIN, "creator_01", ["u1", "u2"])
    replaced = service.link(ADMIN, "creator_01", ["u3"])
    assert replaced.user_ids == ("u3",) and replaced.version == 2
    with pytest.raises(AccountNotAllowedError):
        service.require_sender("creator_01", U1)
    service.require_sender("creator_01", Caller(user_id="u3"))


@pytest.mark.parametrize("caller", [U1, Caller(user_id="u1", tenant="t1")])
def test_only_admins_change_or_remove_accounts(caller):
    service, store = linked_accounts({"creator_01": ["u1"]})
    with pytest.raises(ForbiddenError):
        service.link(caller, "creator_01", ["u1", "u9"])
    with pytest.raises(ForbiddenError):
        service.remove(caller, "creator_01")
    assert store.accounts["creator_01"].user_ids == ("u1",)


def test_a_linked_user_may_send_and_anyone_else_is_refused_with_the_field_named():
    service, _ = linked_accounts({"creator_01": ["u1"]})
    service.require_sender("creator_01", U1)
    with pytest.raises(AccountNotAllowedError) as caught:
        service.require_sender("creator_01", U2)
    assert caught.value.code == "ACCOUNT_NOT_ALLOWED"
    assert caught.value.details[0]["field"] == "data.accountId"


def test_an_admin_not_linked_to_the_account_is_refused_too():
    service, _ = linked_accounts({"creator_01": ["u1"]})
    with pytest.raises(AccountNotAllowedError):
        service.require_sender("creator_01", ADMIN)


def test_an_unknown_account_is_refused_like_an_unlinked_one():
    service, _ = linked_accounts({})
    with pytest.raises(AccountNotAllowedError):
        service.require_sender("creator_typo", U1)


def test_the_sending_check_is_one_read():
    service, store = linked_accounts({"creator_01": ["u1"]})
    service.require_sender("creator_01", U1)
    assert store.reads == 1


def test_a_removed_account_refuses_later_sends_and_a_second_removal_is_a_404():
    service, store = linked_accounts({"creator_01": ["u1"]})
    service.remove(ADMIN, "creator_01")
    assert "creator_01" not in store.accounts
    with pytest.raises(AccountNotAllowedError):
        service.require_sender("creator_01", U1)
    with pytest.raises(CreatorAccountNotFoundError):
        service.remove(ADMIN, "creator_01")


def test_a_lost_race_is_retried_and_a_persistent_one_is_a_conflict():
    service, store = linked_accounts({})
    store.races = 2
    assert service.link(ADMIN, "creator_01", ["u1"]).user_ids == ("u1",)
    store.races = 3
    with pytest.raises(CreatorAccountConflictError):
        service.link(ADMIN, "creator_01", ["u2"])
    assert store.accounts["creator_01"].user_ids == ("u1",)


TENANT_ADMIN_A = Caller(user_id="ta", tenant="acme", tenant_admin=True)


@pytest.mark.parametrize(
    ("caller", "user_id", "listing"),
    [
        (U1, None, AccountListing("u1")),
        (U1, "u1", AccountListing("u1")),
        (ADMIN, None, AccountListing()),  # every account
        (ADMIN, "u2", AccountListing("u2")),
        (TENANT_ADMIN_A, None, AccountListing(tenant="acme")),  # the tenant's accounts
        (TENANT_ADMIN_A, "u2", AccountListing("u2", "acme")),  # u2's accounts of the tenant
        (TENANT_ADMIN_A, "ta", AccountListing("ta")),  # their own
        (Caller(user_id="x", tenant_admin=True), None, AccountListing("x")),  # no tenant: no tenant admin
    ],
)
def test_whose_accounts_a_listing_shows(caller, user_id, listing):
    service, _ = linked_accounts({})
    assert service.whose_accounts(caller, user_id) == listing


def _tenant_registry() -> tuple[CreatorAccountService, InMemoryCreatorAccountStore]:
    service, store = linked_accounts({})
    service.link(TENANT_ADMIN_A, "acme_01", ["a1", "a2"])
    service.link(Caller(user_id="tb", tenant="beta", tenant_admin=True), "beta_01", ["b1", "a1"])
    service.link(ADMIN, "legacy_01", ["a1"])
    return service, store


def test_accounts_keep_the_tenant_they_were_created_under():
    service, store = _tenant_registry()
    assert [store.accounts[i].tenant for i in ("acme_01", "beta_01", "legacy_01")] == ["acme", "beta", None]
    service.link(ADMIN, "acme_01", ["a3"])  # a platform admin's change keeps the tenant
    assert store.accounts["acme_01"].tenant == "acme"
    page = service.page(service.whose_accounts(TENANT_ADMIN_A, None), 50, None)
    assert [a.account_id for a in page.accounts] == ["acme_01"]
    page = service.page(service.whose_accounts(TENANT_ADMIN_A, "a1"), 50, None)
    assert page.accounts == []  # a1 is linked to beta's and the legacy account only


@pytest.mark.parametrize("account_id", ["beta_01", "legacy_01"])
def test_a_tenant_admin_cannot_touch_another_tenants_or_a_tenantless_account(account_id):
    service, store = _tenant_registry()
    before = store.accounts[account_id]
    with pytest.raises(CreatorAccountNotFoundError):
        service.link(TENANT_ADMIN_A, account_id, ["a1"])
    with pytest.raises(CreatorAccountNotFoundError):
        service.remove(TENANT_ADMIN_A, account_id)
    assert store.accounts[account_id] == before
    service.remove(TENANT_ADMIN_A, "acme_01")
    assert "acme_01" not in store.accounts


def test_an_account_of_a_tenant_sends_only_under_that_tenant():
    service, _ = _tenant_registry()
    service.require_sender("beta_01", Caller(user_id="b1", tenant="beta"))
    service.require_sender("legacy_01", Caller(user_id="a1", tenant="acme"))  # no tenant: the links decide
    for caller in (Caller(user_id="a1", tenant="acme"), Caller(user_id="a1")):
        with pytest.raises(AccountNotAllowedError):
            service.require_sender("beta_01", caller)


def test_tenant_admin_without_a_tenant_or_a_plain_user_cannot_link():
    service, _ = linked_accounts({})
    for caller in (Caller(user_id="x", tenant_admin=True), Caller(user_id="u", tenant="acme")):
        with pytest.raises(ForbiddenError):
            service.link(caller, "acme_02", ["u"])


def test_a_user_naming_another_user_is_forbidden():
    service, _ = linked_accounts({})
    with pytest.raises(ForbiddenError):
        service.whose_accounts(U1, "u2")


def test_pages_follow_account_id_order_and_say_where_the_next_starts():
    service, _ = linked_accounts({"c_b": ["u1"], "c_a": ["u1", "u2"], "c_c": ["u2"]})
    first = service.page(AccountListing("u1"), 1, None)
    assert [a.account_id for a in first.accounts] == ["c_a"] and first.last == "c_a"
    second = service.page(AccountListing("u1"), 1, first.last)
    assert [a.account_id for a in second.accounts] == ["c_b"] and second.last is None
    everything = service.page(AccountListing(), 50, None)
    assert [a.account_id for a in everything.accounts] == ["c_a", "c_b", "c_c"] and everything.last is None
