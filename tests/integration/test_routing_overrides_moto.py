"""The routing overrides' DynamoDB store against the moto server: one transaction per change, the version
condition that makes a racing change lose, and the audit log newest first."""

from __future__ import annotations

import uuid

import pytest

from shared.costs.routing_overrides import DynamoRoutingOverrideStore, RouteChange, new_change_id
from shared.errors import RoutingConflictError
from shared.settings import RouteCandidate

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
AZURE = (RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),)


@pytest.fixture
def store(local_stack, settings):
    ddb = local_stack.moto.client("dynamodb")
    shape = ddb.describe_table(TableName=settings.cost_table_name)["Table"]
    name = f"routing-it-{uuid.uuid4().hex[:12]}"
    ddb.create_table(
        TableName=name,
        KeySchema=shape["KeySchema"],
        AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    yield DynamoRoutingOverrideStore(name, ddb)
    ddb.delete_table(TableName=name)


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
