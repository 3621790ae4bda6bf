"""The costs table behind a small port: one DynamoDB implementation here, an in-memory fake in tests.

Items cross the port as plain dicts of ``str``/``int`` (never floats), so money stays integer
nano-dollars from DynamoDB's exact numbers to the response, rounded to micro-dollars only for display.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import cancellation_codes, deserialize_item, serialize_item
from shared.core.pricing import NANOS_PER_MICRO, nanos_to_micros
from shared.ledger.keys import Key

_BATCH_GET_MAX_KEYS = 100
_CONFLICT_RETRIES = 4  # a transaction racing another on the same counters is cancelled; it is safe to redo


@dataclass(frozen=True)
class Counters:
    """What a counter item holds: money in exact nano-dollars, calls, tokens (cached input ones among
    them), and calls a fallback served. ``micros`` is the money rounded half up, for display."""

    nanos: int = 0
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    fallbacks: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.nanos + other.nanos,
            self.requests + other.requests,
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.fallbacks + other.fallbacks,
            self.cached_tokens + other.cached_tokens,
        )

    @property
    def micros(self) -> int:
        """The money in whole micro-dollars, rounded half up once (the sum itself is exact)."""
        return nanos_to_micros(self.nanos)

    @property
    def tokens_total(self) -> int:
        """Input plus output tokens."""
        return self.tokens_in + self.tokens_out

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> Counters:
        """The counters of a stored item (zero when the item does not exist yet).

        Money is ``nanos``; a counter written before nanos existed holds ``micros`` (whole micro-dollars,
        no longer written), which counts as that many thousand nanos, beside any nanos added since.
        """
        if not item:
            return cls()
        return cls(
            int(item.get("nanos", 0)) + int(item.get("micros", 0)) * NANOS_PER_MICRO,
            int(item.get("requests", 0)),
            int(item.get("tokensIn", 0)),
            int(item.get("tokensOut", 0)),
            int(item.get("fallbacks", 0)),
            int(item.get("tokensCached", 0)),
        )


class CostStoreError(RuntimeError):
    """The costs table refused or failed a write for a reason other than a duplicate request id."""


class CostStore(Protocol):
    """What the ledger and the alerts need from the costs table."""

    def add_event(
        self, key: Key, event: Mapping[str, Any], counters: Sequence[Key], increment: Counters, counter_ttl: int
    ) -> bool:
        """Store the event and add ``increment`` to every counter, atomically; False if the event exists."""
        ...

    def get_items(self, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
        """The items that exist among ``keys`` (strongly consistent; a key may be asked for twice)."""
        ...

    def query(self, pk: str, low: str, high: str) -> list[dict[str, Any]]:
        """Every item of partition ``pk`` with ``low <= sk <= high``, in sort-key order."""
        ...

    def put_if_absent(self, key: Key, attributes: Mapping[str, Any]) -> bool:
        """Create the item unless it exists; True when this call created it."""
        ...

    def delete(self, key: Key) -> None:
        """Remove the item (absent is fine)."""
        ...


class DynamoCostStore:
    """:class:`CostStore` over DynamoDB: one ``TransactWriteItems`` per recorded call."""

    def __init__(self, table_name: str, client: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table_name
        self._client = client
        self._sleep = sleep

    def add_event(
        self, key: Key, event: Mapping[str, Any], counters: Sequence[Key], increment: Counters, counter_ttl: int
    ) -> bool:
        """A conditional Put of the event plus an ``ADD`` per counter: a duplicate cancels all of it."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": serialize_item({"pk": key[0], "sk": key[1], **event}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        values = serialize_item(
            {
                ":nanos": increment.nanos,
                ":cached": increment.cached_tokens,
                ":requests": increment.requests,
                ":in": increment.tokens_in,
                ":out": increment.tokens_out,
                ":fallbacks": increment.fallbacks,
                ":ttl": counter_ttl,
            }
        )
        for counter in counters:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(counter),
                        "UpdateExpression": (
                            "ADD nanos :nanos, requests :requests, tokensIn :in, tokensOut :out, "
                            "tokensCached :cached, fallbacks :fallbacks SET expiresAt = :ttl"
                        ),
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                self._client.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                reasons = cancellation_codes(exc)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                if "TransactionConflict" in reasons and attempt < _CONFLICT_RETRIES:
                    self._sleep(random.uniform(0, 0.02 * 2**attempt))
                    continue
                raise CostStoreError(f"recording {key[0]} failed: {exc}") from exc
        raise CostStoreError(f"recording {key[0]} kept conflicting")  # pragma: no cover - loop returns or raises

    def get_items(self, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
        """``BatchGetItem``, strongly consistent, retrying what DynamoDB leaves unprocessed.

        DynamoDB refuses a request naming one key twice, and callers may (two thresholds on one counter).
        """
        keys = list(dict.fromkeys(keys))
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET_MAX_KEYS):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_key(k) for k in keys[start : start + _BATCH_GET_MAX_KEYS]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = deserialize_item(raw)
                    found[(item["pk"], item["sk"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def query(self, pk: str, low: str, high: str) -> list[dict[str, Any]]:
        """One Query (more pages only past 1 MB), never a Scan."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": serialize_item({":pk": pk, ":low": low, ":high": high}),
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**params)
            items += [deserialize_item(raw) for raw in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def put_if_absent(self, key: Key, attributes: Mapping[str, Any]) -> bool:
        """Conditional Put: of many concurrent callers exactly one gets True."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize_item({"pk": key[0], "sk": key[1], **attributes}),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def delete(self, key: Key) -> None:
        """Remove one item."""
        self._client.delete_item(TableName=self._table, Key=_key(key))


def _key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


def run_transaction(
    client: Any, items: list[dict[str, Any]], what: str, sleep: Callable[[float], None], retries: int
) -> list[str]:
    """One ``TransactWriteItems``: [] when it committed, else each item's cancellation code once a condition
    failed. A conflict with a concurrent transaction is redone (jittered, up to ``retries`` attempts); any
    other failure is a :class:`CostStoreError`."""
    for attempt in range(1, retries + 1):
        try:
            client.transact_write_items(TransactItems=items)
            return []
        except ClientError as exc:
            reasons = cancellation_codes(exc)
            if "ConditionalCheckFailed" in reasons:
                return reasons
            if "TransactionConflict" in reasons and attempt < retries:
                sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
                continue
            raise CostStoreError(f"{what} failed: {exc}") from exc
    raise CostStoreError(f"{what} kept conflicting")  # pragma: no cover - the loop returns or raises
