"""moto's DynamoDB made atomic per request, as DynamoDB is.

moto applies a ``TransactWriteItems`` item by item after backing the table up with a deepcopy,
and restores that copy when the transaction is cancelled. On a threaded server two such requests
interleave: both pass an ``attribute_not_exists`` condition, a restore undoes the other request's
writes, and a deepcopy races a concurrent write ("dictionary changed size during iteration").
DynamoDB itself isolates transactions, conditional writes and ``ADD`` updates, so the local
server answers one DynamoDB request at a time (other services stay concurrent).
"""

from __future__ import annotations

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


def main() -> None:
    """``python -m local.moto_dynamodb -H host -p port``: moto's own server, patched."""
    from moto.server import main as moto_main

    serialize_dynamodb_requests()
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
