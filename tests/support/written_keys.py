"""What a DynamoDB request writes, seen on the wire of a real botocore client: the partition keys it names.

Tests compare them with the ``dynamodb:LeadingKeys`` prefixes stacks/functions.py grants each function.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any


def written_partition_keys(operation: str, params: dict[str, Any], table: str) -> list[str]:
    """The partition keys one DynamoDB write request names in ``table`` (what dynamodb:LeadingKeys holds)."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        if params.get("TableName") != table:
            return []
        return [(params.get("Item") or params["Key"])["pk"]["S"]]
    if operation == "TransactWriteItems":
        keys = []
        for item in params["TransactItems"]:
            for kind, request in item.items():
                if kind != "ConditionCheck" and request["TableName"] == table:
                    keys.append((request.get("Item") or request["Key"])["pk"]["S"])
        return keys
    if operation == "BatchWriteItem":
        return [
            (request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])["pk"]["S"]
            for request in params["RequestItems"].get(table, [])
        ]
    return []


@contextmanager
def watching_writes(clients: Iterable[Any], table: str) -> Iterator[list[str]]:
    """The partition keys every write to ``table`` names, from this thread only (a stream poller folding on its
    own thread uses the same client), while the block runs."""
    written: list[str] = []
    thread = threading.get_ident()

    def watch(params: dict[str, Any], model: Any, **_: Any) -> None:
        if threading.get_ident() == thread:
            written.extend(written_partition_keys(model.name, params, table))

    unique = list({id(c): c for c in clients}.values())
    for client in unique:
        client.meta.events.register("before-parameter-build.dynamodb", watch)
    try:
        yield written
    finally:
        for client in unique:
            client.meta.events.unregister("before-parameter-build.dynamodb", watch)
