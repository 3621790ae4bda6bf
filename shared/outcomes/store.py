"""Outcome items in the costs table, behind a small port (an in-memory fake in tests/support/fakes.py).

Outcome:          pk ``OUTCOME#<workflowId>``, sk ``OUT#<recipientId>#<outcomeId>``: the report as first
                  written, whose conditional creation makes reporting idempotent.
Message revenue:  pk ``OUTCOME#<workflowId>``, sk ``MSG#<recipientId>``: what that message earned so far
                  (revenue, replies) and a version (recipient ``""`` for a workflow that is one message).
Campaign totals:  pk ``OUTCOME#<workflowId>``, sk ``TOTAL``: revenue, replies, outcomes, messages with one.
Variant totals:   pk ``OUTCOMEVAR#<experimentId>``, sk the variant: messages with an outcome, revenue, the
                  sum over messages of revenue² (nano-dollars²), replies, messages replied.

One ``TransactWriteItems`` writes a report: the outcome (unless it exists), the message's new revenue
(conditional on the version read), and ``ADD``s to the campaign's and the variant's totals. The sum of
squares is why the message item exists: an outcome ``r`` on a message that had earned ``R`` adds
``(R + r)² - R²``, which is right only if ``R`` is still the message's revenue when the transaction
commits. The version condition makes it so: a concurrent outcome for the same message cancels one of
the two transactions, which the service re-reads and redoes, so every integer stays exact (DynamoDB
numbers hold 38 digits: nano-dollars² of a million dollars is 10^30). A variant's totals item takes every
outcome of its variant: outcomes are reported far less often than calls are made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol

from shared.core.dynamo import deserialize_item, query_items, serialize_item
from shared.ledger.keys import OUTCOME_PREFIX, VARIANT_OUTCOME_PREFIX, Key
from shared.ledger.store import DynamoCostStore, run_transaction
from shared.outcomes.model import MessageRevenue, OutcomeTotals, ReportedOutcome, RevenueTotals, StoredOutcome

RecordResult = Literal["recorded", "duplicate", "message_changed"]
TOTAL_SK = "TOTAL"
_CONFLICT_RETRIES = 8


def outcome_key(workflow_id: str, recipient_id: str | None, outcome_id: str) -> Key:
    """The outcome's key: ``(workflowId, recipientId, outcomeId)`` is the idempotency key."""
    return f"{OUTCOME_PREFIX}{workflow_id}", f"OUT#{recipient_id or ''}#{outcome_id}"


def message_key(workflow_id: str, recipient_id: str | None) -> Key:
    """What one message has earned so far."""
    return f"{OUTCOME_PREFIX}{workflow_id}", f"MSG#{recipient_id or ''}"


def campaign_key(workflow_id: str) -> Key:
    """A campaign's outcome totals."""
    return f"{OUTCOME_PREFIX}{workflow_id}", TOTAL_SK


def variant_key(experiment_id: str, variant: str) -> Key:
    """An experiment variant's outcome totals."""
    return f"{VARIANT_OUTCOME_PREFIX}{experiment_id}", variant


def square_increment(before_nanos: int, added_nanos: int) -> int:
    """What an outcome adds to a sum of squared revenue per message: ``(R + r)² - R²``."""
    return (before_nanos + added_nanos) ** 2 - before_nanos**2


class OutcomeStore(Protocol):
    """What the outcomes route, the campaign analytics, the statements and the experiments' results need."""

    def variant_totals(self, experiment_id: str) -> dict[str, OutcomeTotals]:
        """Variant name -> totals (variants without outcomes are absent)."""
        ...

    def campaign_revenue(self, campaign_ids: Iterable[str]) -> dict[str, RevenueTotals]:
        """Every campaign asked for, zero when it has no outcome."""
        ...

    def get_outcome(self, workflow_id: str, recipient_id: str | None, outcome_id: str) -> StoredOutcome | None:
        """The outcome as first recorded (strongly consistent), or None."""
        ...

    def message_revenue(self, workflow_id: str, recipient_id: str | None) -> MessageRevenue:
        """What the message has earned so far (strongly consistent)."""
        ...

    def record(self, stored: StoredOutcome, before: MessageRevenue) -> RecordResult:
        """Write the outcome and its totals in one transaction, if the message still is at ``before``."""
        ...


class DynamoOutcomeStore:
    """:class:`OutcomeStore` over the costs table."""

    def __init__(self, table_name: str, client: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self._table, self._client, self._sleep = table_name, client, sleep
        self._items = DynamoCostStore(table_name, client)

    def variant_totals(self, experiment_id: str) -> dict[str, OutcomeTotals]:
        """One Query of the experiment's partition."""
        params = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": serialize_item({":pk": f"{VARIANT_OUTCOME_PREFIX}{experiment_id}"}),
            "ConsistentRead": True,
        }
        return {
            item["sk"]: OutcomeTotals(
                messages_with_outcome=int(item.get("messagesWithOutcome", 0)),
                revenue_nanos=int(item.get("revenueNanos", 0)),
                revenue_squares=float(item.get("revenueSquares", 0)),
                replies=int(item.get("replies", 0)),
                messages_replied=int(item.get("messagesReplied", 0)),
            )
            for item in (deserialize_item(raw) for raw in query_items(self._client, params))
        }

    def campaign_revenue(self, campaign_ids: Iterable[str]) -> dict[str, RevenueTotals]:
        """``BatchGetItem`` of the campaigns' totals, 100 keys a request."""
        ids = list(dict.fromkeys(campaign_ids))
        found = self._items.get_items([campaign_key(i) for i in ids])
        return {i: _revenue(found.get(campaign_key(i))) for i in ids}

    def get_outcome(self, workflow_id: str, recipient_id: str | None, outcome_id: str) -> StoredOutcome | None:
        """One strongly consistent GetItem."""
        item = self._items.get_items([outcome_key(workflow_id, recipient_id, outcome_id)])
        found = next(iter(item.values()), None)
        if found is None:
            return None
        return StoredOutcome(
            outcome=ReportedOutcome(
                workflow_id=workflow_id,
                outcome_id=outcome_id,
                recipient_id=recipient_id,
                revenue_nanos=found.get("revenueNanos"),
                replies=found.get("replies"),
            ),
            recorded_at=found["recordedAt"],
            recorded_by=found["recordedBy"],
            experiment=found.get("experiment"),
            variant=found.get("variant"),
        )

    def message_revenue(self, workflow_id: str, recipient_id: str | None) -> MessageRevenue:
        """One strongly consistent GetItem (zero before the message's first outcome)."""
        found = self._items.get_items([message_key(workflow_id, recipient_id)])
        item = next(iter(found.values()), {})
        return MessageRevenue(
            int(item.get("revenueNanos", 0)), int(item.get("replies", 0)), int(item.get("version", 0))
        )

    def record(self, stored: StoredOutcome, before: MessageRevenue) -> RecordResult:
        """The transaction of the module docstring; which condition failed says what the caller does next."""
        outcome = stored.outcome
        revenue, replies = outcome.revenue_nanos or 0, outcome.replies or 0
        first_outcome = before.version == 0
        newly_replied = int(before.replies == 0 and replies > 0)
        items = [
            _put(self._table, outcome_key(outcome.workflow_id, outcome.recipient_id, outcome.outcome_id), stored),
            _message_update(self._table, message_key(outcome.workflow_id, outcome.recipient_id), before, outcome),
            _add(
                self._table,
                campaign_key(outcome.workflow_id),
                {
                    "revenueNanos": revenue,
                    "replies": replies,
                    "outcomes": 1,
                    "messagesWithOutcome": int(first_outcome),
                },
            ),
        ]
        if stored.experiment and stored.variant:
            increments = {
                "revenueNanos": revenue,
                "revenueSquares": square_increment(before.revenue_nanos, revenue),
                "replies": replies,
                "messagesWithOutcome": int(first_outcome),
                "messagesReplied": newly_replied,
            }
            items.append(_add(self._table, variant_key(stored.experiment, stored.variant), increments))
        reasons = run_transaction(self._client, items, "recording an outcome", self._sleep, _CONFLICT_RETRIES)
        if not reasons:
            return "recorded"
        return "duplicate" if reasons[0] == "ConditionalCheckFailed" else "message_changed"


def _revenue(item: dict[str, Any] | None) -> RevenueTotals:
    if not item:
        return RevenueTotals()
    return RevenueTotals(
        int(item.get("revenueNanos", 0)),
        int(item.get("replies", 0)),
        int(item.get("outcomes", 0)),
        int(item.get("messagesWithOutcome", 0)),
    )


def _key(key: Key) -> dict[str, Any]:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


def _put(table: str, key: Key, stored: StoredOutcome) -> dict[str, Any]:
    attributes = {
        "pk": key[0],
        "sk": key[1],
        "workflowId": stored.outcome.workflow_id,
        "recipientId": stored.outcome.recipient_id,
        "outcomeId": stored.outcome.outcome_id,
        "revenueNanos": stored.outcome.revenue_nanos,
        "replies": stored.outcome.replies,
        "recordedAt": stored.recorded_at,
        "recordedBy": stored.recorded_by,
        "experiment": stored.experiment,
        "variant": stored.variant,
    }
    return {
        "Put": {
            "TableName": table,
            "Item": serialize_item(attributes),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _message_update(table: str, key: Key, before: MessageRevenue, outcome: ReportedOutcome) -> dict[str, Any]:
    values: dict[str, Any] = {
        ":revenue": before.revenue_nanos + (outcome.revenue_nanos or 0),
        ":replies": before.replies + (outcome.replies or 0),
        ":next": before.version + 1,
    }
    if before.version:
        values[":version"] = before.version
        condition = "#version = :version"
    else:
        condition = "attribute_not_exists(pk)"
    return {
        "Update": {
            "TableName": table,
            "Key": _key(key),
            "UpdateExpression": "SET #revenue = :revenue, #replies = :replies, #version = :next",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#revenue": "revenueNanos", "#replies": "replies", "#version": "version"},
            "ExpressionAttributeValues": serialize_item(values),
        }
    }


def _add(table: str, key: Key, increments: dict[str, int]) -> dict[str, Any]:
    names = {f"#a{i}": name for i, name in enumerate(increments)}
    values = {f":a{i}": value for i, value in enumerate(increments.values())}
    return {
        "Update": {
            "TableName": table,
            "Key": _key(key),
            "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(increments))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize_item(values),
        }
    }
