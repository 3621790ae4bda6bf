"""The creator-account store against the moto server: the record, directory and links written together,
the version condition, Queries and pages in id order, and a swap of 100 users (more than one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from shared.core.errors import CreatorAccountConflictError
from shared.creator_accounts import CreatorAccount, DynamoCreatorAccountStore
from shared.creator_accounts.store import link_key


@pytest.fixture
def new_store(local_stack, settings) -> Iterator[Callable[[], DynamoCreatorAccountStore]]:
    """A fresh table shaped like the template's creator-accounts table (so listings see only this test's)."""
    ddb = local_stack.moto.client("dynamodb")
    shape = ddb.describe_table(TableName=settings.creator_accounts_table_name)["Table"]
    name = f"accounts-it-{uuid.uuid4().hex[:12]}"
    ddb.create_table(
        TableName=name,
        KeySchema=shape["KeySchema"],
        AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    yield lambda: DynamoCreatorAccountStore(name, local_stack.moto.client("dynamodb"))
    ddb.delete_table(TableName=name)


def account(account_id: str, users: list[str], version: int = 1) -> CreatorAccount:
    return CreatorAccount(account_id, tuple(sorted(users)), 1_700_000_000.123, "root", version)


def link_exists(store: DynamoCreatorAccountStore, user: str, account_id: str) -> bool:
    response = store._client.get_item(TableName=store._table, Key=link_key(user, account_id), ConsistentRead=True)
    return "Item" in response


def test_a_saved_account_reads_back_exactly_and_lists_for_each_of_its_users(new_store):
    store = new_store()
    made = account("creator_01", ["u1", "u2"])
    store.save(made, None)
    assert store.get("creator_01") == made
    assert store.get("creator_02") is None
    assert store.page_of_user("u1", 50, None).accounts == [made]
    assert store.page_of_user("u3", 50, None).accounts == []
    assert store.page_all(50, None).accounts == [made]


def test_replacing_the_set_moves_the_links_and_a_stale_version_loses(new_store):
    store = new_store()
    first = account("creator_01", ["u1", "u2"])
    store.save(first, None)
    second = account("creator_01", ["u2", "u3"], version=2)
    store.save(second, first)
    assert [link_exists(store, u, "creator_01") for u in ("u1", "u2", "u3")] == [False, True, True]
    with pytest.raises(CreatorAccountConflictError):
        store.save(account("creator_01", ["u9"], version=2), first)  # read version 1, but 2 is stored
    with pytest.raises(CreatorAccountConflictError):
        store.save(account("creator_01", ["u9"]), None)  # "new", but it exists
    assert store.get("creator_01") == second and not link_exists(store, "u9", "creator_01")


def test_swapping_100_users_for_100_others_spans_transactions_and_ends_exact(new_store):
    store = new_store()
    before = account("creator_big", [f"old-{i:03d}" for i in range(100)])
    store.save(before, None)
    after = account("creator_big", [f"new-{i:03d}" for i in range(100)], version=2)
    store.save(after, before)  # 100 Puts + 100 Deletes + record + directory: 202 items, three transactions
    assert store.get("creator_big") == after
    assert not any(link_exists(store, f"old-{i:03d}", "creator_big") for i in range(0, 100, 7))
    assert all(link_exists(store, f"new-{i:03d}", "creator_big") for i in range(0, 100, 7))
    assert store.page_of_user("new-042", 50, None).accounts == [after]
    assert store.page_of_user("old-042", 50, None).accounts == []


def test_deleting_removes_record_directory_and_every_link_and_a_stale_delete_loses(new_store):
    store = new_store()
    made = account("creator_01", [f"u{i}" for i in range(100)])
    store.save(made, None)
    with pytest.raises(CreatorAccountConflictError):
        store.delete(account("creator_01", list(made.user_ids), version=7))
    store.delete(made)  # 100 link Deletes + record + directory: two transactions
    assert store.get("creator_01") is None
    assert store.page_all(50, None).accounts == []
    assert not any(link_exists(store, f"u{i}", "creator_01") for i in range(100))


def test_pages_are_in_account_id_order_and_the_last_page_says_so(new_store):
    store = new_store()
    ids = [f"creator_{n:02d}" for n in (5, 1, 3, 2, 4)]
    for account_id in ids:
        store.save(account(account_id, ["u1"]), None)
    seen, after = [], None
    for _ in range(5):
        page = store.page_all(2, after)
        seen += [a.account_id for a in page.accounts]
        after = page.last
        if after is None:
            break
    assert seen == sorted(ids) and after is None
    exact = store.page_of_user("u1", 5, None)
    assert len(exact.accounts) == 5 and exact.last is None  # exactly a page: no empty next page
    assert store.page_of_user("u1", 4, None).last == "creator_04"


def test_a_link_the_record_does_not_back_is_left_out_of_the_users_listing(new_store):
    store = new_store()
    store.save(account("creator_01", ["u1"]), None)
    # What a crash between a big swap's first transactions and its last can leave: a link without the record's say-so.
    store._client.put_item(
        TableName=store._table, Item={**link_key("u2", "creator_01"), "accountId": {"S": "creator_01"}}
    )
    assert store.page_of_user("u2", 50, None).accounts == []


def test_a_tenants_accounts_list_from_its_own_directory_and_leave_it_when_removed(new_store):
    store = new_store()
    acme = [CreatorAccount(f"acme_{n:02d}", ("u1",), 1_700_000_000.123, "ta", 1, tenant="acme") for n in range(3)]
    beta = CreatorAccount("beta_01", ("u1", "u2"), 1_700_000_000.123, "tb", 1, tenant="beta")
    legacy = account("legacy_01", ["u1"])
    for made in (*acme, beta, legacy):
        store.save(made, None)
    assert store.get("acme_00") == acme[0] and store.get("legacy_01").tenant is None
    first = store.page_of_tenant("acme", 2, None)
    assert first.accounts == acme[:2] and first.last == "acme_01"
    assert store.page_of_tenant("acme", 2, first.last).accounts == acme[2:]
    assert store.page_of_tenant("beta", 50, None).accounts == [beta]
    assert [a.account_id for a in store.page_all(50, None).accounts] == [
        "acme_00",
        "acme_01",
        "acme_02",
        "beta_01",
        "legacy_01",
    ]
    changed = CreatorAccount("beta_01", ("u3",), 1_700_000_001.0, "root", 2, tenant="beta")
    store.save(changed, beta)
    assert store.page_of_tenant("beta", 50, None).accounts == [changed]
    store.delete(changed)
    assert store.page_of_tenant("beta", 50, None).accounts == []
