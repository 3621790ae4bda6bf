"""Routing overrides: the routes the optimizer applied, read by every campaign request without a deploy.

Keys (costs table, helper prefix ``ROUTING#``):
Current:  pk ``ROUTING#OVERRIDES``, sk ``CURRENT`` — ``routes`` (campaign type → ordered candidates;
          a type absent from it takes the configured route) and ``version``, which every change
          bumps under a condition, so two admins changing routes at once cannot lose one's change;
          ``experiments`` (campaign type → the running routing experiment's id, variants, split and end,
          as shared.experiments stores them), so the one read of this item serves both. A write sets
          only its own attributes (``UpdateItem``), never dropping the other's.
Audit:    pk ``ROUTING#CHANGES``, sk the change id — who, when, before, after; written in the same
          transaction as the current item. Change ids start with the time in milliseconds, so one
          Query in descending key order lists the newest first.

The router reads the current item through :class:`CachedRouteOverrides`: by default for every
routed call (one strongly consistent GetItem), so a change serves the next request; with ``ttl_s``
(≤ 1 s) a container trusts what it read for that long, and a change is in effect within it. With a
version board (:mod:`shared.routing.override_versions`, Redis) it keeps what it read and re-reads only
when the published version differs from the one it holds: one Redis GET per call instead of the
GetItem, and still the next request after a change on the new route.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import ClientError

from shared.core.cache import TtlCache
from shared.core.dynamo import deserialize_item, serialize_item
from shared.core.errors import RoutingConflictError
from shared.core.observability import logger
from shared.routing.candidates import RouteCandidate

if TYPE_CHECKING:
    from shared.routing.override_versions import VersionBoard

CURRENT_KEY = ("ROUTING#OVERRIDES", "CURRENT")
CHANGES_PK = "ROUTING#CHANGES"
ChangeKind = Literal["apply", "revert"]
Route = tuple[RouteCandidate, ...]


@dataclass(frozen=True)
class RoutingOverrides:
    """The overrides in force, by campaign type, and the version a change must start from."""

    routes: Mapping[str, Route] = field(default_factory=dict)
    version: int = 0
    experiments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # shared.experiments reads them


@dataclass(frozen=True)
class RouteChange:
    """One audited change of a campaign type's route; ``before``/``after`` are the effective routes."""

    change_id: str
    kind: ChangeKind
    campaign_type: str
    before: Route
    after: Route
    before_overridden: bool  # whether ``before`` was an override (else the configured route)
    after_overridden: bool
    by: str
    at: float
    recommendation_id: str | None = None  # the recommendation an "apply" came from
    reverts: str | None = None  # the change a "revert" undid


def new_change_id(at: float) -> str:
    """``chg_<ms since epoch, 13 digits><8 hex>``: unguessable enough, and sorts by time."""
    return f"chg_{int(at * 1000):013d}{uuid.uuid4().hex[:8]}"


class RoutingOverrideStore(Protocol):
    """What the optimizer and the router need from the overrides' storage."""

    def current(self) -> RoutingOverrides:
        """The overrides in force (one strongly consistent GetItem)."""
        ...

    def commit(self, change: RouteChange, routes: Mapping[str, Route], expected_version: int) -> None:
        """Store ``routes`` as the new overrides and the change's audit item, together; raise
        :class:`~shared.core.errors.RoutingConflictError` if the overrides are no longer ``expected_version``."""
        ...

    def change(self, change_id: str) -> RouteChange | None:
        """One audited change, or None."""
        ...

    def changes(self, limit: int) -> list[RouteChange]:
        """The newest ``limit`` changes, newest first (one Query)."""
        ...


class DynamoRoutingOverrideStore:
    """:class:`RoutingOverrideStore` over the costs table."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def current(self) -> RoutingOverrides:
        """One consistent GetItem of the current overrides."""
        response = self._client.get_item(TableName=self._table, Key=_key(CURRENT_KEY), ConsistentRead=True)
        return overrides_from_item(deserialize_item(response["Item"]) if "Item" in response else None)

    def commit(self, change: RouteChange, routes: Mapping[str, Route], expected_version: int) -> None:
        """One transaction: the new overrides (conditional on the version read) and the audit item."""
        update_current = current_update(self._table, expected_version, {"routes": routes_item(routes)})
        audit = {"pk": CHANGES_PK, "sk": change.change_id, **change_item(change)}
        put_audit = {
            "TableName": self._table,
            "Item": serialize_item(audit),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Update": update_current}, {"Put": put_audit}])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TransactionCanceledException", "TransactionConflict"):
                raise RoutingConflictError("The routing changed meanwhile; reload and try again.") from exc
            raise

    def change(self, change_id: str) -> RouteChange | None:
        """One GetItem of the audit item."""
        response = self._client.get_item(TableName=self._table, Key=_key((CHANGES_PK, change_id)), ConsistentRead=True)
        return change_from_item(deserialize_item(response["Item"])) if "Item" in response else None

    def changes(self, limit: int) -> list[RouteChange]:
        """One Query, newest first."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize_item({":pk": CHANGES_PK}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [change_from_item(deserialize_item(raw)) for raw in response.get("Items", [])]


class CachedRouteOverrides:
    """The router's view of the overrides: re-read at most every ``ttl_s`` seconds per container, or,
    with a version ``board``, whenever the version published there is not the one last read. The board
    is asked on every call (``ttl_s`` applies only without one, or while it is left alone), so with a
    board the next call after a change sees it even where ``ttl_s`` is set (ROUTING_OVERRIDES_CACHE_S is
    deployed for the functions without Redis, and the local stack takes the same environment).

    If the read fails the last routes read stay in force (none before the first read: the
    configured routes), so a DynamoDB hiccup never fails a campaign; the next call retries. A board
    that cannot answer (or has no version) means a DynamoDB read, as without one; after a failure the
    board is left alone for ``board_retry_s``, so a Redis that times out does not add its timeout to
    every call meanwhile.
    """

    def __init__(
        self,
        store: RoutingOverrideStore,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        board: VersionBoard | None = None,
        board_retry_s: float = 5.0,
    ) -> None:
        self._store = store
        self._board = board
        self._board_retry_s = board_retry_s
        self._board_down_until = float("-inf")
        self._clock = clock
        self._held: RoutingOverrides | None = None  # what the last successful read gave, with its version
        self._cache: TtlCache[tuple[str, str], RoutingOverrides] = TtlCache(ttl_s, clock)

    def routes(self) -> Mapping[str, Route]:
        """Campaign type → overriding route (types without one are absent)."""
        return self.current().routes

    def current(self) -> RoutingOverrides:
        """The overrides item as last read: routes and running experiments from one read."""
        board = self._board
        if board is None or self._clock() < self._board_down_until:
            return self._cache.get(CURRENT_KEY, self._read)
        return self._read_on_version(board)

    def _read_on_version(self, board: VersionBoard) -> RoutingOverrides:
        try:
            published = board.read()
        except Exception:
            logger.warning("routing overrides version unreadable; reading the overrides", exc_info=True)
            self._board_down_until = self._clock() + self._board_retry_s
            return self._read()
        if self._held is not None and published == self._held.version:
            return self._held
        overrides = self._read()
        if published is None and self._held is not None:
            try:
                board.offer(self._held.version)  # raise-only: never over a newer version
            except Exception:
                logger.warning("routing overrides version not seeded", exc_info=True)
        return overrides

    def _read(self) -> RoutingOverrides:
        try:
            self._held = self._store.current()
        except Exception:
            logger.exception("routing overrides unreadable; keeping the last ones read")
            return self._held if self._held is not None else RoutingOverrides()
        return self._held


def overrides_item(routes: Mapping[str, Route], version: int) -> dict[str, Any]:
    """The current item's attributes."""
    return {"routes": routes_item(routes), "version": version}


def routes_item(routes: Mapping[str, Route]) -> dict[str, list[dict[str, str]]]:
    """The ``routes`` attribute: campaign type → stored route."""
    return {kind: route_item(route) for kind, route in routes.items()}


def overrides_from_item(item: Mapping[str, Any] | None) -> RoutingOverrides:
    """The overrides an item holds (none when it does not exist yet)."""
    if not item:
        return RoutingOverrides()
    routes = {kind: route_from_item(route) for kind, route in item.get("routes", {}).items()}
    return RoutingOverrides(routes, int(item.get("version", 0)), dict(item.get("experiments", {})))


def current_update(table: str, expected_version: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction's ``Update`` of the current item: ``SET`` these attributes and ``version`` one up, on the
    condition that the version is still ``expected_version`` (0: no item yet). Attributes it does not name
    (the routes, or the experiments) stay as they are."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":a{i}": value for i, value in enumerate(attributes.values())}
    sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attributes)))
    condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
    values[":version"] = expected_version + 1
    if expected_version:
        values[":expected"] = expected_version
    return {
        "TableName": table,
        "Key": _key(CURRENT_KEY),
        "UpdateExpression": f"SET {sets}, version = :version",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize_item(values),
    }


def change_item(change: RouteChange) -> dict[str, Any]:
    """An audit item's attributes (None-valued ones are left out)."""
    return {
        "changeId": change.change_id,
        "kind": change.kind,
        "campaignType": change.campaign_type,
        "before": route_item(change.before),
        "after": route_item(change.after),
        "beforeOverridden": change.before_overridden,
        "afterOverridden": change.after_overridden,
        "by": change.by,
        "atMs": int(change.at * 1000),
        "recommendationId": change.recommendation_id,
        "reverts": change.reverts,
    }


def change_from_item(item: Mapping[str, Any]) -> RouteChange:
    """The change an audit item records."""
    return RouteChange(
        change_id=item["changeId"],
        kind=item["kind"],
        campaign_type=item["campaignType"],
        before=route_from_item(item["before"]),
        after=route_from_item(item["after"]),
        before_overridden=bool(item["beforeOverridden"]),
        after_overridden=bool(item["afterOverridden"]),
        by=item["by"],
        at=int(item["atMs"]) / 1000,
        recommendation_id=item.get("recommendationId"),
        reverts=item.get("reverts"),
    )


def route_item(route: Sequence[RouteCandidate]) -> list[dict[str, str]]:
    """A route as stored: ``[{"provider", "model"}, ...]``."""
    return [{"provider": c.provider, "model": c.model} for c in route]


def route_from_item(raw: Sequence[Mapping[str, Any]]) -> Route:
    """A stored route back as candidates."""
    return tuple(RouteCandidate(provider=c["provider"], model=c["model"]) for c in raw)


def _key(key: tuple[str, str]) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}
