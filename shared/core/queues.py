"""SQS queues behind a small class: send one, send many (10 per call, SQS's batch limit), delay a retry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

SQS_BATCH_LIMIT = 10
MAX_DELAY_S = 900  # SQS's longest DelaySeconds and visibility step we use


class Queue(Protocol):
    """What producers and drainers need from a queue."""

    def send(self, body: str, delay_s: int = 0) -> None: ...

    def send_batch(self, bodies: Sequence[str]) -> list[int]: ...

    def retry_after(self, receipt_handle: str, delay_s: int) -> None: ...


class SqsQueue:
    """One SQS queue, found by name (its URL is looked up once per container)."""

    def __init__(self, client: Any, queue_name: str) -> None:
        self._client = client
        self._name = queue_name
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The queue URL, from ``GetQueueUrl`` on first use."""
        if self._url is None:
            self._url = str(self._client.get_queue_url(QueueName=self._name)["QueueUrl"])
        return self._url

    def send(self, body: str, delay_s: int = 0) -> None:
        """Send one message, invisible for ``delay_s`` seconds (clamped to SQS's 0..900)."""
        self._client.send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=_clamp(delay_s))

    def send_batch(self, bodies: Sequence[str]) -> list[int]:
        """Send every body, ten per call; return the indexes SQS did not accept (the caller decides)."""
        failed: list[int] = []
        for start in range(0, len(bodies), SQS_BATCH_LIMIT):
            chunk = bodies[start : start + SQS_BATCH_LIMIT]
            entries = [{"Id": str(start + i), "MessageBody": body} for i, body in enumerate(chunk)]
            response = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed += [int(entry["Id"]) for entry in response.get("Failed", [])]
        return failed

    def retry_after(self, receipt_handle: str, delay_s: int) -> None:
        """Make a received message visible again in ``delay_s`` seconds (a retry backoff)."""
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=_clamp(delay_s)
        )


def _clamp(delay_s: int) -> int:
    return max(0, min(int(delay_s), MAX_DELAY_S))
