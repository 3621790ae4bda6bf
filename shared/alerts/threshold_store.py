"""Where spend thresholds live: the costs table, each owner's thresholds remembered per container.

Keys: pk ``THRESHOLDS#<ownerId>`` (``ALL`` for global ones), sk ``THRESHOLD#<thresholdId>``, so one
Query reads everything of one owner.

Beside them, sk ``OWNER`` is the owner's marker: ``thresholdCount`` (the per-owner cap's counter)
and ``version`` (one more per change). A threshold is created in one transaction with a conditional
``ADD`` to the marker (``attribute_not_exists(thresholdCount) OR thresholdCount < :max``), so
concurrent creates can never pass the cap. The alert check runs in the stream's aggregator once per
batch and most users have no threshold: the batch's one ``BatchGetItem`` reads the owners' markers
(global and each user's in the batch), a missing marker means nothing to check, and a container's
remembered thresholds of an owner are trusted exactly while the marker's version is the one they were
read at (a change anywhere is seen by the next batch, at the price of one Query). One small item per
owner: no item grows with the number of owners. (What a container remembers is checked against that
version, not aged out, so it is no TTL cache.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.alerts.thresholds import (
    GLOBAL_OWNER,
    THRESHOLD_PK_PREFIX,
    THRESHOLD_SK_PREFIX,
    SpendThreshold,
    applicable_of,
    hard_cap_of,
    marker_keys,
    owner_key,
    tenant_owner,
    threshold_key,
    thresholds_limit_error,
)
from shared.core.dynamo import deserialize_item, query_items, serialize_item
from shared.ledger.keys import Key
from shared.ledger.store import CostStoreError, DynamoCostStore, run_transaction

_CREATE_RETRIES = 6  # concurrent creates of one owner contend for their marker; a cancelled one is redone
_MAX_CACHED_OWNERS = 1024  # owners whose thresholds a container remembers (the oldest is forgotten first)


class DynamoThresholdStore:
    """:class:`ThresholdStore` over the costs table; each owner's thresholds remembered per container.

    The remembered list of an owner is used while their marker (read with the call's counters) still
    has the version it was read at, so a busy container adds no reads, and a threshold created in any
    container applies from the next recorded call on.
    """

    def __init__(
        self,
        table_name: str,
        client: Any,
        max_per_owner: int = 50,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._max_per_owner = max_per_owner
        self._sleep = sleep
        self._items = DynamoCostStore(table_name, client)  # the same table: its batched, consistent reads
        self._remembered: dict[str, tuple[int, list[SpendThreshold]]] = {}  # owner -> (marker version, list)
        self._remembering = threading.Lock()

    def put(self, threshold: SpendThreshold) -> None:
        """Create one threshold and count it on its owner's marker, in one transaction; an owner at the cap
        gets :class:`~shared.core.errors.LimitReachedError` (409) and nothing is written."""
        pk, sk = threshold_key(threshold.owner_id, threshold.threshold_id)
        item = serialize_item({"pk": pk, "sk": sk, **to_item(threshold)})
        marker_pk, marker_sk = owner_key(threshold.owner_id)
        marker = {
            "TableName": self._table,
            "Key": serialize_item({"pk": marker_pk, "sk": marker_sk}),
            "UpdateExpression": "ADD thresholdCount :one, version :one SET ownerId = :owner",
            "ConditionExpression": "attribute_not_exists(thresholdCount) OR thresholdCount < :max",
            "ExpressionAttributeValues": serialize_item(
                {":one": 1, ":max": self._max_per_owner, ":owner": threshold.owner_id}
            ),
        }
        created = {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        reasons = run_transaction(
            self._client,
            [{"Put": created}, {"Update": marker}],
            f"creating threshold {threshold.threshold_id}",
            self._sleep,
            _CREATE_RETRIES,
        )
        if reasons[1:2] == ["ConditionalCheckFailed"]:
            raise thresholds_limit_error(self._max_per_owner)
        if reasons:
            raise CostStoreError(f"threshold {threshold.threshold_id} exists already")
        self._remember(threshold.owner_id, None)

    def get(self, owner_id: str, threshold_id: str) -> SpendThreshold | None:
        """One threshold of one owner (None when absent)."""
        pk, sk = threshold_key(owner_id, threshold_id)
        response = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(deserialize_item(item)) if item else None

    def list_for(self, owner_id: str) -> list[SpendThreshold]:
        """Every threshold of one owner (``ALL``: the global ones), oldest first; one Query, never cached."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": serialize_item(
                {":pk": f"{THRESHOLD_PK_PREFIX}{owner_id}", ":prefix": THRESHOLD_SK_PREFIX}
            ),
            "ConsistentRead": True,
        }
        found = [from_item(deserialize_item(raw)) for raw in query_items(self._client, params)]
        found.sort(key=lambda t: (t.created_at, t.threshold_id))
        return found

    def remembered(self, user_id: str, campaign_id: str) -> list[SpendThreshold]:
        """What applied to the user's calls when this container last looked (no read): the keys to ask for."""
        lists = [self._remembered.get(owner, (0, []))[1] for owner in (GLOBAL_OWNER, user_id)]
        return applicable_of(lists[0], lists[1], campaign_id)

    def applicable(
        self, user_id: str, campaign_id: str, markers: Mapping[Key, Mapping[str, Any]] | None = None
    ) -> list[SpendThreshold]:
        """The thresholds that apply to a call, checked against the owners' markers (``markers``: items the
        caller read with :func:`marker_keys`; else one ``BatchGetItem`` here). A Query only for an owner
        whose version changed since this container read their list; none for an owner without thresholds."""
        if markers is None:
            markers = self._items.get_items(marker_keys(user_id))
        lists = [self._current(owner, markers.get(owner_key(owner))) for owner in (GLOBAL_OWNER, user_id)]
        return applicable_of(lists[0], lists[1], campaign_id)

    def hard_cap(self, user_id: str) -> SpendThreshold | None:
        """The user's binding hard cap, from their thresholds read fresh (one Query)."""
        return hard_cap_of(self.list_for(user_id))

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None:
        """The tenant's binding hard cap, from its thresholds read fresh (one Query)."""
        return hard_cap_of(self.list_for(tenant_owner(tenant_id)), "tenant")

    def _current(self, owner_id: str, marker: Mapping[str, Any] | None) -> list[SpendThreshold]:
        count, version = int((marker or {}).get("thresholdCount", 0)), int((marker or {}).get("version", 0))
        if count == 0:
            self._remember(owner_id, None)
            return []
        entry = self._remembered.get(owner_id)
        if entry is not None and entry[0] == version:
            return entry[1]
        found = self.list_for(owner_id)
        # A Query may see a create's marker before its threshold (transactions are read-committed per item):
        # remember the list only when it holds as many as the marker counts, else read again next time.
        self._remember(owner_id, (version, found) if len(found) == count else None)
        return found

    def _remember(self, owner_id: str, entry: tuple[int, list[SpendThreshold]] | None) -> None:
        """Replace (or, with None, forget) what this container knows of an owner; the oldest goes past the bound."""
        with self._remembering:  # fan-out generations record from several threads of one container
            self._remembered.pop(owner_id, None)
            if entry is None:
                return
            if len(self._remembered) >= _MAX_CACHED_OWNERS:
                self._remembered.pop(next(iter(self._remembered)))
            self._remembered[owner_id] = entry


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
