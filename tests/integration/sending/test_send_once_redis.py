"""The sender's once-guard against a real Redis (the session's, and a three-master cluster): the record, its TTL,
a raising run, two containers on one key, Redis away (stopped, or a port nobody listens on), and a lost record
(FLUSHDB between two deliveries) caught by the gateway's idempotency key.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from redis.cluster import RedisCluster

from local.events import LambdaContext
from local.queue_poller import sqs_event
from local.redis_server import free_port
from shared.core.once import OnceGuardUnavailableError
from shared.sending.messages import OutboundMessage
from shared.sending.redis_connection import redis_client, redis_connection
from shared.sending.send_once import redis_once, send_once_key_prefix
from shared.wiring import container
from tests.support.sending_fakes import once_record_key

TTL_S = 7 * 86_400


def context() -> LambdaContext:
    return LambdaContext(function_name="message_sender", memory_limit_in_mb=256, timeout_s=60)


def guard_on(url: str, prefix: str, timeout_s: float = 1.0):
    guard = redis_once(redis_connection(url, timeout_s), TTL_S, prefix)
    guard.bind(context())
    return guard


@pytest.fixture(params=["single", "cluster"])
def redis_url(request) -> str:
    server = request.getfixturevalue("redis_server" if request.param == "single" else "redis_cluster")
    assert isinstance(redis_client(server.url, 1.0), RedisCluster) == (request.param == "cluster")
    return server.url


def keys_under(client, prefix: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{prefix}#*", count=1000))


def test_a_completed_send_is_one_key_under_the_products_prefix_kept_the_dedup_ttl(redis_url):
    prefix = f"it-{uuid.uuid4().hex[:8]}-send-once"
    guard, client = guard_on(redis_url, prefix), redis_client(redis_url, 1.0)
    runs = []
    for _ in range(3):
        assert guard.run("wf_1#fan-1", lambda: runs.append(1) or {"status": "sent", "gatewayId": "gw_1"}) == {
            "status": "sent",
            "gatewayId": "gw_1",
        }
    assert runs == [1]
    (key,) = keys_under(client, prefix)
    record = json.loads(client.get(key))
    assert record["status"] == "COMPLETED" and json.loads(record["data"]) == {"status": "sent", "gatewayId": "gw_1"}
    assert TTL_S - 5 <= client.ttl(key) <= TTL_S


def test_a_run_that_raises_leaves_no_key_and_the_next_delivery_runs(redis_url):
    prefix = f"it-{uuid.uuid4().hex[:8]}-send-once"
    guard, client = guard_on(redis_url, prefix), redis_client(redis_url, 1.0)

    def gateway_down() -> dict:
        raise ConnectionError("gateway unreachable")

    with pytest.raises(ConnectionError):
        guard.run("wf_1#fan-2", gateway_down)
    assert keys_under(client, prefix) == []
    assert guard.run("wf_1#fan-2", lambda: {"status": "sent"}) == {"status": "sent"}


def test_while_one_container_sends_a_key_another_is_told_it_is_in_progress(redis_url):
    prefix = f"it-{uuid.uuid4().hex[:8]}-send-once"
    first, second = guard_on(redis_url, prefix), guard_on(redis_url, prefix)  # two containers, two clients
    seen = []

    def sending() -> dict:
        with pytest.raises(IdempotencyAlreadyInProgressError):
            second.run("wf_1#fan-3", lambda: seen.append("second ran") or {"status": "sent"})
        return {"status": "sent"}

    assert first.run("wf_1#fan-3", sending) == {"status": "sent"}
    assert seen == []
    assert second.run("wf_1#fan-3", lambda: seen.append("second ran") or {"status": "sent"}) == {"status": "sent"}
    assert seen == []  # completed: the stored result, not a second send


def test_a_port_nobody_listens_on_is_unavailable_quickly_and_the_action_never_runs():
    guard = guard_on(f"redis://127.0.0.1:{free_port()}/0", "it-nowhere-send-once", timeout_s=0.2)
    runs = []
    started = time.perf_counter()
    for _ in range(3):
        with pytest.raises(OnceGuardUnavailableError):
            guard.run("wf_1#fan-4", lambda: runs.append(1) or {"status": "sent"})
    assert runs == [] and time.perf_counter() - started < 3


def test_redis_stopped_is_unavailable_and_redis_back_runs_once(redis_server):
    if not redis_server.managed:
        pytest.skip("an external REDIS_URL cannot be stopped")
    guard = guard_on(redis_server.url, f"it-{uuid.uuid4().hex[:8]}-send-once", timeout_s=0.2)
    assert guard.run("wf_1#warm", lambda: {"status": "sent"})  # the connection exists before Redis goes
    runs = []
    redis_server.stop()
    try:
        with pytest.raises(OnceGuardUnavailableError):
            guard.run("wf_1#fan-5", lambda: runs.append(1) or {"status": "sent"})
    finally:
        redis_server.start()
    assert runs == []
    assert guard.run("wf_1#fan-5", lambda: runs.append(1) or {"status": "sent"}) == {"status": "sent"}
    assert runs == [1]


def test_a_message_whose_guard_record_was_lost_is_still_delivered_once_at_the_gateway(local_stack, redis_server):
    handler = local_stack.handlers.get("message_sender")
    account, workflow_id = f"lost_{uuid.uuid4().hex[:8]}", "wf_" + uuid.uuid4().hex
    key = f"{workflow_id}#fan-1"
    body = OutboundMessage.for_recipient(workflow_id, account, "fan-1", "hello fan-1", "u1").to_body()
    arn = "arn:aws:sqs:us-east-1:123456789012:messages"

    def deliver(n: int) -> dict:
        return handler(sqs_event([{"MessageId": f"m-{n}", "ReceiptHandle": f"rh-{n}", "Body": body}], arn), context())

    assert deliver(1) == {"batchItemFailures": []}
    settings = container.get_settings()
    client = redis_client(redis_server.url, 1.0)
    record = client.get(once_record_key(send_once_key_prefix(settings.resource_prefix, settings.stage), key))
    assert record is not None and json.loads(record)["status"] == "COMPLETED"  # the guard is in Redis
    assert deliver(2) == {"batchItemFailures": []}  # the guard held: the gateway never saw the repeat
    assert [r for r in local_stack.gateway.replays() if r["idempotencyKey"] == key] == []

    client.flushdb()  # the guard's record lost, as a failover before replication could lose it
    assert deliver(3) == {"batchItemFailures": []}
    delivered = [s for s in local_stack.gateway.sent() if s["accountId"] == account]
    assert [s["messageId"] for s in delivered] == [key]  # the fan received it once
    replays = [r for r in local_stack.gateway.replays() if r["idempotencyKey"] == key]
    assert len(replays) == 1  # our side did send again; the gateway's idempotency key absorbed it
