"""The gateway client: what it sends, and which failures it calls retryable."""

from __future__ import annotations

import json

import httpx2
import pytest

from shared.sending.gateway import GatewayRejectedError, GatewayRetryableError, SendingGateway


def gateway(handler) -> SendingGateway:
    client = httpx2.Client(base_url="http://gateway.internal", transport=httpx2.MockTransport(handler))
    return SendingGateway("http://gateway.internal", "k-123", 1.0, client=client)


def test_a_send_carries_the_key_the_message_its_idempotency_key_and_whose_it_is():
    seen = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"id": "gw-1", "status": "sent"})

    receipt = gateway(handler).send("creator_01", "fan-7", "wf_x#fan-7", "hello", on_behalf_of="u1")
    (request,) = seen
    assert request.url.path == "/v1/messages" and request.method == "POST"
    assert request.headers["authorization"] == "Bearer k-123"
    assert request.headers["idempotency-key"] == "wf_x#fan-7"
    assert json.loads(request.content) == {
        "accountId": "creator_01",
        "recipientId": "fan-7",
        "messageId": "wf_x#fan-7",
        "text": "hello",
        "onBehalfOf": "u1",
    }
    assert (receipt.message_id, receipt.gateway_id) == ("wf_x#fan-7", "gw-1")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425, 429])
def test_server_errors_throttling_and_request_timeouts_are_retryable(status):
    with pytest.raises(GatewayRetryableError) as caught:
        gateway(lambda _: httpx2.Response(status)).send("creator_01", "f", "m", "t", on_behalf_of="u1")
    assert caught.value.status == status and caught.value.retryable


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_client_errors_are_permanent(status):
    with pytest.raises(GatewayRejectedError) as caught:
        gateway(lambda _: httpx2.Response(status, text="no")).send("creator_01", "f", "m", "t", on_behalf_of="u1")
    assert caught.value.status == status and not caught.value.retryable


@pytest.mark.parametrize("error", [httpx2.ReadTimeout("slow"), httpx2.ConnectError("refused")])
def test_timeouts_and_connection_failures_are_retryable(error):
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error

    with pytest.raises(GatewayRetryableError):
        gateway(handler).send("creator_01", "f", "m", "t", on_behalf_of="u1")


def test_no_url_is_a_configuration_error_at_build_time():
    with pytest.raises(ValueError, match="GATEWAY_URL"):
        SendingGateway("", "k", 1.0)
