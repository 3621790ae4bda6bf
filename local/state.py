"""The local stack's state on disk, so ``make run`` after Ctrl-C (or a crash) finds what the last one left.

What is kept, under one folder (``.local/state/`` for ``make run``, ``STATE_DIR=`` to move it):

- ``aws.json``: every item of every table of the template, and every SQS message not yet deleted (work
  queues and their dead-letter queues: visible, delayed or in flight), read from the moto server;
- ``redis/``: Redis's append-only file (the limiter's windows, the breaker's circuits, the caches),
  written by redis-server itself (:class:`local.redis_server.RedisServer` with a ``data_dir``);
- ``feature_flags.json``: the flag document ``PUT /_local/flags`` last wrote.

Not kept: topics, subscriptions and secrets (created from the template at every start), and the
simulated outside world's logs (``/_sim/sent``, ``/_sim/requests``, ``/_local/emails``); the alert
history the product itself keeps is a table, so it is kept.

``aws.json`` is written on a clean stop and every few seconds while the stack runs (to a temporary
file renamed over the last one, so a crash leaves the previous complete snapshot), so a killed
``make run`` loses at most that much.

Counting a cost once across a restart. The counters are the aggregator's fold of the costs table's
stream, so they are restored as they are, and the restore's own writes must not be folded again: the
stream pollers start at ``LATEST`` after those writes. Two details make that exact:

- a snapshot is taken with the stream pollers paused between batches, and the stream is then read to
  its end (:meth:`local.stream_poller.StreamPoller.unfolded_records`), so every event item in the
  snapshot is either in the snapshot's counters or listed as *unfolded*. A restore writes the unfolded
  events only after the pollers have taken their iterators, so they are folded then, once;
- the counters' high-water marks (``hw_<shard>``, :mod:`shared.ledger.aggregator`) describe the old
  stream, and moto names every stream's shard alike and numbers its records from the same start, so a
  kept mark would make the new stream's first records look folded already. The new stream has folded
  nothing into any counter, which is what no mark says: the marks are dropped on restore.

Consistency between tables and queues is a local compromise: they are read one after the other while
the API serves, so a campaign caught mid-way by a crash may stay ``running``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.aws import MotoServer
from local.moto_queues import queue_messages
from local.stream_poller import StreamPoller
from shared.ledger.aggregator import mark_attribute

FORMAT_VERSION = 1
SCAN_PAGE = 500  # moto answers one DynamoDB request at a time: small pages keep the API's requests flowing
MARK_PREFIX = mark_attribute("")
MAX_DELAY_S = 900  # SQS's largest DelaySeconds


class StateError(RuntimeError):
    """The state file cannot be used (unreadable, or from another format)."""


@dataclass
class Restored:
    """What a start found on disk and put back."""

    items: int = 0
    messages: int = 0
    unfolded: int = 0  # events the snapshot had not folded yet: folded after the restore
    saved_at: str | None = None
    skipped: list[str] = field(default_factory=list)  # tables or queues the template no longer has

    @property
    def found(self) -> bool:
        """Whether there was a snapshot at all."""
        return self.saved_at is not None


@dataclass(frozen=True)
class Saved:
    """What one snapshot wrote."""

    items: int
    messages: int
    unfolded: int


class LocalState:
    """One state folder: its snapshot file, Redis's folder and the flag document's folder."""

    def __init__(self, folder: Path, fresh: bool = False) -> None:
        self.folder = folder
        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
        self.file = folder / "aws.json"
        self.redis_dir = folder / "redis"
        self._pending: dict[str, list[dict[str, Any]]] = {}  # unfolded events, by table, until the pollers run

    def restore(self, moto: MotoServer, tables: Mapping[str, str], queues: Mapping[str, str]) -> Restored:
        """Put the snapshot's items (but its unfolded events) and messages back; no snapshot: nothing to do."""
        if not self.file.exists():
            return Restored()
        try:
            snapshot = json.loads(self.file.read_text())
        except ValueError as exc:
            raise StateError(f"{self.file} is not readable ({exc}); `make run FRESH=1` starts empty") from exc
        if snapshot.get("version") != FORMAT_VERSION:
            raise StateError(f"{self.file} has format {snapshot.get('version')!r}, not {FORMAT_VERSION}")
        restored = Restored(saved_at=snapshot.get("savedAt"))
        ddb = moto.client("dynamodb")
        for name, saved in snapshot.get("tables", {}).items():
            if name not in tables:
                restored.skipped.append(name)
                continue
            unfolded = {_key_id(key) for key in saved.get("unfolded", [])}
            now, later = [], []
            for encoded in saved["items"]:
                item = _decode(encoded)
                item = _without_marks(item) if saved.get("streamed") else item
                (later if unfolded and _key_id(_key_of(item, saved["keys"])) in unfolded else now).append(item)
            _write_items(ddb, name, now)
            self._pending[name] = later
            restored.items += len(now) + len(later)
            restored.unfolded += len(later)
        sqs = moto.client("sqs")
        for name, messages in snapshot.get("queues", {}).items():
            if name not in queues:
                restored.skipped.append(name)
                continue
            _send_messages(sqs, queues[name], messages)
            restored.messages += len(messages)
        return restored

    def fold_unfolded(self, moto: MotoServer) -> None:
        """Write the events the snapshot had not folded, once the stream pollers have taken their iterators."""
        ddb = moto.client("dynamodb")
        for name, items in self._pending.items():
            _write_items(ddb, name, items)
        self._pending = {}

    def save(
        self,
        moto: MotoServer,
        tables: Mapping[str, str],
        queues: Mapping[str, str],
        stream_pollers: list[tuple[StreamPoller, str]],
    ) -> Saved:
        """Snapshot every table (stream pollers paused) and every queue into :attr:`file`, atomically.

        ``stream_pollers`` pairs each poller with the table whose stream it drains.
        """
        ddb = moto.client("dynamodb")
        snapshot_tables: dict[str, dict[str, Any]] = {}
        with contextlib.ExitStack() as paused:
            for poller, _ in stream_pollers:
                paused.enter_context(poller.paused())
            for name in tables:
                keys = [k["AttributeName"] for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]]
                snapshot_tables[name] = {"keys": keys, "items": _scan(ddb, name), "unfolded": []}
            for poller, table in stream_pollers:
                snapshot_tables[table]["streamed"] = True
                held = {
                    _key_id(_key_of(item, snapshot_tables[table]["keys"])) for item in snapshot_tables[table]["items"]
                }
                unfolded = [r["dynamodb"]["Keys"] for r in poller.unfolded_records() if r.get("eventName") == "INSERT"]
                # An event written after its table was read is not in the snapshot: it is not listed either.
                snapshot_tables[table]["unfolded"] += [key for key in unfolded if _key_id(key) in held]
        messages = {name: found for name, found in queue_messages(moto.url).items() if name in queues}
        for saved in snapshot_tables.values():
            saved["items"] = [_encode(item) for item in saved["items"]]
        document = {
            "version": FORMAT_VERSION,
            "savedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": snapshot_tables,
            "queues": messages,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.file.with_suffix(".tmp")
        with staging.open("w") as out:
            json.dump(document, out)
            out.flush()
            os.fsync(out.fileno())
        staging.replace(self.file)  # a crash mid-write leaves the previous snapshot whole
        return Saved(
            items=sum(len(t["items"]) for t in snapshot_tables.values()),
            messages=sum(len(m) for m in messages.values()),
            unfolded=sum(len(t["unfolded"]) for t in snapshot_tables.values()),
        )

    @contextlib.contextmanager
    def saving_every(
        self, interval_s: float, save: Callable[[], object], on_error: Callable[[str], None]
    ) -> Iterator[None]:
        """Call ``save`` every ``interval_s`` in a daemon thread while the block runs (0: never)."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval_s):
                try:
                    save()
                except Exception as exc:  # moto busy or going away: the next round tries again
                    on_error(f"state not saved: {exc!r}")

        thread = threading.Thread(target=run, name="state-saver", daemon=True)
        if interval_s > 0:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread.is_alive():
                thread.join(timeout=60)


def _scan(ddb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "Limit": SCAN_PAGE, "ConsistentRead": True}
    while True:
        page = ddb.scan(**request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _write_items(ddb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        requests = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while requests:
            requests = ddb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


def _send_messages(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        entries = []
        for index, message in enumerate(messages[start : start + 10]):
            entry: dict[str, Any] = {
                "Id": str(index),
                "MessageBody": message["body"],
                "DelaySeconds": min(MAX_DELAY_S, math.ceil(message.get("delayLeftS", 0))),
            }
            attributes = {
                name: {**value, "BinaryValue": base64.b64decode(value["BinaryValue"])}
                if "BinaryValue" in value
                else value
                for name, value in message.get("messageAttributes", {}).items()
            }
            if attributes:
                entry["MessageAttributes"] = attributes
            entries.append(entry)
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        if failed:
            raise StateError(f"could not restore messages to {url}: {failed}")


def _without_marks(item: dict[str, Any]) -> dict[str, Any]:
    """A counter without the old stream's high-water marks (see the module docstring)."""
    return {name: value for name, value in item.items() if not name.startswith(MARK_PREFIX)}


def _key_of(item: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    return {name: item[name] for name in keys}


def _key_id(key: Mapping[str, Any]) -> str:
    return json.dumps(_encode(dict(key)), sort_keys=True)


def _encode(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item as JSON: binary values base64-encoded."""
    return {name: _convert(value, lambda b: base64.b64encode(b).decode()) for name, value in item.items()}


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _convert(value, base64.b64decode) for name, value in item.items()}


def _convert(value: dict[str, Any], binary: Callable[[Any], Any]) -> dict[str, Any]:
    kind, inner = next(iter(value.items()))
    if kind == "B":
        return {kind: binary(inner)}
    if kind == "BS":
        return {kind: [binary(b) for b in inner]}
    if kind == "M":
        return {kind: {k: _convert(v, binary) for k, v in inner.items()}}
    if kind == "L":
        return {kind: [_convert(v, binary) for v in inner]}
    return {kind: inner}


def elapsed_since(saved_at: str | None) -> str:
    """``"5 s ago"`` for the banner."""
    if saved_at is None:
        return "never"
    seconds = time.time() - datetime.fromisoformat(saved_at).timestamp()
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"
