"""moto's DynamoDB made atomic per request, as DynamoDB is.

moto applies a ``TransactWriteItems`` item by item after backing the table up with a deepcopy,
and restores that copy when the transaction is cancelled. On a threaded server two such requests
interleave: both pass an ``attribute_not_exists`` condition, a restore undoes the other request's
writes, and a deepcopy races a concurrent write ("dictionary changed size during iteration").
DynamoDB itself isolates transactions, conditional writes and ``ADD`` updates, so the local
server answers one DynamoDB request at a time (other services stay concurrent).

moto's backup is also a deepcopy of the whole table for every item of every transaction, which
makes a 23-item transaction cost seconds once a table holds a few hundred items. With requests
serialized, a snapshot of the items the transaction touches is an equally exact rollback: that is
what this module takes instead.

And moto answers a Query on a table's key by sorting every item of the table, so its cost grows
with the table; DynamoDB reads the one partition. Here a base-table Query reads its partition
only, so a local latency says what the access pattern costs, not how big moto's table is (a
Scan still reads everything, as it does in DynamoDB).
"""

from __future__ import annotations

import copy
import sys
import threading
from typing import Any

_LOCK = threading.RLock()


def serialize_dynamodb_requests() -> None:
    """Patch moto's DynamoDB handler in this process (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialized", False):
        return

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _roll_back_touched_items_only()
    _query_reads_one_partition()


class _CopyKeepingTables:
    """``copy`` as ``moto.dynamodb.models`` sees it: a Table is not copied (its items are snapshotted instead)."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, self._table_type) else copy.deepcopy(value, memo)


def _roll_back_touched_items_only() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    models.copy = _CopyKeepingTables(Table)  # type: ignore[assignment]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attributes = op.get("Item") or op.get("Key") or {}
            try:
                hash_key = DynamoType(attributes[table.hash_key_attr])
                range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
            except (AttributeError, KeyError):
                continue  # no such table or a malformed key: moto rejects it before writing anything
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                _put_back(table, hash_key, range_key, item)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_QUERIED: dict[int, Any] = {}  # table id -> the partition key of the Query being answered (requests are serialized)


def _query_reads_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        on_index = kwargs.get("index_name") or (len(args) > 6 and args[6])
        if on_index or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        _QUERIED[id(self)] = hash_key
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED.pop(id(self), None)

    def all_items(self: Any) -> list[Any]:
        if id(self) not in _QUERIED:
            return original_all_items(self)
        partition = self.items.get(_QUERIED[id(self)])
        if partition is None:
            return []
        return sorted(partition.values(), key=lambda item: item.range_key) if self.range_key_attr else [partition]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Restore one item to what it was before the transaction (absent included)."""
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


def main() -> None:
    """``python -m local.moto_dynamodb -H host -p port``: moto's own server, patched."""
    from moto.server import main as moto_main

    from local.moto_queues import register_queue_messages_route

    serialize_dynamodb_requests()
    register_queue_messages_route()
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
