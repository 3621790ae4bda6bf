"""The drainer with Redis taken away: nothing is sent, everything stays queued; Redis back, all is sent once.

The real ``functions/message_sender`` handler, the moto server's SQS queue, the real Redis of the
session (stopped and started on the same port) and the gateway simulator.
"""

from __future__ import annotations

import time
import uuid

import pytest

from local.queue_poller import EventSource, QueuePoller
from shared.campaigns.models import Workflow
from shared.sending.messages import MessageCounts, OutboundMessage
from shared.wiring import container

FANS = [f"fan-{i}" for i in range(5)]


def queued_total(sqs, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


@pytest.fixture
def drainer(local_stack):
    """A poller for the message queue driving the real handler, with a 1 s fail-closed delay."""
    settings = {"OF_LIMITER_UNAVAILABLE_DELAY_S": "1", "OF_RATE_LIMIT": "50", "REDIS_TIMEOUT_S": "0.2"}
    with local_stack.override_settings(settings):
        name = local_stack.env["MESSAGES_QUEUE_NAME"]
        url = local_stack.resources.queues[name]
        arn = next(a for a, u in local_stack.resources.queue_arns.items() if u == url)
        sqs = local_stack.moto.client("sqs")
        source = EventSource("message_sender", url, arn, batch_size=10, report_failures=True)
        yield QueuePoller(sqs, source, local_stack.handlers.get("message_sender"), wait_s=0), sqs, url


def test_redis_down_sends_nothing_and_keeps_everything_queued_then_sends_each_once(local_stack, redis_server, drainer):
    if not redis_server.managed:
        pytest.skip("an external REDIS_URL cannot be stopped")
    poller, sqs, url = drainer
    account = f"outage_{uuid.uuid4().hex[:8]}"
    workflow_id = "wf_" + uuid.uuid4().hex
    now = time.time()
    container.workflow_store().save(
        Workflow(
            workflow_id=workflow_id,
            owner_id="u1",
            type="fan_messages",
            platforms=["onlyfans"],
            mode="sync",
            status="running",
            counts=MessageCounts(queued=len(FANS)),
            messages_total=len(FANS),
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
            expires_at=int(now) + 3600,
        )
    )
    mine = lambda: [s for s in local_stack.gateway.sent() if s["accountId"] == account]  # noqa: E731

    redis_server.stop()  # first: the session's own pollers may be draining this queue too
    try:
        for fan in FANS:
            body = OutboundMessage.for_recipient(workflow_id, account, fan, f"hello {fan}", "u1").to_body()
            sqs.send_message(QueueUrl=url, MessageBody=body)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            poller.poll_once()
        assert mine() == []  # failed closed: not one message went out unchecked
        assert queued_total(sqs, url) >= len(FANS)  # every message is still on the queue (delayed)
        counts = container.workflow_store().get(workflow_id).counts
        assert counts == MessageCounts(queued=len(FANS))
    finally:
        redis_server.start()

    deadline = time.monotonic() + 20
    while len(mine()) < len(FANS) and time.monotonic() < deadline:
        poller.poll_once()
    assert sorted(s["messageId"] for s in mine()) == sorted(f"{workflow_id}#{fan}" for fan in FANS)
    # The session's own pollers may have made the last send: the gateway records it a moment
    # before that drainer adds it to the workflow's counts, so give the count a moment too.
    settle_by = time.monotonic() + 5
    while container.workflow_store().get(workflow_id).status != "completed" and time.monotonic() < settle_by:
        time.sleep(0.05)
    workflow = container.workflow_store().get(workflow_id)
    assert workflow.status == "completed"
    assert workflow.counts == MessageCounts(sent=len(FANS), queued=0, failed=0)
