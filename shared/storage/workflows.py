"""Workflows in DynamoDB: one item per workflow, keyed by ``workflowId``, expiring through TTL."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from shared.models import Workflow

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


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
            Item={key: _serializer.serialize(value) for key, value in item.items()},
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
        data = {key: _deserializer.deserialize(value) for key, value in item.items()}
        if int(data.get("expiresAt", 0)) <= int(time.time()):
            return None
        return Workflow.model_validate(_plain(data))

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
