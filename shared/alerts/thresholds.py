"""Spend thresholds people set (global, per user, per campaign), stored in the costs table.

Keys: pk ``THRESHOLDS#<ownerId>`` (``ALL`` for global ones), sk ``THRESHOLD#<thresholdId>``. The
owner is the user whose spend is watched (scope user) or who owns the campaign (scope campaign),
so one Query reads everything that can apply to a user's call. The settings' daily and monthly
thresholds stay the global defaults (:mod:`shared.alerts.threshold_alerts`); these come on top.

Most users set no threshold, and the alert check runs after every recorded call, so one item
(pk ``THRESHOLDS``, sk ``OWNERS``) holds the set of owners that have any: a call of a user outside
it reads nothing more. The set is one item (400 KB: some ten thousand owners), written in the same
transaction as each threshold.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from shared.core.dynamo import deserialize_item, serialize_item
from shared.ledger.keys import EVERYONE, Key, Scope, counter_key, day_period, month_period

ThresholdScope = Literal["global", "user", "campaign"]
ThresholdPeriod = Literal["daily", "monthly"]
ThresholdAction = Literal["alert", "block", "downgrade"]

GLOBAL_OWNER = "ALL"
THRESHOLD_PK_PREFIX = "THRESHOLDS#"
THRESHOLD_SK_PREFIX = "THRESHOLD#"
HARD_CAP_ACTIONS = ("block", "downgrade")
OWNERS_KEY: Key = ("THRESHOLDS", "OWNERS")  # no "#": no owner's partition can be named like it


@dataclass(frozen=True)
class SpendThreshold:
    """One threshold: whose spend, over which period, how much (micro-dollars), and what crossing it does."""

    threshold_id: str  # "th_<32 hex>"
    scope: ThresholdScope
    subject_id: str | None  # user id (scope user) or campaign/workflow id (scope campaign); None = global
    owner_id: str  # the user whose spend it watches / who owns the campaign; "ALL" for global
    period: ThresholdPeriod
    micros: int  # > 0
    action: ThresholdAction = "alert"  # block|downgrade = a hard cap: scope user + monthly only, admin-set
    created_by: str = ""
    created_at: float = 0.0

    def period_key(self, day: date) -> str:
        """The counter period ``day`` falls in: ``DAY#…`` or ``MONTH#…``."""
        return day_period(day) if self.period == "daily" else month_period(day)

    def period_label(self, day: date) -> str:
        """``2025-01-02`` or ``2025-01``, for people."""
        return day.isoformat() if self.period == "daily" else f"{day:%Y-%m}"

    def counter(self, day: date) -> Key:
        """The ledger counter this threshold compares with in ``day``'s period."""
        period = self.period_key(day)
        if self.scope == "user":
            return counter_key(Scope(self.subject_id), "total", period)
        if self.scope == "campaign":
            return counter_key(EVERYONE, "campaign", period, str(self.subject_id))
        return counter_key(EVERYONE, "total", period)


def new_threshold_id() -> str:
    """``th_`` and 32 random hex digits."""
    return f"th_{secrets.token_hex(16)}"


def threshold_key(owner_id: str, threshold_id: str) -> Key:
    """Where one threshold is stored."""
    return f"{THRESHOLD_PK_PREFIX}{owner_id}", f"{THRESHOLD_SK_PREFIX}{threshold_id}"


class ThresholdStore(Protocol):
    """What routes, the alert checker and budget enforcement need from the stored thresholds."""

    def put(self, threshold: SpendThreshold) -> None: ...

    def get(self, owner_id: str, threshold_id: str) -> SpendThreshold | None: ...

    def list_for(self, owner_id: str) -> list[SpendThreshold]: ...

    def applicable(self, user_id: str, campaign_id: str) -> list[SpendThreshold]: ...

    def hard_cap(self, user_id: str) -> SpendThreshold | None: ...


def applicable_of(
    global_ones: list[SpendThreshold], users: list[SpendThreshold], campaign_id: str
) -> list[SpendThreshold]:
    """Global ones, plus the user's own user-scope ones and the ones on this campaign."""
    mine = [t for t in users if t.scope == "user" or (t.scope == "campaign" and t.subject_id == campaign_id)]
    return [*(t for t in global_ones if t.scope == "global"), *mine]


def hard_cap_of(users: list[SpendThreshold]) -> SpendThreshold | None:
    """The lowest monthly user-scope block/downgrade threshold, if any."""
    caps = [t for t in users if t.scope == "user" and t.period == "monthly" and t.action in HARD_CAP_ACTIONS]
    return min(caps, key=lambda t: (t.micros, t.threshold_id), default=None)


class DynamoThresholdStore:
    """:class:`ThresholdStore` over the costs table: one Query per owner, cached a few seconds per container.

    The alert check runs after every recorded call; a short cache keeps that at zero extra reads in
    a busy container, and a threshold created here is seen at once (``put`` drops the owner's entry).
    """

    def __init__(
        self, table_name: str, client: Any, cache_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._table = table_name
        self._client = client
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, list[SpendThreshold]]] = {}
        self._owners: tuple[float, frozenset[str]] | None = None

    def put(self, threshold: SpendThreshold) -> None:
        """Create or replace one threshold, and add its owner to the owners' set in the same transaction."""
        pk, sk = threshold_key(threshold.owner_id, threshold.threshold_id)
        item = serialize_item({"pk": pk, "sk": sk, **to_item(threshold)})
        owners = {
            "TableName": self._table,
            "Key": serialize_item({"pk": OWNERS_KEY[0], "sk": OWNERS_KEY[1]}),
            "UpdateExpression": "ADD owners :owner",
            "ExpressionAttributeValues": serialize_item({":owner": {threshold.owner_id}}),
        }
        self._client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self._table, "Item": item}}, {"Update": owners}]
        )
        self._cache.pop(threshold.owner_id, None)
        self._owners = None

    def get(self, owner_id: str, threshold_id: str) -> SpendThreshold | None:
        """One threshold of one owner (None when absent)."""
        pk, sk = threshold_key(owner_id, threshold_id)
        response = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(deserialize_item(item)) if item else None

    def list_for(self, owner_id: str) -> list[SpendThreshold]:
        """Every threshold of one owner (``ALL``: the global ones), oldest first; never cached."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": serialize_item(
                {":pk": f"{THRESHOLD_PK_PREFIX}{owner_id}", ":prefix": THRESHOLD_SK_PREFIX}
            ),
            "ConsistentRead": True,
        }
        found: list[SpendThreshold] = []
        while True:
            response = self._client.query(**params)
            found += [from_item(deserialize_item(raw)) for raw in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        found.sort(key=lambda t: (t.created_at, t.threshold_id))
        self._cache[owner_id] = (self._clock() + self._cache_s, found)
        return list(found)

    def applicable(self, user_id: str, campaign_id: str) -> list[SpendThreshold]:
        """At most two Queries (global, the user's), none while the cache is fresh."""
        return applicable_of(self._cached(GLOBAL_OWNER), self._cached(user_id), campaign_id)

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        """The user's binding hard cap: their thresholds read fresh, once the owners' set says they have any."""
        if user_id not in self._owners_with_thresholds():
            return None
        return hard_cap_of(self.list_for(user_id))

    def _cached(self, owner_id: str) -> list[SpendThreshold]:
        entry = self._cache.get(owner_id)
        if entry and entry[0] > self._clock():
            return entry[1]
        if owner_id not in self._owners_with_thresholds():
            return []
        return self.list_for(owner_id)

    def _owners_with_thresholds(self) -> frozenset[str]:
        """The owners' set, read (one GetItem) at most every ``cache_s`` seconds."""
        if self._owners is None or self._owners[0] <= self._clock():
            response = self._client.get_item(
                TableName=self._table,
                Key=serialize_item({"pk": OWNERS_KEY[0], "sk": OWNERS_KEY[1]}),
                ConsistentRead=True,
            )
            owners = deserialize_item(response.get("Item") or {}).get("owners", set())
            self._owners = (self._clock() + self._cache_s, frozenset(owners))
        return self._owners[1]


def to_item(threshold: SpendThreshold) -> dict[str, Any]:
    """A threshold's stored attributes (no floats: creation time in milliseconds)."""
    return {
        "thresholdId": threshold.threshold_id,
        "scope": threshold.scope,
        "subjectId": threshold.subject_id,
        "ownerId": threshold.owner_id,
        "period": threshold.period,
        "micros": threshold.micros,
        "action": threshold.action,
        "createdBy": threshold.created_by,
        "createdAtMs": round(threshold.created_at * 1000),
    }


def from_item(item: dict[str, Any]) -> SpendThreshold:
    """The threshold a stored item holds."""
    return SpendThreshold(
        threshold_id=str(item["thresholdId"]),
        scope=item["scope"],
        subject_id=item.get("subjectId"),
        owner_id=str(item["ownerId"]),
        period=item["period"],
        micros=int(item["micros"]),
        action=item.get("action", "alert"),
        created_by=str(item.get("createdBy", "")),
        created_at=int(item.get("createdAtMs", 0)) / 1000,
    )
