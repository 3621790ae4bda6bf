"""Workflows in DynamoDB: one item per workflow, keyed by ``workflowId``, expiring through TTL."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.campaigns.models import Workflow
from shared.core.dynamo import attribute_value, python_value
from shared.sending.messages import MessageCounts


class WorkflowRepository(Protocol):
    """What the campaign logic needs from workflow storage."""

    def save(self, workflow: Workflow) -> None: ...

    def get(self, workflow_id: str) -> Workflow | None: ...


class DynamoWorkflowStore:
    """The DynamoDB implementation of :class:`WorkflowRepository`."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table_name = table_name
        self._client = client

    def save(self, workflow: Workflow) -> None:
        """Write the whole workflow; the one function running it is its only writer."""
        item = workflow.model_dump(by_alias=True, exclude_none=True)
        self._client.put_item(
            TableName=self._table_name,
            Item={key: attribute_value(value) for key, value in item.items()},
        )

    def get(self, workflow_id: str) -> Workflow | None:
        """The workflow, or ``None`` when absent or past its TTL (DynamoDB deletes expired items late)."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key={"workflowId": {"S": workflow_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        data = {key: python_value(value) for key, value in item.items()}
        if int(data.get("expiresAt", 0)) <= int(time.time()):
            return None
        return Workflow.model_validate(_plain(data))

    def add_counts(
        self, workflow_id: str, updated_at: str, *, sent: int = 0, queued: int = 0, failed: int = 0
    ) -> MessageCounts | None:
        """Move messages between counts atomically, and settle the workflow when none is left to send.

        Many drainers update one workflow at once, so counts change in place (``SET c = c + :d``,
        not a read-modify-write of the item) and only the update that sees ``sent + failed`` reach
        the total settles it: ``completed`` when anything was sent, else ``failed``, under a
        condition so it happens once. ``None`` when the workflow no longer exists.
        """
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key={"workflowId": {"S": workflow_id}},
                UpdateExpression="SET #c.#sent = #c.#sent + :sent, #c.#queued = #c.#queued + :queued, "
                "#c.#failed = #c.#failed + :failed, #updated = :updated",
                ConditionExpression="attribute_exists(workflowId)",
                ExpressionAttributeNames={
                    "#c": "counts",
                    "#sent": "sent",
                    "#queued": "queued",
                    "#failed": "failed",
                    "#updated": "updatedAt",
                },
                ExpressionAttributeValues={
                    ":sent": {"N": str(sent)},
                    ":queued": {"N": str(queued)},
                    ":failed": {"N": str(failed)},
                    ":updated": {"S": updated_at},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        item = {key: python_value(value) for key, value in response["Attributes"].items()}
        counts = MessageCounts.model_validate(_plain(item["counts"]))
        total = int(item.get("messagesTotal", 0))
        if total and counts.sent + counts.failed >= total and item.get("status") in ("queued", "running"):
            self._settle(workflow_id, "completed" if counts.sent else "failed", updated_at)
        return counts

    def _settle(self, workflow_id: str, status: str, updated_at: str) -> None:
        """Set the final status once; a concurrent settler (or a finished workflow) makes this a no-op."""
        update = "SET #status = :status, #updated = :updated"
        names = {"#status": "status", "#updated": "updatedAt"}
        values = {
            ":status": {"S": status},
            ":updated": {"S": updated_at},
            ":queued": {"S": "queued"},
            ":running": {"S": "running"},
        }
        if status == "failed":
            update += ", #error = :error"
            names["#error"] = "error"
            values[":error"] = attribute_value({"code": "MESSAGES_FAILED", "message": "no message was sent"})
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"workflowId": {"S": workflow_id}},
                UpdateExpression=update,
                ConditionExpression="#status IN (:queued, :running)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def ping(self) -> None:
        """A cheap read that fails when the table cannot be reached (used by the health check)."""
        self._client.describe_table(TableName=self._table_name)


def _plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; the models want ints."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value)
    return value
