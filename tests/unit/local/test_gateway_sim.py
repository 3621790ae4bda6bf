"""The gateway simulator over HTTP: a repeated Idempotency-Key answers the first receipt and delivers nothing."""

from __future__ import annotations

import httpx2
import pytest

from local.gateway_sim import DEFAULT_GATEWAY_KEY, GatewaySimulator


@pytest.fixture
def gateway():
    sim = GatewaySimulator().start()
    client = httpx2.Client(base_url=sim.url, timeout=5)
    yield sim, client
    client.close()
    sim.stop()


def send(client, fan: str, key: str | None):
    headers = {"authorization": f"Bearer {DEFAULT_GATEWAY_KEY}"}
    if key is not None:
        headers["idempotency-key"] = key
    body = {"accountId": "creator-1", "recipientId": fan, "messageId": f"wf_1#{fan}", "text": "hi", "onBehalfOf": "u1"}
    return client.post("/v1/messages", json=body, headers=headers)


def test_a_repeated_key_gets_the_first_receipt_and_is_logged_as_a_replay_not_delivered(gateway):
    _, client = gateway
    first, again = send(client, "fan-1", "wf_1#fan-1"), send(client, "fan-1", "wf_1#fan-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and first.json()["id"].startswith("gw_")
    assert [s["recipientId"] for s in client.get("/_sim/sent").json()] == ["fan-1"]
    (replay,) = client.get("/_sim/gateway/replays").json()
    assert replay["idempotencyKey"] == "wf_1#fan-1" and replay["id"] == first.json()["id"]
    assert send(client, "fan-2", "wf_1#fan-2").json()["id"] != first.json()["id"]  # another key delivers


def test_without_the_header_every_request_delivers(gateway):
    sim, client = gateway
    send(client, "fan-1", None)
    send(client, "fan-1", None)
    assert len(sim.sent()) == 2 and sim.replays() == []


def test_a_failed_attempt_stores_no_receipt_so_its_retry_delivers(gateway):
    sim, client = gateway
    assert client.post("/_sim/gateway/faults", json={"status": 503, "count": 1}).status_code == 200
    assert send(client, "fan-1", "wf_1#fan-1").status_code == 503
    assert send(client, "fan-1", "wf_1#fan-1").status_code == 200
    assert len(sim.sent()) == 1 and sim.replays() == []


def test_clearing_the_sent_log_forgets_the_keys_and_replays(gateway):
    sim, client = gateway
    send(client, "fan-1", "wf_1#fan-1")
    send(client, "fan-1", "wf_1#fan-1")
    assert client.delete("/_sim/sent").json() == []
    assert sim.replays() == []
    assert send(client, "fan-1", "wf_1#fan-1").status_code == 200 and len(sim.sent()) == 1
