"""In-memory fakes of the sending path's ports: limiter, gateway, queue, workflow counts, message states, once-guard,
and the Redis calls the once-guard's persistence layer makes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.sending.gateway import GatewayError, Receipt
from shared.sending.limiter import Decision
from shared.sending.messages import FanMessageStatus, MessageCounts, MessageState
from tests.support.fakes import (
    InMemoryWorkflowStore,
)


class SlidingLogLimiter:
    """The limiter's semantics (a log of admitted sends per account) on a test clock; ``down`` fails closed."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float], unavailable_ms: int = 5000) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self.unavailable_ms = unavailable_ms
        self.log: dict[str, list[float]] = {}
        self.down = False

    def acquire(self, account_id: str) -> Decision:
        if self.down:
            return Decision(False, self.unavailable_ms, None, "unavailable")
        now = self.clock()
        kept = [t for t in self.log.get(account_id, []) if t > now - self.window_s]
        self.log[account_id] = kept
        if len(kept) < self.limit:
            kept.append(now)
            return Decision(True, 0, int(now * 1e6), "admitted")
        return Decision(False, math.ceil((kept[0] + self.window_s - now) * 1000), int(now * 1e6), "limited")


@dataclass
class RecordingGateway:
    """Records every send; ``failures`` are raised first, one per call, in order."""

    failures: list[GatewayError] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)
    calls: int = 0

    def send(self, account_id: str, recipient_id: str, message_id: str, text: str, *, on_behalf_of: str) -> Receipt:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(
            {"accountId": account_id, "recipientId": recipient_id, "messageId": message_id, "onBehalfOf": on_behalf_of}
        )
        return Receipt(message_id, f"gw-{len(self.sent)}")


@dataclass
class ListQueue:
    """A queue that keeps what was sent; ``reject`` makes ``send_batch`` refuse those indexes."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    backoffs: list[tuple[str, int]] = field(default_factory=list)
    reject: set[int] = field(default_factory=set)
    broken: bool = False

    def send(self, body: str, delay_s: int = 0) -> None:
        if self.broken:
            raise ConnectionError("queue unavailable")
        self.sent.append((body, delay_s))

    def send_batch(self, bodies: Sequence[str]) -> list[int]:
        if self.broken:
            raise ConnectionError("queue unavailable")
        self.sent += [(body, 0) for i, body in enumerate(bodies) if i not in self.reject]
        return sorted(i for i in self.reject if i < len(bodies))

    def retry_after(self, receipt_handle: str, delay_s: int) -> None:
        self.backoffs.append((receipt_handle, delay_s))


@dataclass
class CountingWorkflows:
    """Workflow counts by id (what ``add_counts`` would leave in DynamoDB), plus the calls made."""

    counts: dict[str, MessageCounts] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def add_counts(
        self, workflow_id: str, updated_at: str, *, sent: int = 0, queued: int = 0, failed: int = 0
    ) -> MessageCounts:
        self.calls.append({"workflow_id": workflow_id, "sent": sent, "queued": queued, "failed": failed})
        old = self.counts.get(workflow_id, MessageCounts())
        new = MessageCounts(sent=old.sent + sent, queued=old.queued + queued, failed=old.failed + failed)
        self.counts[workflow_id] = new
        return new


@dataclass
class InMemoryMessageStates:
    """Each recipient's message record by (workflow, fan), as the workflows table would hold it."""

    items: dict[tuple[str, str], FanMessageStatus] = field(default_factory=dict)

    def record(self, workflow_id: str, messages: Sequence[FanMessageStatus], expires_at: int) -> None:
        for message in messages:
            self.items[(workflow_id, message.recipient_id)] = message

    def mark(
        self, workflow_id: str, recipient_id: str, state: MessageState, updated_at: str, reason: str | None = None
    ) -> None:
        old = self.items.get((workflow_id, recipient_id))
        if old is None:
            return
        sent_at = updated_at if state == "sent" else old.sent_at
        changes = {"state": state, "updated_at": updated_at, "sent_at": sent_at, "reason": reason or old.reason}
        self.items[(workflow_id, recipient_id)] = old.model_copy(update=changes)

    def read(self, workflow_id: str, recipient_ids: Sequence[str]) -> list[FanMessageStatus]:
        return [self.items[(workflow_id, fan)] for fan in recipient_ids if (workflow_id, fan) in self.items]

    def of(self, workflow_id: str) -> dict[str, FanMessageStatus]:
        """Every recorded message of a workflow, by fan."""
        return {fan: status for (wf, fan), status in self.items.items() if wf == workflow_id}


class InMemoryOnce:
    """The once-guard in a dict: a key that completed returns its result; a run that raised leaves nothing."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self.context: Any = None

    def bind(self, context: Any) -> None:
        self.context = context

    def run(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.results:
            self.results[key] = action()
        return self.results[key]


def once_record_key(prefix: str, idempotency_key: str) -> str:
    """Where Powertools keeps a key's once-guard record: the prefix, '#', the MD5 of the key as JSON."""
    return f"{prefix}#{hashlib.md5(json.dumps(idempotency_key).encode()).hexdigest()}"


class DictRedis:
    """The three Redis calls Powertools' cache layer makes, in a dict; ``down`` (or ``fail_after`` more
    successful calls) raises what redis-py raises when the server is away."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.ttls: dict[str, float | None] = {}
        self.down = False
        self.fail_after: int | None = None

    def _reachable(self) -> None:
        if self.fail_after is not None:
            if self.fail_after <= 0:
                self.down = True
            self.fail_after -= 1
        if self.down:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def get(self, name: str) -> bytes | None:
        self._reachable()
        return self.values.get(name)

    def set(self, name: str, value: Any, ex: Any = None, px: Any = None, nx: bool = False) -> bool | None:
        self._reachable()
        if nx and name in self.values:
            return None
        self.values[name] = value.encode() if isinstance(value, str) else value
        self.ttls[name] = ex
        return True

    def delete(self, *names: str) -> int:
        self._reachable()
        return sum(self.values.pop(name, None) is not None for name in names)


def sqs_record(body: str, receive_count: int = 1, message_id: str = "m-1") -> SQSRecord:
    """One record as Lambda hands it to the batch processor."""
    return SQSRecord(
        {
            "messageId": message_id,
            "receiptHandle": f"rh-{message_id}-{receive_count}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": str(receive_count)},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
    )


class Store(InMemoryWorkflowStore, CountingWorkflows):
    """Workflows in a dict with the counts kept beside them."""

    def __init__(self) -> None:
        InMemoryWorkflowStore.__init__(self)
        CountingWorkflows.__init__(self)
