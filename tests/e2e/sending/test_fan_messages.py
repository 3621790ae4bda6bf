"""fan_messages end to end: HTTP → router → rate-limited SQS queue (moto server) → drainer → gateway simulator.

Settings are those of the issue (10 messages per 6 s per account) with short retry backoffs, set
for the handlers through ``LocalStack.override_settings``. Each test uses its own account, so the
limiter's logs of one test never slow another.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import pytest
import requests

from local.queue_poller import sqs_event
from shared.sending.messages import OutboundMessage
from shared.sending.redis_connection import redis_client
from shared.sending.send_once import send_once_key_prefix
from shared.wiring import container
from tests.support.sending_fakes import once_record_key

LIMIT, WINDOW_S = 10, 6
FAST_SENDING = {
    "OF_RATE_LIMIT": str(LIMIT),
    "OF_RATE_WINDOW_S": str(WINDOW_S),
    "SEND_RETRY_BACKOFF_S": "1",
    "OF_LIMITER_UNAVAILABLE_DELAY_S": "1",
}


@pytest.fixture
def sending(api, local_stack):
    """The API with the issue's sending settings, an empty send record and no gateway faults."""
    with local_stack.override_settings(FAST_SENDING):
        requests.delete(f"{api.url}/_sim/sent", timeout=5)
        requests.delete(f"{api.url}/_sim/gateway/faults", timeout=5)
        yield api
        requests.delete(f"{api.url}/_sim/gateway/faults", timeout=5)


def account() -> str:
    return f"creator_{uuid.uuid4().hex[:10]}"


def post_campaign(api, body, user="u1"):
    return requests.post(
        f"{api.url}/api/v2/campaigns/hybrid",
        json=body,
        headers={"Authorization": f"Bearer {api.token(user)}"},
        timeout=30,
    )


def fan_campaign(api, account_id, recipients, mode="sync"):
    api.link_account(account_id, "u1")
    data = {"accountId": account_id, "recipients": recipients, "theme": "thank you for subscribing"}
    return post_campaign(api, {"type": "fan_messages", "platforms": ["onlyfans"], "mode": mode, "data": data})


def sent_to(api, account_id):
    return [s for s in requests.get(f"{api.url}/_sim/sent", timeout=5).json() if s["accountId"] == account_id]


def status(api, workflow_id, user="u1"):
    reply = requests.get(
        f"{api.url}/api/v2/campaigns/status",
        params={"workflowId": workflow_id},
        headers={"Authorization": f"Bearer {api.token(user)}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def wait_for(predicate, timeout_s, interval_s=0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    return predicate()


def most_in_any_window(stamps: list[str], window_s: float) -> int:
    """The largest number of sends inside any window of ``window_s`` (every window, not buckets)."""
    times = sorted(datetime.fromisoformat(s).timestamp() for s in stamps)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_35_fans_are_all_delivered_never_more_than_10_in_any_6_s_window(sending):
    creator = account()
    fans = [f"fan-{i:02d}" for i in range(35)]
    reply = fan_campaign(sending, creator, fans)
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["counts"] == {"sent": 0, "queued": 35, "failed": 0}
    assert data["status"] == "running" and "content" not in data
    workflow_id = data["workflowId"]

    delivered = wait_for(lambda: len(sent_to(sending, creator)) >= 35 and sent_to(sending, creator), 60)
    assert sorted(s["recipientId"] for s in delivered) == fans
    assert {s["onBehalfOf"] for s in delivered} == {"u1"}  # the user the campaign ran for
    message_ids = [s["messageId"] for s in delivered]
    assert len(set(message_ids)) == 35 and set(message_ids) == {f"{workflow_id}#{fan}" for fan in fans}
    assert most_in_any_window([s["at"] for s in delivered], WINDOW_S) <= LIMIT
    first, last = (datetime.fromisoformat(s["at"]).timestamp() for s in (delivered[0], delivered[-1]))
    assert last - first >= 3 * WINDOW_S  # 35 sends at 10 per 6 s need at least three more windows

    final = wait_for(lambda: (w := status(sending, workflow_id))["status"] == "completed" and w, 10)
    assert final["counts"] == {"sent": 35, "queued": 0, "failed": 0}
    assert final["messagesTotal"] == 35


def test_a_redelivered_message_never_reaches_a_fan_twice(sending, local_stack):
    creator = account()
    workflow_id = "wf_" + uuid.uuid4().hex
    bodies = [
        OutboundMessage.for_recipient(workflow_id, creator, f"fan-{i}", f"hi {i}", "u1").to_body() for i in range(4)
    ]
    sqs = local_stack.moto.client("sqs")
    url = local_stack.resources.queues[local_stack.env["MESSAGES_QUEUE_NAME"]]
    for body in bodies + bodies:  # duplicate SQS delivery: each message twice, under two SQS ids
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert wait_for(lambda: len(sent_to(sending, creator)) >= 4, 20)

    # A Lambda retry: the same batch, same records, handed to the drainer again.
    handler = local_stack.handlers.get("message_sender")
    records = [{"MessageId": f"retry-{i}", "ReceiptHandle": f"rh-{i}", "Body": b} for i, b in enumerate(bodies)]
    event = sqs_event(records, "arn:aws:sqs:us-east-1:123456789012:messages")
    for _ in range(2):
        assert handler(event, _Context()) == {"batchItemFailures": []}
    time.sleep(1.5)  # time for any stray copy to be sent, if one could be
    ids = [s["messageId"] for s in sent_to(sending, creator)]
    assert sorted(ids) == sorted(f"{workflow_id}#fan-{i}" for i in range(4))
    # Our own guard held (its records are in Redis): not one copy reached the gateway, whose
    # idempotency key would otherwise have hidden it from the sent log.
    replays = requests.get(f"{sending.url}/_sim/gateway/replays", timeout=5).json()
    assert [r for r in replays if r["idempotencyKey"].startswith(workflow_id)] == []
    settings = container.get_settings()
    prefix = send_once_key_prefix(settings.resource_prefix, settings.stage)
    redis = redis_client(local_stack.redis.url, 1.0)
    for i in range(4):
        record = redis.get(once_record_key(prefix, f"{workflow_id}#fan-{i}"))
        assert record is not None and json.loads(record)["status"] == "COMPLETED"


def test_a_message_the_gateway_fails_three_times_goes_alone_to_the_dlq_and_the_workflow_says_so(sending, local_stack):
    creator = account()
    fault = {"status": 500, "count": 3, "recipientId": "fan-unlucky"}
    assert requests.post(f"{sending.url}/_sim/gateway/faults", json=fault, timeout=5).status_code == 200
    reply = fan_campaign(sending, creator, ["fan-a", "fan-unlucky", "fan-b"])
    assert reply.status_code == 200, reply.text
    workflow_id = reply.json()["data"]["workflowId"]

    final = wait_for(lambda: (w := status(sending, workflow_id))["status"] == "completed" and w, 30)
    assert final, status(sending, workflow_id)
    assert final["counts"] == {"sent": 2, "queued": 0, "failed": 1}
    assert sorted(s["recipientId"] for s in sent_to(sending, creator)) == ["fan-a", "fan-b"]

    # What reached whom, and which fan failed and why: per recipient in the status, in request order.
    messages = {m["recipientId"]: m for m in final["messages"]}
    assert [m["recipientId"] for m in final["messages"]] == ["fan-a", "fan-unlucky", "fan-b"]
    assert {fan: m["state"] for fan, m in messages.items()} == {
        "fan-a": "sent",
        "fan-unlucky": "failed",
        "fan-b": "sent",
    }
    assert "500" in messages["fan-unlucky"]["reason"] and "DLQ" in messages["fan-unlucky"]["reason"]
    assert all(messages[fan]["sentAt"] for fan in ("fan-a", "fan-b"))
    for entry in sent_to(sending, creator):  # the gateway received the very text the status shows
        assert entry["text"] == messages[entry["recipientId"]]["text"]
        assert "thank you for subscribing" in entry["text"].lower()  # the simulator writes about the theme

    sqs = local_stack.moto.client("sqs")
    dlq = local_stack.resources.queues[local_stack.env["MESSAGES_QUEUE_NAME"] + "-dlq"]
    dead = wait_for(lambda: sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages"), 10)
    assert [json.loads(m["Body"])["idempotencyKey"] for m in dead] == [f"{workflow_id}#fan-unlucky"]
    for message in dead:
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])


def test_async_fan_campaign_answers_202_and_the_workflow_shows_progress_to_completion(sending):
    creator = account()
    fans = [f"fan-{i}" for i in range(8)]  # within one window: the test waits on the queue, not the limit
    reply = fan_campaign(sending, creator, fans, mode="async")
    assert reply.status_code == 202, reply.text
    data = reply.json()["data"]
    assert data["status"] == "queued" and reply.headers["X-Workflow-Id"] == data["workflowId"]
    assert reply.headers["Location"] == f"/api/v2/campaigns/status?workflowId={data['workflowId']}"
    seen = set()

    def done():
        workflow = status(sending, data["workflowId"])
        seen.add(workflow["status"])
        return workflow["status"] == "completed" and workflow

    final = wait_for(done, 40)
    assert final and final["counts"] == {"sent": 8, "queued": 0, "failed": 0}
    assert seen & {"queued", "running"}  # progress was visible before completion
    assert sorted(s["recipientId"] for s in sent_to(sending, creator)) == sorted(fans)


def test_async_content_campaign_is_run_by_the_workflows_queue(sending):
    body = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "gym"}, "mode": "async"}
    reply = post_campaign(sending, body)
    assert reply.status_code == 202, reply.text
    workflow_id = reply.json()["data"]["workflowId"]
    final = wait_for(lambda: (w := status(sending, workflow_id))["status"] == "completed" and w, 20)
    assert final and final["content"] and final["steps"][0]["provider"] == "openai"
    other = requests.get(
        f"{sending.url}/api/v2/campaigns/status",
        params={"workflowId": workflow_id},
        headers={"Authorization": f"Bearer {sending.token('someone-else')}"},
        timeout=10,
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"recipients": ["a", "a"]}, "data.recipients"),
        ({"recipients": []}, "data.recipients"),
        ({"accountId": "bad id!"}, "data.accountId"),
        ({"recipients": [f"f{i}" for i in range(101)]}, "data.recipients"),  # over the sync cap
    ],
)
def test_bad_fan_input_is_a_422_naming_the_field(sending, data, field):
    body = {
        "type": "fan_messages",
        "platforms": ["onlyfans"],
        "data": {"accountId": "creator_ok", "recipients": ["fan-1"], "theme": "t", **data},
    }
    reply = post_campaign(sending, body)
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(d["field"].startswith(field) for d in error["details"]), error


class _Context:
    function_name = "message_sender"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:message_sender"
    aws_request_id = "retry-request"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_the_status_pages_the_fans_messages(sending):
    reply = fan_campaign(sending, account(), ["fan-p1", "fan-p2", "fan-p3"])
    assert reply.status_code == 200, reply.text
    workflow_id = reply.json()["data"]["workflowId"]
    auth = {"Authorization": f"Bearer {sending.token('u1')}"}
    url = f"{sending.url}/api/v2/campaigns/status"

    first = requests.get(url, params={"workflowId": workflow_id, "limit": 2}, headers=auth, timeout=10).json()["data"]
    assert [m["recipientId"] for m in first["messages"]] == ["fan-p1", "fan-p2"]
    token = first["messagesNextToken"]
    params = {"workflowId": workflow_id, "limit": 2, "nextToken": token}
    last = requests.get(url, params=params, headers=auth, timeout=10).json()["data"]
    assert [m["recipientId"] for m in last["messages"]] == ["fan-p3"] and last["messagesNextToken"] is None
    assert all(m["text"] and m["state"] in ("queued", "sent") for m in first["messages"] + last["messages"])

    bad = requests.get(url, params={"workflowId": workflow_id, "nextToken": "x"}, headers=auth, timeout=10)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "nextToken"
