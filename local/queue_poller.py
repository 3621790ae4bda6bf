"""Queues drained as Lambda's SQS event source mapping drains them.

For every ``AWS::Lambda::EventSourceMapping`` on an SQS queue in the template, a poller thread
long-polls the queue, hands batches of up to ``BatchSize`` records to the function's handler in
Lambda's SQS event shape, and deletes what succeeded: the whole batch on success, nothing when
the handler raises, and every record but the reported ``batchItemFailures`` when the mapping has
``FunctionResponseTypes: [ReportBatchItemFailures]``. What is not deleted reappears after the
visibility timeout, and the queue's redrive policy moves poison messages to the DLQ, as in AWS.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local.console import Console
from local.events import LambdaContext
from local.template import REGION, Template
from stacks.route_table import FUNCTIONS

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class EventSource:
    """One SQS event source mapping, resolved to a local queue and a route-table function."""

    function: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    report_failures: bool = False


def _message_attributes(raw: Mapping[str, Any]) -> dict[str, Any]:
    """boto3's ``MessageAttributes`` in Lambda's lower-camel event form."""
    out = {}
    for name, attr in raw.items():
        binary = attr.get("BinaryValue")
        out[name] = {
            "stringValue": attr.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": attr.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(b).decode() for b in attr.get("BinaryListValues", [])],
            "dataType": attr["DataType"],
        }
        out[name] = {k: v for k, v in out[name].items() if v is not None}
    return out


def sqs_event(messages: list[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda passes for a batch received from ``queue_arn``."""
    records = []
    for message in messages:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def succeeded_records(event: Mapping[str, Any], result: Any, report_failures: bool) -> list[Mapping[str, Any]]:
    """Records to delete after the handler returned ``result`` (Lambda's rules).

    With ReportBatchItemFailures, a malformed response or an unknown/empty ``itemIdentifier``
    fails the whole batch, as Lambda does; without it, returning at all means success.
    """
    records = event["Records"]
    if not report_failures:
        return list(records)
    failures = (result or {}).get("batchItemFailures", []) if isinstance(result, Mapping | type(None)) else None
    ids = {r["messageId"] for r in records}
    if failures is None or any(not f.get("itemIdentifier") or f["itemIdentifier"] not in ids for f in failures):
        return []
    failed = {f["itemIdentifier"] for f in failures}
    return [r for r in records if r["messageId"] not in failed]


class QueuePoller:
    """One event source mapping's worker: receive, invoke, delete what succeeded."""

    def __init__(
        self, sqs: Any, source: EventSource, handler: Handler, wait_s: int = 1, console: Console | None = None
    ) -> None:
        self.sqs = sqs
        self.console = console
        self.source = source
        self.handler = handler
        self.wait_s = wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """Receive one batch and process it; return how many records were received."""
        batch = self.sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return 0
        event = sqs_event(batch, self.source.queue_arn)
        spec = FUNCTIONS.get(self.source.function)
        context = LambdaContext(
            function_name=self.source.function,
            memory_limit_in_mb=spec.memory_mb if spec else 256,
            timeout_s=spec.timeout_s if spec else 30,
        )
        with self.console.invocation() if self.console else contextlib.nullcontext() as collector:
            try:
                done = succeeded_records(event, self.handler(event, context), self.source.report_failures)
            except Exception:
                traceback.print_exc()  # where the handler's output goes: the log file under `make run`
                done = []
        if self.console is not None and collector is not None:
            queue = self.source.queue_url.rsplit("/", 1)[-1]
            failed, requeued = len(batch) - len(done), min(collector.requeued, len(done))
            # A requeued record is done for Lambda (deleted, its copy waits on the queue), not delivered.
            self.console.batch(queue, len(batch), len(done) - requeued, failed, requeued, collector.failures)
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
        return len(batch)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once() and not self.wait_s:
                    self._stop.wait(0.05)  # no long poll to pace us: do not spin
            except Exception:  # the queue or moto went away: keep the worker alive, like Lambda
                if self._stop.wait(0.5):
                    return  # shutting down (Ctrl-C reaches moto's process first): nothing to report
                traceback.print_exc()
                self._stop.wait(0.5)

    def start(self) -> QueuePoller:
        """Poll in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.source.function}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current long poll returns (at most ``wait_s`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_s + 5)


def route_function_for(template: Template, logical_id: str, functions: Iterable[str] = FUNCTIONS) -> str | None:
    """The route-table function a Lambda resource deploys, following aliases and versions.

    CDK names functions ``<prefix>-<stage>-<name>``, so the longest route-table name the physical
    name ends with wins (``fan-messages`` over ``messages``).
    """
    seen = set()
    while logical_id not in seen:
        seen.add(logical_id)
        resource = template.resources.get(logical_id, {})
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Lambda::Function":
            name = str(props.get("FunctionName") or logical_id)
            matches = [f for f in functions if name == f or name.endswith(f"-{f}")]
            return max(matches, key=len) if matches else None
        logical_id = _referenced(props.get("FunctionName")) or ""
    return None


def _referenced(value: Any) -> str | None:
    """The logical id a value refers to: a Ref, a GetAtt, or the first one inside an intrinsic.

    A mapping on an alias names it as ``Fn::Join`` of ``Fn::Select`` over ``Fn::Split`` of the
    alias's Ref and ``:live``; the Ref inside still leads to the function.
    """
    if isinstance(value, Mapping):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else att.split(".")[0])
        return next(filter(None, (_referenced(item) for item in value.values())), None)
    if isinstance(value, list):
        return next(filter(None, (_referenced(item) for item in value)), None)
    return None


def event_sources(
    template: Template,
    queue_arns: Mapping[str, str],
    arn_by_logical_id: Mapping[str, str],
    functions: Iterable[str] = FUNCTIONS,
) -> list[EventSource]:
    """The template's SQS event source mappings, resolved against the locally created queues.

    ``functions`` are the names handlers can be loaded for (the route table's, by default).
    """
    sources = []
    for props in (r.get("Properties", {}) for r in template.of_type("AWS::Lambda::EventSourceMapping").values()):
        queue_id = _referenced(props.get("EventSourceArn"))
        arn = arn_by_logical_id.get(queue_id or "") or str(props.get("EventSourceArn"))
        function = route_function_for(template, _referenced(props.get("FunctionName")) or "", tuple(functions))
        if arn not in queue_arns:
            continue  # not an SQS queue created locally (e.g. a DynamoDB stream)
        if function is None:
            raise ValueError(f"event source mapping on {arn} targets a function missing from the route table")
        sources.append(
            EventSource(
                function=function,
                queue_url=queue_arns[arn],
                queue_arn=arn,
                batch_size=int(props.get("BatchSize", 10)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            )
        )
    return sources
