"""Client of the platform's sending gateway, an internal HTTP service that delivers one message to one fan.

The drainer needs one distinction from it: may this send succeed if tried again? Timeouts,
connection failures, 5xx, 408 and 429 are retryable (the message goes back to SQS); any other
4xx is permanent (retrying the same request cannot succeed). The producer's idempotency key
travels as ``messageId`` and ``Idempotency-Key``, so a gateway that deduplicates can close the
last gap (a crash between its answer and our record of it). ``onBehalfOf`` names the user the
message is sent for (the one linked to the account when the campaign was accepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx2

SEND_PATH = "/v1/messages"
_RETRYABLE_4XX = frozenset({408, 425, 429})


class GatewayError(Exception):
    """The gateway did not accept the message."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GatewayRetryableError(GatewayError):
    """Worth trying again later: timeout, connection error, 5xx, 408, 425, 429."""


class GatewayRejectedError(GatewayError):
    """A permanent refusal (4xx): the same request will never succeed."""

    retryable = False


@dataclass(frozen=True)
class Receipt:
    """The gateway's acknowledgement of one send."""

    message_id: str
    gateway_id: str | None


class Gateway(Protocol):
    """What the drainer needs from a gateway."""

    def send(self, account_id: str, recipient_id: str, message_id: str, text: str, *, on_behalf_of: str) -> Receipt: ...


class SendingGateway:
    """``POST {base_url}/v1/messages`` with a bearer key; one pooled connection per container."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float, client: httpx2.Client | None = None) -> None:
        if not base_url:
            raise ValueError("GATEWAY_URL is not set: the drainer has nowhere to send")
        self._client = client or httpx2.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._headers = {"authorization": f"Bearer {api_key}"}

    def send(self, account_id: str, recipient_id: str, message_id: str, text: str, *, on_behalf_of: str) -> Receipt:
        """Deliver one message; raise :class:`GatewayRetryableError` or :class:`GatewayRejectedError`."""
        payload = {
            "accountId": account_id,
            "recipientId": recipient_id,
            "messageId": message_id,
            "text": text,
            "onBehalfOf": on_behalf_of,
        }
        try:
            headers = {**self._headers, "idempotency-key": message_id}
            response = self._client.post(SEND_PATH, json=payload, headers=headers)
        except httpx2.TimeoutException as exc:
            raise GatewayRetryableError(f"gateway timed out: {exc}") from exc
        except httpx2.TransportError as exc:
            raise GatewayRetryableError(f"gateway unreachable: {exc}") from exc
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_4XX:
            raise GatewayRetryableError(f"gateway answered {status}", status)
        if status >= 400:
            raise GatewayRejectedError(f"gateway refused the message: {status} {response.text[:200]}", status)
        body = response.json() if response.content else {}
        return Receipt(message_id=message_id, gateway_id=body.get("id") if isinstance(body, dict) else None)
