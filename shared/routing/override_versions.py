"""The routing overrides' version on a board every container can read in one round trip (Redis).

Why: the router must serve the next request after an apply or a revert on the new route, and the
overrides live in DynamoDB; reading them (strongly consistent) on every routed call is one of the
campaign path's DynamoDB requests. The overrides item carries a ``version`` that every change bumps,
so a container that remembers the routes it read and their version only needs the *current version*
to know whether they are still in force: one Redis ``GET``, then a DynamoDB read only when it moved.

The rules that keep it correct:

- **Writers publish after they commit** (:class:`AnnouncingOverrideStore`): the change's DynamoDB
  transaction first, then the board. A request that starts after the apply answered sees the new
  version, hence reads the new routes.
- **The board only moves up** (:data:`_RAISE_SCRIPT`: set when absent or lower, never lower), so two
  writers publishing out of order, or a reader seeding the board from what it read, cannot put an old
  version back over a newer one.
- **An absent version is not a version**: the container reads DynamoDB and seeds the board with what
  it read (the same raise-only script). So a Redis that restarted or evicted the key costs one read.
- **The board's entries expire** (``ttl_s``): a writer that died between its commit and its publish,
  or could not reach Redis, leaves the old version up for at most that long; then a reader reseeds it
  from DynamoDB.
- **No board, or an unreachable one, means DynamoDB**: every routed call reads the overrides, as
  without a board (correctness first; a Redis error never fails a campaign).

A container whose function has no Redis (deployed, the functions that call providers stay outside
Redis's VPC) is built without a board and reads DynamoDB on every routed call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shared.core.observability import logger
from shared.routing.overrides import RouteChange, RoutingOverrides, RoutingOverrideStore

VERSION_KEY = "routing:overrides:version"
# KEYS[1] the version key; ARGV[1] the version offered, ARGV[2] its time to live in seconds.
_RAISE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
local offered = tonumber(ARGV[1])
if current == nil or current < offered then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
"""


class VersionBoard(Protocol):
    """Where the overrides' current version is published."""

    def read(self) -> int | None:
        """The published version, None when none is; raises when the board cannot answer."""
        ...

    def offer(self, version: int) -> None:
        """Publish ``version`` unless a higher one is up already (raises when the board cannot answer)."""
        ...


class RedisVersionBoard:
    """:class:`VersionBoard` in one Redis key; ``client`` gives the container's client (built on first use)."""

    def __init__(self, client: Callable[[], Any], ttl_s: int, key: str = VERSION_KEY) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._key = key

    def read(self) -> int | None:
        """One ``GET``."""
        raw = self._client().get(self._key)
        return None if raw is None else int(raw)

    def offer(self, version: int) -> None:
        """One ``EVAL`` of the raise-only script (one key, so a cluster routes it like the limiter's)."""
        self._client().eval(_RAISE_SCRIPT, 1, self._key, str(version), str(self._ttl_s))


class AnnouncingOverrideStore:
    """A :class:`RoutingOverrideStore` whose commits also publish the new version on the board.

    A failed publish is logged, not raised: the change is in DynamoDB, and the board's expiry bounds
    how long a container may keep the routes it had (see the module docstring).
    """

    def __init__(self, store: RoutingOverrideStore, board: VersionBoard) -> None:
        self._store = store
        self._board = board

    def current(self) -> RoutingOverrides:
        """The overrides in force, from the store."""
        return self._store.current()

    def commit(self, change: RouteChange, routes: Mapping[str, Any], expected_version: int) -> None:
        """Commit in the store, then publish ``expected_version + 1``."""
        self._store.commit(change, routes, expected_version)
        try:
            self._board.offer(expected_version + 1)
        except Exception:
            logger.exception("routing overrides version not published; containers catch up when it expires")

    def change(self, change_id: str) -> RouteChange | None:
        """One audited change, from the store."""
        return self._store.change(change_id)

    def changes(self, limit: int) -> list[RouteChange]:
        """The newest changes, from the store."""
        return self._store.changes(limit)
