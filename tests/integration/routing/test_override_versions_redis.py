"""The overrides' version board in a real Redis, over the DynamoDB store on the moto server: two containers
(two router views, each with its own cache) see an applied change on their next call, read DynamoDB only
when the version moved, never let an old version overwrite a newer one, and fall back to DynamoDB when
Redis is away."""

from __future__ import annotations

import uuid

import pytest
import redis

from shared.routing.candidates import RouteCandidate
from shared.routing.override_versions import AnnouncingOverrideStore, RedisVersionBoard
from shared.routing.overrides import (
    CachedRouteOverrides,
    DynamoRoutingOverrideStore,
    RouteChange,
    RoutingOverrides,
    new_change_id,
)
from tests.support import moto_tables

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
AZURE = (RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),)

costs_table = moto_tables.new_store  # a fresh costs table per test, shaped like the template's


class CountingStore(DynamoRoutingOverrideStore):
    """The real DynamoDB store, counting its reads of the current overrides."""

    reads = 0

    def current(self) -> RoutingOverrides:
        self.reads += 1
        return super().current()


@pytest.fixture
def client(redis_server):
    connection = redis.Redis.from_url(redis_server.url)
    yield connection
    connection.close()


@pytest.fixture
def key():
    return f"test:routing:version:{uuid.uuid4().hex}"


def container(costs, client, key, ttl_s=60):
    """One container's store (announcing its changes) and router view, over the shared table and Redis."""
    board = RedisVersionBoard(lambda: client, ttl_s, key)
    store = CountingStore(costs._table, costs._client)
    return store, AnnouncingOverrideStore(store, board), CachedRouteOverrides(store, 0, board=board)


def change(after):
    return RouteChange(new_change_id(1_800_000_000.0), "apply", "caption", AZURE, after, False, True, "root", 1.8e9)


def test_a_change_applied_in_one_container_serves_the_next_call_of_another(costs_table, client, key):
    costs = costs_table()
    _, writer, _ = container(costs, client, key)
    reader_store, _, reader = container(costs, client, key)

    assert reader.routes() == {}  # nothing published yet: DynamoDB read, and the board seeded with version 0
    assert client.get(key) == b"0"
    assert [reader.routes() for _ in range(5)] == [{}] * 5
    assert reader_store.reads == 1  # the version did not move: no DynamoDB read

    writer.commit(change(MINI), {"caption": MINI}, 0)
    assert client.get(key) == b"1" and 0 < client.ttl(key) <= 60
    assert reader.routes() == {"caption": MINI}  # the very next call
    assert reader_store.reads == 2
    assert reader.routes() == {"caption": MINI} and reader_store.reads == 2

    writer.commit(change(()), {}, 1)  # a revert back to the configured route
    assert reader.routes() == {} and reader_store.reads == 3


def test_the_board_only_moves_up(client, key):
    board = RedisVersionBoard(lambda: client, 60, key)
    board.offer(3)
    board.offer(2)  # a writer (or a reader's seed) that arrives late
    assert board.read() == 3
    board.offer(4)
    assert board.read() == 4


def test_an_expired_version_is_reseeded_from_dynamodb(costs_table, client, key):
    costs = costs_table()
    store, writer, reader = container(costs, client, key)
    writer.commit(change(MINI), {"caption": MINI}, 0)
    assert reader.routes() == {"caption": MINI}
    client.delete(key)  # expired, evicted, or a Redis that restarted empty
    assert reader.routes() == {"caption": MINI}
    assert client.get(key) == b"1" and store.reads == 2


def test_without_redis_every_call_reads_dynamodb_and_still_sees_changes(costs_table, key):
    costs = costs_table()
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    store, writer, reader = container(costs, unreachable, key)
    assert reader.routes() == {}
    writer.commit(change(MINI), {"caption": MINI}, 0)  # the change commits although it cannot publish
    assert reader.routes() == {"caption": MINI}
    assert store.reads == 2
