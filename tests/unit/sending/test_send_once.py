"""The sender's once-guard over Powertools' cache layer, on a dict standing in for Redis: remembered, forgotten,
held, and failing closed (the drainer requeues, never sends unguarded)."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from shared.core.once import OnceGuardUnavailableError
from shared.sending.drainer import MessageDrainer
from shared.sending.messages import OutboundMessage
from shared.sending.redis_connection import RedisConnection
from shared.sending.send_once import redis_once
from tests.support.sending_fakes import (
    CountingWorkflows,
    DictRedis,
    InMemoryMessageStates,
    ListQueue,
    RecordingGateway,
    SlidingLogLimiter,
    once_record_key,
    sqs_record,
)

TTL_S = 7 * 86_400
PREFIX = "hybrid-orch-test-send-once"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def record_key(key: str) -> str:
    return once_record_key(PREFIX, key)


@pytest.fixture
def store():
    return DictRedis()


@pytest.fixture
def guard(store):
    once = redis_once(RedisConnection.of(store), TTL_S, PREFIX)
    once.bind(Context())
    return once


def test_a_completed_run_is_remembered_for_the_dedup_ttl_under_the_products_prefix(guard, store):
    runs = []
    action = lambda: runs.append(1) or {"status": "sent", "n": len(runs)}  # noqa: E731
    assert guard.run("wf_1#fan-1", action) == {"status": "sent", "n": 1}
    assert guard.run("wf_1#fan-1", action) == {"status": "sent", "n": 1}
    assert runs == [1]
    stored = json.loads(store.values[record_key("wf_1#fan-1")])
    assert stored["status"] == "COMPLETED" and json.loads(stored["data"]) == {"status": "sent", "n": 1}
    assert store.ttls[record_key("wf_1#fan-1")] == pytest.approx(TTL_S, abs=2)
    assert list(store.values) == [record_key("wf_1#fan-1")]


def test_a_run_that_raises_leaves_no_record_and_runs_again(guard, store):
    def fails() -> dict:
        raise RuntimeError("gateway timed out")

    with pytest.raises(RuntimeError):
        guard.run("wf_1#fan-2", fails)
    assert store.values == {}
    assert guard.run("wf_1#fan-2", lambda: {"status": "sent"}) == {"status": "sent"}


def test_a_key_held_by_another_run_is_already_in_progress(guard):
    def nested() -> dict:
        with pytest.raises(IdempotencyAlreadyInProgressError):
            guard.run("wf_1#fan-3", lambda: {"status": "sent"})  # another container, same key, meanwhile
        return {"status": "sent"}

    assert guard.run("wf_1#fan-3", nested) == {"status": "sent"}


def test_store_unreachable_before_the_run_is_unavailable_and_the_action_never_runs(guard, store):
    store.down = True
    runs = []
    with pytest.raises(OnceGuardUnavailableError):
        guard.run("wf_1#fan-4", lambda: runs.append(1) or {"status": "sent"})
    assert runs == []


def test_store_lost_after_the_action_completed_returns_its_result_not_a_second_run(guard, store):
    store.fail_after = 1  # the in-progress SET succeeds, the completed SET meets a dead server
    runs = []
    assert guard.run("wf_1#fan-5", lambda: runs.append(1) or {"status": "sent"}) == {"status": "sent"}
    assert runs == [1]


def test_a_run_that_raised_and_whose_record_cannot_be_deleted_is_unavailable(guard, store):
    store.fail_after = 1  # the in-progress SET succeeds, the DEL after the failure does not

    def fails() -> dict:
        raise RuntimeError("gateway timed out")

    with pytest.raises(OnceGuardUnavailableError):
        guard.run("wf_1#fan-6", fails)


def test_the_drainer_requeues_every_message_when_the_guard_store_is_away_and_sends_nothing(guard, store):
    clock = lambda: 1_800_000_000.0  # noqa: E731
    gateway, queue, counts = RecordingGateway(), ListQueue(), CountingWorkflows()
    drainer = MessageDrainer(
        SlidingLogLimiter(limit=10, window_s=60, clock=clock),
        gateway,
        queue,
        counts,
        guard,
        states=InMemoryMessageStates(),
        guard_unavailable_delay_s=7,
        max_receive_count=3,
        retry_backoff_s=2,
        gateway_timeout_s=5,
        clock=clock,
    )
    bodies = [
        OutboundMessage.for_recipient("wf_" + "b" * 32, "creator-1", f"fan-{i}", "hi", "u1").to_body() for i in range(3)
    ]
    store.down = True
    assert [drainer.handle(sqs_record(b, receive_count=3)) for b in bodies] == ["requeued"] * 3
    assert gateway.calls == 0 and counts.calls == []  # nothing sent unguarded, nothing counted failed
    assert queue.sent == [(b, 7) for b in bodies] and queue.backoffs == []
    store.down = False
    assert [drainer.handle(sqs_record(b, message_id="again")) for b in bodies] == ["sent"] * 3
    assert [drainer.handle(sqs_record(b, message_id="dup")) for b in bodies] == ["sent"] * 3
    assert gateway.calls == 3
