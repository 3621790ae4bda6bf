"""The costs table behind a small port: one DynamoDB implementation here, an in-memory fake in tests.

Items cross the port as plain dicts of ``str``/``int`` (never floats), so money stays integer
nano-dollars from DynamoDB's exact numbers to the response, rounded to micro-dollars only for display.

Two writes carry the ledger: the request path's conditional ``PutItem`` of an event, and the
aggregator's conditional ``UpdateItem ADD`` of one counter's folded delta (:class:`CounterIncrement`),
which also moves the counter's high-water mark for the stream shard the delta came from and answers
the counter's new values (``UPDATED_NEW``), so the caller knows exactly which update crossed what.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import cancellation_codes, deserialize_item, query_items, serialize_item
from shared.core.pricing import NANOS_PER_MICRO, nanos_to_micros
from shared.ledger.keys import Key

_BATCH_GET_MAX_KEYS = 100


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

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.nanos - other.nanos,
            self.requests - other.requests,
            self.tokens_in - other.tokens_in,
            self.tokens_out - other.tokens_out,
            self.fallbacks - other.fallbacks,
            self.cached_tokens - other.cached_tokens,
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


@dataclass(frozen=True)
class CounterIncrement:
    """One counter's folded delta from one stream batch, and the slice of the shard it covers.

    ``mark`` is the counter's attribute holding the shard's high-water mark; ``first_seq``/``last_seq``
    are the smallest and largest contributing sequence numbers, zero-padded to 40 digits so that string
    order is numeric order (stream sequence numbers have 21-40 digits; a DynamoDB number holds 38).
    """

    key: Key
    counters: Counters
    mark: str
    first_seq: str
    last_seq: str
    expires_at: int
    # More attributes ADDed in the same update (a variant counter's squares and histogram, a day item's
    # sub-counters), and attributes SET only if absent (a day item's sub-counter labels).
    extra: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


class CostStoreError(RuntimeError):
    """The costs table refused or failed a write for a reason other than a duplicate request id."""


class CostStore(Protocol):
    """What the ledger, the aggregator and the alerts need from the costs table."""

    def put_event(self, key: Key, event: Mapping[str, Any]) -> bool:
        """Store one raw event unless its key exists; False for a duplicate request id."""
        ...

    def add_counter(self, increment: CounterIncrement) -> Counters | None:
        """Add the delta and move the mark to ``last_seq`` if the mark is below ``first_seq`` (or absent);
        the counter's new values, or None when the condition failed (part of the delta is in already)."""
        ...

    def high_water(self, key: Key, mark: str) -> str | None:
        """A counter's high-water mark for one shard (strongly consistent); None when it has none."""
        ...

    def get_items(self, keys: Sequence[Key], consistent: bool = True) -> dict[Key, dict[str, Any]]:
        """The items that exist among ``keys`` (a key may be asked for twice)."""
        ...

    def query(self, pk: str, low: str, high: str, consistent: bool = False) -> list[dict[str, Any]]:
        """Every item of partition ``pk`` with ``low <= sk <= high``, in sort-key order."""
        ...

    def put_if_absent(self, key: Key, attributes: Mapping[str, Any]) -> bool:
        """Create the item unless it exists; True when this call created it."""
        ...

    def delete(self, key: Key) -> None:
        """Remove the item (absent is fine)."""
        ...


class DynamoCostStore:
    """:class:`CostStore` over DynamoDB: one ``PutItem`` per recorded call, one ``UpdateItem`` per folded counter."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def put_event(self, key: Key, event: Mapping[str, Any]) -> bool:
        """Conditional Put: a request id already recorded changes nothing (and makes no stream record)."""
        return self.put_if_absent(key, event)

    def add_counter(self, increment: CounterIncrement) -> Counters | None:
        """``ADD`` the delta, ``SET`` the mark, under ``attribute_not_exists(#hw) OR #hw < :first``."""
        c = increment.counters
        names = {"#hw": increment.mark}
        values: dict[str, Any] = {
            ":nanos": c.nanos,
            ":cached": c.cached_tokens,
            ":requests": c.requests,
            ":in": c.tokens_in,
            ":out": c.tokens_out,
            ":fallbacks": c.fallbacks,
            ":ttl": increment.expires_at,
            ":first": increment.first_seq,
            ":last": increment.last_seq,
        }
        extra_adds = labels_set = ""
        for index, (name, value) in enumerate(sorted(increment.extra.items())):
            names[f"#x{index}"], values[f":x{index}"] = name, value
            extra_adds += f", #x{index} :x{index}"
        for index, (name, label) in enumerate(sorted(increment.labels.items())):
            names[f"#l{index}"], values[f":l{index}"] = name, label
            labels_set += f", #l{index} = if_not_exists(#l{index}, :l{index})"
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(increment.key),
                UpdateExpression=(
                    "ADD nanos :nanos, requests :requests, tokensIn :in, tokensOut :out, "
                    f"tokensCached :cached, fallbacks :fallbacks{extra_adds} "
                    f"SET expiresAt = :ttl, #hw = :last{labels_set}"
                ),
                ConditionExpression="attribute_not_exists(#hw) OR #hw < :first",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize_item(values),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return Counters.from_item(deserialize_item(response.get("Attributes", {})))

    def high_water(self, key: Key, mark: str) -> str | None:
        """One strongly consistent ``GetItem`` of the mark alone."""
        response = self._client.get_item(
            TableName=self._table,
            Key=_key(key),
            ConsistentRead=True,
            ProjectionExpression="#hw",
            ExpressionAttributeNames={"#hw": mark},
        )
        value = deserialize_item(response.get("Item", {})).get(mark)
        return str(value) if value is not None else None

    def get_items(self, keys: Sequence[Key], consistent: bool = True) -> dict[Key, dict[str, Any]]:
        """``BatchGetItem`` (strongly consistent unless told), retrying what DynamoDB leaves unprocessed.

        DynamoDB refuses a request naming one key twice, and callers may (two thresholds on one counter).
        """
        keys = list(dict.fromkeys(keys))
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET_MAX_KEYS):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_key(k) for k in keys[start : start + _BATCH_GET_MAX_KEYS]],
                    "ConsistentRead": consistent,
                }
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = deserialize_item(raw)
                    found[(item["pk"], item["sk"])] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def query(self, pk: str, low: str, high: str, consistent: bool = False) -> list[dict[str, Any]]:
        """One Query (more pages only past 1 MB), never a Scan."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": consistent,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": serialize_item({":pk": pk, ":low": low, ":high": high}),
        }
        return [deserialize_item(raw) for raw in query_items(self._client, params)]

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
