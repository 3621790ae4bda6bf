"""Table streams drained as Lambda's DynamoDB event source mapping drains them.

For every ``AWS::Lambda::EventSourceMapping`` on a table's stream in the template, a poller thread
reads each shard of the moto server's stream (``DescribeStream``, ``GetShardIterator``, ``GetRecords``),
keeps the records the mapping's ``FilterCriteria`` lets through, and hands batches of up to ``BatchSize``
to the function's handler in Lambda's event shape, once ``MaximumBatchingWindowInSeconds`` has passed
since the batch's first record arrived (at once when the batch is full or the window is 0). Lambda's
rules for what comes next: success checkpoints the batch; with ``ReportBatchItemFailures``, a reported
``itemIdentifier`` (a ``SequenceNumber``) checkpoints every record before it and the next batch starts
there; an error retries the batch (halved first with ``BisectBatchOnFunctionError``), and once
``MaximumRetryAttempts`` is spent the batch's description goes to the on-failure queue and the shard
moves on. One batch per shard at a time (parallelization factor 1). Polling every quarter second, as
Lambda does.

A mapping starts at ``TRIM_HORIZON``, or at ``LATEST`` for a stack restored from its state file
(``local/state.py``): the restore's own writes are already folded into the restored counters, so the
iterators are taken (:meth:`StreamPoller.start`, before it returns) after they are written and before
anything new is. :meth:`StreamPoller.paused` holds the worker between two polls, and inside it
:meth:`StreamPoller.unfolded_records` reads the shards to their end into the pending batches and lists
every record not folded yet, which is what a snapshot of the table needs to know.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from local.events import LambdaContext
from local.queue_poller import _referenced, route_function_for
from local.template import REGION, Template
from stacks.route_table import FUNCTIONS

Handler = Callable[[dict[str, Any], Any], Any]
POLL_S = 0.25  # Lambda polls a shard four times a second
StartingPosition = Literal["TRIM_HORIZON", "LATEST"]


@dataclass(frozen=True)
class StreamSource:
    """One DynamoDB stream event source mapping, resolved to a local stream and a route-table function."""

    function: str
    stream_arn: str
    batch_size: int = 100
    window_s: float = 0.0
    patterns: tuple[Mapping[str, Any], ...] = ()
    report_failures: bool = False
    bisect: bool = False
    max_retries: int = -1  # -1: until the record expires, as Lambda's default
    on_failure_url: str | None = None


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering for the rules the templates use: nested keys, exact values, ``prefix``."""
    if isinstance(pattern, Mapping):
        return isinstance(value, Mapping) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(_rule(rule, value) for rule in pattern)
    raise ValueError(f"unsupported filter pattern {pattern!r}")


def _rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, Mapping):
        if set(rule) != {"prefix"}:
            raise ValueError(f"unsupported filter rule {rule!r}")
        return isinstance(value, str) and value.startswith(rule["prefix"])
    return bool(value == rule)


def stream_event(records: list[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The event Lambda passes for a batch of stream records."""
    out = []
    for record in records:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        out.append({**record, "dynamodb": change, "eventSourceARN": stream_arn, "awsRegion": REGION})
    return {"Records": out}


class StreamPoller:
    """One mapping's worker: read every shard, filter, batch, invoke, checkpoint, retry."""

    def __init__(
        self,
        streams: Any,
        sqs: Any,
        source: StreamSource,
        handler: Handler,
        starting_position: StartingPosition = "TRIM_HORIZON",
    ) -> None:
        self.streams, self.sqs, self.source, self.handler = streams, sqs, source, handler
        self.starting_position = starting_position
        self._polling = (
            threading.RLock()
        )  # held by the worker for one poll, or by paused() (re-entrant: a test may hold it)
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._first_at: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.invocations = 0

    def poll_once(self) -> int:
        """Read new records of every shard and run the batches that are due; how many records were handed over."""
        handed = 0
        for shard_id in self._shards():
            self._read(shard_id)
            handed += self._run_due(shard_id)
        return handed

    def _shards(self) -> list[str]:
        """The stream's shards, each with an iterator (a new shard's at :attr:`starting_position`)."""
        shard_ids = []
        for shard in self.streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.source.stream_arn, ShardId=shard_id, ShardIteratorType=self.starting_position
                )["ShardIterator"]
            shard_ids.append(shard_id)
        return shard_ids

    def _read(self, shard_id: str) -> int:
        """Read the shard's next records into its pending batch; how many came (kept or filtered out)."""
        iterator = self._iterators[shard_id]
        if iterator is None:
            return 0
        response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
        self._iterators[shard_id] = response.get("NextShardIterator")
        records = response.get("Records", [])
        kept = [r for r in records if self._passes(r)]
        if kept:
            pending = self._pending.setdefault(shard_id, [])
            if not pending:
                self._first_at[shard_id] = time.monotonic()
            pending.extend(kept)
        return len(records)

    @contextlib.contextmanager
    def paused(self) -> Iterator[StreamPoller]:
        """Hold the worker between two polls (no batch in flight, every counter write of the last one done)."""
        with self._polling:
            yield self

    def unfolded_records(self) -> list[dict[str, Any]]:
        """Inside :meth:`paused`: every record this mapping lets through and has not handed over successfully.

        The shards are read to their end first; what is read stays pending, so the worker folds it on resuming.
        """
        for shard_id in self._shards():
            while self._read(shard_id):
                pass
        return [record for pending in self._pending.values() for record in pending]

    def _passes(self, record: Mapping[str, Any]) -> bool:
        return not self.source.patterns or any(matches(p, record) for p in self.source.patterns)

    def _run_due(self, shard_id: str) -> int:
        handed = 0
        pending = self._pending.get(shard_id, [])
        while pending:
            full = len(pending) >= self.source.batch_size
            waited = time.monotonic() - self._first_at.get(shard_id, 0.0) >= self.source.window_s
            if not (full or waited):
                break
            batch = pending[: self.source.batch_size]
            done = self._deliver(shard_id, batch)
            handed += len(batch)
            del pending[:done]
            self._first_at[shard_id] = time.monotonic()
            if done == 0:
                break  # the same records again on the next poll, as Lambda retries after its backoff
        return handed

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> int:
        """Invoke once; how many records from the start of ``batch`` are checkpointed."""
        head = batch[0]["dynamodb"]["SequenceNumber"]
        failed, crashed = self._invoke(batch)
        if failed is None:
            self._attempts.pop(head, None)
            return len(batch)
        if failed > 0:
            return failed  # a partial batch response: the records before the failed one are done
        attempts = self._attempts[head] = self._attempts.get(head, 0) + 1
        if 0 <= self.source.max_retries < attempts:
            self._dead_letter(shard_id, batch)
            self._attempts.pop(head, None)
            return len(batch)
        if crashed and self.source.bisect and len(batch) > 1:
            half = len(batch) // 2
            done = self._deliver(shard_id, batch[:half])
            return done if done < half else half + self._deliver(shard_id, batch[half:])
        return 0

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[int | None, bool]:
        """(index of the first failed record or None, whether the function raised)."""
        spec = FUNCTIONS.get(self.source.function)
        context = LambdaContext(
            function_name=self.source.function,
            memory_limit_in_mb=spec.memory_mb if spec else 256,
            timeout_s=spec.timeout_s if spec else 60,
        )
        self.invocations += 1
        try:
            result = self.handler(stream_event(batch, self.source.stream_arn), context)
        except Exception:
            traceback.print_exc()
            return 0, True
        if not self.source.report_failures:
            return None, False
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, Mapping | type(None)) else None
        numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if failures is None or any(f.get("itemIdentifier") not in numbers for f in failures):
            return 0, False  # a malformed response fails the whole batch, as in Lambda
        if not failures:
            return None, False
        return min(numbers.index(f["itemIdentifier"]) for f in failures), False

    def _dead_letter(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """What Lambda sends the on-failure destination: the batch's place in the stream, not its records."""
        if not self.source.on_failure_url:
            return
        info = {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(batch),
            "streamArn": self.source.stream_arn,
        }
        body = {"requestContext": {"condition": "RetryAttemptsExhausted"}, "DDBStreamBatchInfo": info}
        self.sqs.send_message(QueueUrl=self.source.on_failure_url, MessageBody=json.dumps(body))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._polling:
                    self.poll_once()
            except Exception:  # moto went away or a hiccup: keep the worker alive, like Lambda
                if self._stop.wait(0.5):
                    return
                traceback.print_exc()
            self._stop.wait(POLL_S)

    def start(self) -> StreamPoller:
        """Take the shards' iterators, then poll in a daemon thread until :meth:`stop`."""
        self._shards()
        self._thread = threading.Thread(target=self._run, name=f"stream-{self.source.function}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def stream_sources(
    template: Template, stream_arns: Mapping[str, str], queue_urls: Mapping[str, str]
) -> list[StreamSource]:
    """The template's DynamoDB stream mappings; ``stream_arns`` by table logical id, ``queue_urls`` by logical id."""
    sources = []
    for props in (r.get("Properties", {}) for r in template.of_type("AWS::Lambda::EventSourceMapping").values()):
        source_arn = props.get("EventSourceArn")
        if not (isinstance(source_arn, Mapping) and "Fn::GetAtt" in source_arn):
            continue
        table_id, attribute = source_arn["Fn::GetAtt"]
        if attribute != "StreamArn":
            continue
        function = route_function_for(template, _referenced(props.get("FunctionName")) or "")
        if function is None:
            raise ValueError(f"stream mapping on {table_id} targets a function missing from the route table")
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        sources.append(
            StreamSource(
                function=function,
                stream_arn=stream_arns[table_id],
                batch_size=int(props.get("BatchSize", 100)),
                window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                patterns=tuple(json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                max_retries=int(props.get("MaximumRetryAttempts", -1)),
                on_failure_url=queue_urls.get(_referenced(destination) or "") if destination else None,
            )
        )
    return sources
