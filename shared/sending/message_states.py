"""Each fan's message of a workflow, in the workflows table: its text and whether it reached the fan.

Layout. One small item per recipient, keyed ``workflowId = <workflowId>#MSG#<recipientId>`` (fan
ids never hold ``#``), with ``recipientId``, ``state`` (queued → sent | failed), ``text``,
``reason``, ``sentAt``, ``updatedAt`` and the workflow's own ``expiresAt`` (TTL). Holding 1000
texts in the workflow item would bring it near DynamoDB's 400 KB item limit and make every count
update rewrite them; one item each keeps every write small. The table has a partition key only
(giving it a sort key means replacing a named, retained table), so a workflow's messages cannot
be one Query: the workflow item keeps its recipients in order (``recipientIds``, at most 1000
ids of 64 characters), and a page of up to 100 is one ``BatchGetItem`` on their keys.

Writes: the producer writes every recipient's item (``BatchWriteItem``, 25 a call) before the
first message goes on the queue; the drainer changes one item when a message is sent or fails for
good (one ``UpdateItem`` beside the count update), never on a retry or a rate-limit wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import attribute_value, python_value
from shared.sending.messages import FanMessageStatus, MessageState

MESSAGE_KEY_INFIX = "#MSG#"
WRITE_BATCH = 25  # BatchWriteItem's limit
READ_BATCH = 100  # BatchGetItem's limit
UNPROCESSED_RETRIES = 5
REASON_MAX_CHARS = 300


def message_key(workflow_id: str, recipient_id: str) -> str:
    """The item key of one recipient's message."""
    return f"{workflow_id}{MESSAGE_KEY_INFIX}{recipient_id}"


class MessageStates(Protocol):
    """What the sending path and the status route need from per-recipient message records."""

    def record(self, workflow_id: str, messages: Sequence[FanMessageStatus], expires_at: int) -> None: ...

    def mark(
        self, workflow_id: str, recipient_id: str, state: MessageState, updated_at: str, reason: str | None = None
    ) -> None: ...

    def read(self, workflow_id: str, recipient_ids: Sequence[str]) -> list[FanMessageStatus]: ...


class DynamoMessageStates:
    """The DynamoDB implementation of :class:`MessageStates` (the workflows table)."""

    def __init__(self, table_name: str, client: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table_name = table_name
        self._client = client
        self._sleep = sleep

    def record(self, workflow_id: str, messages: Sequence[FanMessageStatus], expires_at: int) -> None:
        """Write every recipient's item (a rewrite of the same workflow's items is harmless: same content)."""
        for start in range(0, len(messages), WRITE_BATCH):
            requests = [
                {"PutRequest": {"Item": self._item(workflow_id, message, expires_at)}}
                for message in messages[start : start + WRITE_BATCH]
            ]
            self._write_all(requests)

    def mark(
        self, workflow_id: str, recipient_id: str, state: MessageState, updated_at: str, reason: str | None = None
    ) -> None:
        """Move one message to ``state``; a message recorded before this layout existed has no item: skipped."""
        update = "SET #state = :state, #updated = :updated"
        names = {"#state": "state", "#updated": "updatedAt"}
        values: dict[str, Any] = {":state": {"S": state}, ":updated": {"S": updated_at}}
        if state == "sent":
            update += ", #sentAt = :updated"
            names["#sentAt"] = "sentAt"
        if reason:
            update += ", #reason = :reason"
            names["#reason"] = "reason"
            values[":reason"] = {"S": reason[:REASON_MAX_CHARS]}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"workflowId": {"S": message_key(workflow_id, recipient_id)}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(workflowId)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def read(self, workflow_id: str, recipient_ids: Sequence[str]) -> list[FanMessageStatus]:
        """The messages of ``recipient_ids`` (at most 100: one page), in that order; missing ones left out."""
        if len(recipient_ids) > READ_BATCH:
            raise ValueError(f"at most {READ_BATCH} messages per read")
        pending: dict[str, Any] = {
            self._table_name: {
                "Keys": [{"workflowId": {"S": message_key(workflow_id, fan)}} for fan in recipient_ids],
                "ConsistentRead": True,
            }
        }
        found: dict[str, FanMessageStatus] = {}
        for attempt in range(UNPROCESSED_RETRIES + 1):
            if not pending.get(self._table_name, {}).get("Keys"):
                break
            if attempt:
                self._sleep(0.05 * 2**attempt)
            response = self._client.batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(self._table_name, []):
                status = _status(item)
                found[status.recipient_id] = status
            pending = response.get("UnprocessedKeys") or {}
        return [found[fan] for fan in recipient_ids if fan in found]

    def _write_all(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(UNPROCESSED_RETRIES + 1):
            if attempt:
                self._sleep(0.05 * 2**attempt)
            response = self._client.batch_write_item(RequestItems={self._table_name: requests})
            requests = (response.get("UnprocessedItems") or {}).get(self._table_name, [])
            if not requests:
                return
        raise RuntimeError(f"DynamoDB left {len(requests)} message records unwritten after retries")

    def _item(self, workflow_id: str, message: FanMessageStatus, expires_at: int) -> dict[str, Any]:
        values = message.model_dump(by_alias=True, exclude_none=True)
        item = {key: attribute_value(value) for key, value in values.items()}
        item["workflowId"] = {"S": message_key(workflow_id, message.recipient_id)}
        item["expiresAt"] = {"N": str(expires_at)}
        return item


def _status(item: dict[str, Any]) -> FanMessageStatus:
    data = {key: python_value(value) for key, value in item.items() if key not in ("workflowId", "expiresAt")}
    return FanMessageStatus.model_validate(data)


def message_page(
    states: MessageStates, workflow_id: str, recipient_ids: Sequence[str], limit: int, start: int = 0
) -> tuple[list[FanMessageStatus], str | None]:
    """One page of a workflow's messages, in request order, and the token of the next page (None: last page).

    The token is the position of the page's first fan in the workflow's recipient list.
    """
    page = recipient_ids[start : start + min(limit, READ_BATCH)]
    following = start + len(page)
    next_token = str(following) if following < len(recipient_ids) else None
    return (states.read(workflow_id, page) if page else []), next_token
