"""The few facts of a workflow an outcome is checked against, read straight from the workflows table.

Only what the outcome needs is projected (owner, type, recipients, the experiment and variant it ran in),
not the whole workflow with its steps' attempts. ``experiment``/``variant`` are read from the item's top
level, else from the first step that has them: the experiments feature stores them on the steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.core.dynamo import deserialize_item


@dataclass(frozen=True)
class WorkflowTarget:
    """A workflow as an outcome sees it."""

    workflow_id: str
    owner_id: str
    type: str
    recipient_ids: tuple[str, ...] = field(default_factory=tuple)
    experiment: str | None = None
    variant: str | None = None


class WorkflowTargets(Protocol):
    """Where workflows are looked up."""

    def get(self, workflow_id: str) -> WorkflowTarget | None: ...


class DynamoWorkflowTargets:
    """:class:`WorkflowTargets` over the workflows table: one projected, strongly consistent GetItem."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table, self._client = table_name, client

    def get(self, workflow_id: str) -> WorkflowTarget | None:
        """The workflow, or None when absent or past its TTL (DynamoDB deletes expired items late)."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"workflowId": {"S": workflow_id}},
            ConsistentRead=True,
            ProjectionExpression="workflowId, ownerId, #type, recipientIds, experiment, variant, steps, expiresAt",
            ExpressionAttributeNames={"#type": "type"},
        )
        raw = response.get("Item")
        if raw is None:
            return None
        item = deserialize_item(raw)
        if int(item.get("expiresAt", 0)) <= int(time.time()):
            return None
        return target_of(item)


def target_of(item: dict[str, Any]) -> WorkflowTarget:
    """A stored workflow item's facts (also what the in-memory fake builds from a ``Workflow``)."""
    steps = [step for step in item.get("steps", []) if isinstance(step, dict)]
    tagged = next((step for step in steps if step.get("experiment") and step.get("variant")), {})
    return WorkflowTarget(
        workflow_id=item["workflowId"],
        owner_id=item["ownerId"],
        type=item["type"],
        recipient_ids=tuple(item.get("recipientIds", [])),
        experiment=item.get("experiment") or tagged.get("experiment"),
        variant=item.get("variant") or tagged.get("variant"),
    )
