"""Counts the DynamoDB requests a boto3 client sends, by operation, with a botocore event hook.

Tests and benchmarks use it to hold code to a request budget (one transaction per recorded
cost, a constant number of Queries per read) without mocking anything.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


class RequestCounter:
    """``before-send.dynamodb.*`` on one client; :meth:`take` returns the counts so far and resets them.

    ``items_read`` adds up the ``Count`` of every Query answer: the items DynamoDB returned;
    ``gets`` counts GetItem requests by the partition key they name.
    """

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.gets: Counter[str] = Counter()
        self.items_read = 0
        client.meta.events.register("before-send.dynamodb.*", self._count)
        client.meta.events.register("after-call.dynamodb.Query", self._read)

    def _count(self, request: Any, **_: Any) -> None:
        operation = request.headers["X-Amz-Target"].decode().rsplit(".", 1)[-1]
        self.calls[operation] += 1
        if operation == "GetItem":
            key = json.loads(request.body)["Key"]  # the costs table's pk, or another table's own key (circuits: id)
            partition = key.get("pk") or next(iter(key.values()))
            self.gets[str(next(iter(partition.values())))] += 1

    def _read(self, parsed: Any, **_: Any) -> None:
        self.items_read += int(parsed.get("Count", 0))

    def take(self) -> dict[str, int]:
        """``{"Query": 2, ...}`` since the last take (``items_read`` resets too)."""
        taken, self.calls, self.gets, self.items_read = dict(self.calls), Counter(), Counter(), 0
        return taken
