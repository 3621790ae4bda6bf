"""The local event source mapping against moto: Lambda's SQS event, and partial batch failures."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from local.queue_poller import EventSource, QueuePoller


@pytest.fixture
def queue(local_stack):
    """A fresh queue with a 1 s visibility timeout (failures come back quickly) and a DLQ after 3 tries."""
    sqs = local_stack.moto.client("sqs")
    name = f"poller-test-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def poller(sqs, url, arn, handler, report_failures=True, batch_size=10):
    source = EventSource("worker", url, arn, batch_size=batch_size, report_failures=report_failures)
    return QueuePoller(sqs, source, handler, wait_s=0)


def visible_bodies(sqs, url, wait_s=0):
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s, AttributeNames=["All"])
    return sorted(m["Body"] for m in messages.get("Messages", [])), messages.get("Messages", [])


def test_handler_gets_lambdas_sqs_event_shape(queue):
    sqs, url, arn = queue
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"n": 1}',
        MessageAttributes={"accountId": {"DataType": "String", "StringValue": "acc-1"}},
    )
    seen = []

    def handler(event, context):
        seen.append((event, context))
        return {"batchItemFailures": []}

    assert poller(sqs, url, arn, handler).poll_once() == 1
    [(event, context)] = seen
    [record] = event["Records"]
    assert record["body"] == '{"n": 1}'
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["messageId"] and record["receiptHandle"] and record["md5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "accountId": {"stringValue": "acc-1", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert context.function_name == "worker" and 0 < context.get_remaining_time_in_millis() <= 30_000
    assert visible_bodies(sqs, url)[0] == []  # deleted after success


def test_batch_size_caps_each_invocation(queue):
    sqs, url, arn = queue
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    sizes = []
    worker = poller(
        sqs, url, arn, lambda event, _: sizes.append(len(event["Records"])), report_failures=False, batch_size=2
    )
    while worker.poll_once():
        pass
    assert sum(sizes) == 5 and max(sizes) <= 2


def test_reported_failures_stay_and_come_back_after_the_visibility_timeout(queue):
    sqs, url, arn = queue
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def handler(event, _):
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]
        }

    worker = poller(sqs, url, arn, handler)
    received = 0
    while received < 3:
        received += worker.poll_once()
    time.sleep(1.2)  # the visibility timeout
    bodies, messages = visible_bodies(sqs, url, wait_s=1)
    assert bodies == ["fail"]
    assert messages[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_raising_handler_deletes_nothing(queue):
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody="boom")

    def handler(event, _):
        raise RuntimeError("handler crashed")

    assert poller(sqs, url, arn, handler).poll_once() == 1
    time.sleep(1.2)
    assert visible_bodies(sqs, url, wait_s=1)[0] == ["boom"]


def test_background_poller_drains_the_queue(queue):
    sqs, url, arn = queue
    done = []
    worker = poller(sqs, url, arn, lambda event, _: done.extend(r["body"] for r in event["Records"]), False)
    worker.start()
    try:
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
        deadline = time.monotonic() + 10
        while len(done) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert sorted(done) == ["m0", "m1", "m2"]
