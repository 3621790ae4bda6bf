"""The drainer: the one place that checks the limiter and calls the gateway, one SQS record at a time.

Per record, inside the once-per-idempotency-key guard: ask the limiter; if it says "not now"
(over the limit, or Redis unreachable), put the same body back on the queue with a delay until
allowed and count the original as done, so waiting never burns ``maxReceiveCount``. The guard's
own store unreachable is the same "not now" (nothing is ever sent without its guard). If allowed,
send through the gateway, count the message on its workflow and mark its recipient's record
sent. A retryable gateway failure fails the record (the batch reports it, SQS redelivers it
after a growing backoff); on the last receive before the DLQ the workflow counts it failed. A
permanent refusal counts failed at once. Either failure also marks the recipient's record
failed, with why; retries and waits write nothing there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from shared.core.observability import logger, metrics
from shared.core.once import OnceGuard, OnceGuardUnavailableError
from shared.core.queues import MAX_DELAY_S, Queue
from shared.core.time import iso_timestamp
from shared.sending.gateway import Gateway, GatewayRejectedError
from shared.sending.limiter import RateLimiter
from shared.sending.message_states import MessageStates
from shared.sending.messages import MessageState, OutboundMessage, WorkflowCounters

Outcome = Literal["sent", "rejected", "requeued", "deferred"]
# Time a record must still have to be worth starting: the gateway's timeout plus this margin.
START_MARGIN_MS = 1_000


class NotNow(Exception):
    """The limiter said "not now": the message waits ``delay_s`` seconds on the queue."""

    def __init__(self, delay_s: int, reason: str) -> None:
        super().__init__(f"not now ({reason}): retry in {delay_s} s")
        self.delay_s = min(delay_s, MAX_DELAY_S)
        self.reason = reason


class MessageDrainer:
    """Handles one record of the rate-limited queue (the batch processor calls :meth:`handle`)."""

    def __init__(
        self,
        limiter: RateLimiter,
        gateway: Gateway,
        queue: Queue,
        counters: WorkflowCounters,
        once: OnceGuard,
        *,
        states: MessageStates,
        guard_unavailable_delay_s: int,
        max_receive_count: int,
        retry_backoff_s: int,
        gateway_timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limiter = limiter
        self._gateway = gateway
        self._queue = queue
        self._counters = counters
        self._states = states
        self._once = once
        self._guard_unavailable_delay_s = min(guard_unavailable_delay_s, MAX_DELAY_S)
        self._max_receive_count = max_receive_count
        self._retry_backoff_s = retry_backoff_s
        self._min_start_ms = int(gateway_timeout_s * 1000) + START_MARGIN_MS
        self._clock = clock
        self._context: Any = None

    def bind(self, context: Any) -> None:
        """The invocation's Lambda context: remaining time, and the idempotency records' lease."""
        self._context = context
        self._once.bind(context)

    def handle(self, record: SQSRecord) -> Outcome:
        """Process one record; raising makes it a batch item failure (SQS redelivers it)."""
        message = OutboundMessage.model_validate_json(record.body)  # a malformed body fails until the DLQ
        if self._out_of_time():
            self._queue.send(record.body)  # a fresh invocation sends it; this one could be cut off mid-send
            return self._count_metric("deferred")
        try:
            result = self._once.run(message.idempotency_key, lambda: self._deliver(message))
        except IdempotencyAlreadyInProgressError:
            raise  # another container is sending it right now; SQS brings this copy back later
        except OnceGuardUnavailableError:
            logger.warning("the once-guard's store is unreachable", extra={"key": message.idempotency_key})
            metrics.add_metric(name="OnceGuardUnavailable", unit=MetricUnit.Count, value=1)
            return self._requeue(record, self._guard_unavailable_delay_s)
        except NotNow as wait:
            if wait.reason == "unavailable":
                metrics.add_metric(name="LimiterUnavailable", unit=MetricUnit.Count, value=1)
            return self._requeue(record, wait.delay_s)
        except Exception as exc:
            self._after_failed_attempt(message, record, exc)
            raise
        return self._count_metric(result["status"])

    def _requeue(self, record: SQSRecord, delay_s: int) -> Outcome:
        """The same body back on the queue after ``delay_s``; the original is done (no receive is burnt)."""
        self._queue.send(record.body, delay_s)
        metrics.add_metric(name="MessagesRequeued", unit=MetricUnit.Count, value=1)
        return "requeued"

    def _deliver(self, message: OutboundMessage) -> dict[str, Any]:
        """Runs at most once to completion per idempotency key (see :class:`OnceGuard`)."""
        decision = self._limiter.acquire(message.account_id)
        if not decision.allowed:
            raise NotNow(decision.retry_after_s, decision.reason)
        try:
            receipt = self._gateway.send(
                message.account_id,
                message.recipient_id,
                message.idempotency_key,
                message.text,
                on_behalf_of=message.user_id,
            )
        except GatewayRejectedError as exc:
            logger.error("gateway refused a message", extra={"key": message.idempotency_key, "status": exc.status})
            self._count(message, failed=1)
            self._mark(message, "failed", f"gateway refused it: {exc}")
            return {"status": "rejected", "httpStatus": exc.status}
        self._count(message, sent=1)
        self._mark(message, "sent")
        return {"status": "sent", "gatewayId": receipt.gateway_id, "sentAt": iso_timestamp(self._clock())}

    def _after_failed_attempt(self, message: OutboundMessage, record: SQSRecord, error: Exception) -> None:
        """Back off before SQS redelivers; on the last receive before the DLQ, count the message failed
        and make it visible at once, so SQS moves it to the DLQ now rather than after the visibility timeout."""
        receive_count = int(record.attributes.approximate_receive_count or 1)
        backoff_s = self._retry_backoff_s * 2 ** (receive_count - 1)
        if receive_count >= self._max_receive_count:
            logger.error("message goes to the DLQ", extra={"key": message.idempotency_key, "receives": receive_count})
            self._count(message, failed=1)
            self._mark(message, "failed", f"{error} on {receive_count} attempts; moved to the DLQ")
            metrics.add_metric(name="MessagesDeadLettered", unit=MetricUnit.Count, value=1)
            backoff_s = 0
        try:
            self._queue.retry_after(record.receipt_handle, backoff_s)
        except Exception:  # the visibility timeout still brings it back, only later
            logger.exception("could not set the retry backoff", extra={"key": message.idempotency_key})

    def _count(self, message: OutboundMessage, sent: int = 0, failed: int = 0) -> None:
        self._counters.add_counts(
            message.workflow_id, iso_timestamp(self._clock()), sent=sent, failed=failed, queued=-(sent + failed)
        )

    def _mark(self, message: OutboundMessage, state: MessageState, reason: str | None = None) -> None:
        """The recipient's record follows the counts; losing this write must never fail (and resend) the message."""
        try:
            self._states.mark(message.workflow_id, message.recipient_id, state, iso_timestamp(self._clock()), reason)
        except Exception:
            logger.exception("could not record the message state", extra={"key": message.idempotency_key})

    def _out_of_time(self) -> bool:
        if self._context is None:
            return False
        return int(self._context.get_remaining_time_in_millis()) < self._min_start_ms

    @staticmethod
    def _count_metric(outcome: Outcome) -> Outcome:
        name = {"sent": "MessagesSent", "rejected": "MessagesRejected", "deferred": "MessagesDeferred"}[outcome]
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return outcome
