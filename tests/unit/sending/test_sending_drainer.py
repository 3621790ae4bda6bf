"""The drainer, record by record, against in-memory ports: limit, requeue, retries, DLQ accounting, once."""

from __future__ import annotations

import json

import pytest

from shared.sending.drainer import MessageDrainer
from shared.sending.gateway import GatewayRejectedError, GatewayRetryableError
from shared.sending.messages import FanMessageStatus, OutboundMessage
from tests.support.sending_fakes import (
    CountingWorkflows,
    InMemoryMessageStates,
    InMemoryOnce,
    ListQueue,
    RecordingGateway,
    SlidingLogLimiter,
    sqs_record,
)

WORKFLOW = "wf_" + "a" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Context:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def body(fan: str, account: str = "creator-1") -> str:
    return OutboundMessage.for_recipient(WORKFLOW, account, fan, f"hi {fan}", "u1").to_body()


@pytest.fixture
def states():
    return InMemoryMessageStates()


@pytest.fixture
def parts(states):
    clock = Clock()
    limiter = SlidingLogLimiter(limit=2, window_s=60, clock=clock)
    gateway, queue, counts, once = RecordingGateway(), ListQueue(), CountingWorkflows(), InMemoryOnce()
    drainer = MessageDrainer(
        limiter,
        gateway,
        queue,
        counts,
        once,
        states=states,
        guard_unavailable_delay_s=10,
        max_receive_count=3,
        retry_backoff_s=2,
        gateway_timeout_s=5,
        clock=clock,
    )
    drainer.bind(Context())
    return drainer, limiter, gateway, queue, counts, clock


def test_admitted_message_is_sent_once_and_counted(parts):
    drainer, _, gateway, queue, counts, _ = parts
    assert drainer.handle(sqs_record(body("fan-1"))) == "sent"
    assert gateway.sent == [
        {"accountId": "creator-1", "recipientId": "fan-1", "messageId": f"{WORKFLOW}#fan-1", "onBehalfOf": "u1"}
    ]
    assert counts.calls == [{"workflow_id": WORKFLOW, "sent": 1, "queued": -1, "failed": 0}]
    assert queue.sent == []


def test_a_redelivered_message_never_reaches_the_gateway_twice(parts):
    drainer, _, gateway, _, counts, _ = parts
    first = sqs_record(body("fan-1"), message_id="sqs-1")
    duplicate = sqs_record(body("fan-1"), message_id="sqs-2")  # a requeued copy has a new SQS id
    assert drainer.handle(first) == "sent"
    assert drainer.handle(first) == "sent"  # Lambda retrying the same record
    assert drainer.handle(duplicate) == "sent"
    assert gateway.calls == 1 and len(counts.calls) == 1


def test_over_the_limit_goes_back_on_the_queue_with_the_wait_and_is_not_a_failure(parts):
    drainer, _, gateway, queue, counts, clock = parts
    drainer.handle(sqs_record(body("fan-1")))
    clock.now += 10
    drainer.handle(sqs_record(body("fan-2")))
    clock.now += 5
    third = body("fan-3")
    assert drainer.handle(sqs_record(third)) == "requeued"  # no exception: not a batch item failure
    assert queue.sent == [(third, 45)]  # the oldest send leaves the 60 s window in 45 s
    assert gateway.calls == 2 and len(counts.calls) == 2
    clock.now += 45
    assert drainer.handle(sqs_record(third, message_id="sqs-requeued")) == "sent"


def test_limiter_unavailable_queues_everything_and_sends_nothing(parts):
    drainer, limiter, gateway, queue, counts, _ = parts
    limiter.down = True
    for fan in ("fan-1", "fan-2", "fan-3"):
        assert drainer.handle(sqs_record(body(fan))) == "requeued"
    assert gateway.calls == 0 and counts.calls == []
    assert [delay for _, delay in queue.sent] == [5, 5, 5]


def test_retryable_gateway_error_fails_the_record_with_a_growing_backoff(parts):
    drainer, _, gateway, queue, counts, clock = parts
    gateway.failures = [GatewayRetryableError("503", 503), GatewayRetryableError("timeout")]
    raw = body("fan-1")
    for receive in (1, 2):
        with pytest.raises(GatewayRetryableError):
            drainer.handle(sqs_record(raw, receive_count=receive))
    assert [delay for _, delay in queue.backoffs] == [2, 4]
    assert counts.calls == []
    # A failed attempt still used a slot (the platform may have seen it): the limit counts it.
    assert drainer.handle(sqs_record(raw, receive_count=3)) == "requeued"
    clock.now += 60
    assert drainer.handle(sqs_record(raw, receive_count=1, message_id="requeued")) == "sent"
    assert counts.calls == [{"workflow_id": WORKFLOW, "sent": 1, "queued": -1, "failed": 0}]


def test_failing_on_the_last_receive_counts_the_message_failed_before_it_goes_to_the_dlq(parts):
    drainer, _, gateway, queue, counts, clock = parts
    gateway.failures = [GatewayRetryableError("500", 500)] * 3
    raw = body("fan-1")
    for receive in (1, 2, 3):
        clock.now += 60
        with pytest.raises(GatewayRetryableError):
            drainer.handle(sqs_record(raw, receive_count=receive))
    assert counts.calls == [{"workflow_id": WORKFLOW, "sent": 0, "queued": -1, "failed": 1}]
    # Visible again at once after the last receive: the next receive moves it to the DLQ.
    assert [delay for _, delay in queue.backoffs] == [2, 4, 0]


def test_a_permanent_refusal_counts_failed_once_and_is_not_retried(parts):
    drainer, _, gateway, _, counts, _ = parts
    gateway.failures = [GatewayRejectedError("400", 400)]
    raw = body("fan-1")
    assert drainer.handle(sqs_record(raw)) == "rejected"
    assert drainer.handle(sqs_record(raw, message_id="again")) == "rejected"
    assert gateway.calls == 1
    assert counts.calls == [{"workflow_id": WORKFLOW, "sent": 0, "queued": -1, "failed": 1}]


def test_a_malformed_body_fails_the_record_so_it_ends_in_the_dlq(parts):
    drainer, _, gateway, _, _, _ = parts
    with pytest.raises(ValueError):
        drainer.handle(sqs_record(json.dumps({"workflowId": WORKFLOW})))
    assert gateway.calls == 0


def test_too_little_time_left_defers_the_message_to_a_fresh_invocation(parts):
    drainer, limiter, gateway, queue, _, _ = parts
    drainer.bind(Context(remaining_ms=2_000))
    raw = body("fan-1")
    assert drainer.handle(sqs_record(raw)) == "deferred"
    assert queue.sent == [(raw, 0)] and gateway.calls == 0 and limiter.log == {}


def queued(states, *fans):
    """What the producer records before queueing: every fan's message, queued, with its text."""
    messages = [FanMessageStatus(recipient_id=fan, state="queued", text=f"hi {fan}", updated_at="t0") for fan in fans]
    states.record(WORKFLOW, messages, expires_at=0)


def test_the_recipients_record_says_sent_with_its_text(parts, states):
    drainer, *_ = parts
    queued(states, "fan-1", "fan-2")
    drainer.handle(sqs_record(body("fan-1")))
    records = states.of(WORKFLOW)
    assert records["fan-1"].state == "sent" and records["fan-1"].sent_at and records["fan-1"].text == "hi fan-1"
    assert records["fan-2"].state == "queued"


def test_a_retry_leaves_the_record_queued_and_the_last_failure_says_why(parts, states):
    drainer, _, gateway, _, _, clock = parts
    queued(states, "fan-1")
    gateway.failures = [GatewayRetryableError("gateway answered 500", 500)] * 3
    for receive in (1, 2, 3):
        clock.now += 60
        with pytest.raises(GatewayRetryableError):
            drainer.handle(sqs_record(body("fan-1"), receive_count=receive))
        expected = "failed" if receive == 3 else "queued"
        assert states.of(WORKFLOW)["fan-1"].state == expected
    assert states.of(WORKFLOW)["fan-1"].reason == "gateway answered 500 on 3 attempts; moved to the DLQ"


def test_a_permanent_refusal_marks_the_record_failed_with_the_gateways_answer(parts, states):
    drainer, _, gateway, *_ = parts
    queued(states, "fan-1")
    gateway.failures = [GatewayRejectedError("gateway refused the message: 403 blocked", 403)]
    drainer.handle(sqs_record(body("fan-1")))
    record = states.of(WORKFLOW)["fan-1"]
    assert record.state == "failed" and "403 blocked" in record.reason
