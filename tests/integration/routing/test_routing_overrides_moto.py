"""The routing overrides' DynamoDB store against the moto server: one transaction per change, the version
condition that makes a racing change lose, and the audit log newest first."""

from __future__ import annotations

import pytest

from shared.core.errors import RoutingConflictError
from shared.routing.candidates import RouteCandidate
from shared.routing.overrides import DynamoRoutingOverrideStore, RouteChange, new_change_id
from tests.support import moto_tables

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
AZURE = (RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),)


costs_table = moto_tables.new_store  # a fresh costs table per test, shaped like the template's


@pytest.fixture
def store(costs_table):
    table = costs_table()
    return DynamoRoutingOverrideStore(table._table, table._client)


def change(at: float, after: tuple[RouteCandidate, ...]) -> RouteChange:
    return RouteChange(new_change_id(at), "apply", "caption", AZURE, after, False, True, "root", at, "rec_" + "a" * 20)


def test_changes_commit_with_their_audit_items_and_list_newest_first(store):
    assert store.current().routes == {} and store.current().version == 0
    first, second = change(1_800_000_000.0, MINI), change(1_800_000_000.5, AZURE)
    store.commit(first, {"caption": MINI}, 0)
    store.commit(second, {"caption": AZURE, "fan_messages": MINI}, 1)
    current = store.current()
    assert (current.routes, current.version) == ({"caption": AZURE, "fan_messages": MINI}, 2)
    assert store.change(first.change_id) == first
    assert store.change("chg_0000000000000deadbeef") is None
    assert [c.change_id for c in store.changes(10)] == [second.change_id, first.change_id]
    assert [c.change_id for c in store.changes(1)] == [second.change_id]


def test_a_change_from_a_stale_version_is_refused_and_writes_nothing(store):
    store.commit(change(1_800_000_000.0, MINI), {"caption": MINI}, 0)
    late = change(1_800_000_001.0, AZURE)
    with pytest.raises(RoutingConflictError):
        store.commit(late, {"caption": AZURE}, 0)  # read before the first change landed
    assert store.current().routes == {"caption": MINI}
    assert store.change(late.change_id) is None
