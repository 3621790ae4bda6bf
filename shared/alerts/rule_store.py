"""Where alert rules, their send markers and the alert history live: the costs table.

Keys:
Rule:     pk ``THRESHOLDS#<ownerId>``, sk ``RULE#<ruleId>`` — beside the threshold it names, so the
          owner's one Query lists both.
Marker:   pk ``RULEMARK#<ruleId>``, sk ``SENT``: ``sentUntil`` (epoch s) rate-limits the rule; it is
          claimed by a conditional Put (``attribute_not_exists(pk) OR sentUntil < :now``).
History:  pk ``ALERTLOG#<ownerId>``, sk ``<epoch ms, 13 digits>#<alertId>`` — time-ordered, so a
          Query with ``ScanIndexForward=False`` lists newest first; ``expiresAt`` gives it a TTL.

A rule is created in one transaction with a conditional ``ADD ruleCount :one`` on its threshold's
item (``attribute_exists(pk) AND (attribute_not_exists(ruleCount) OR ruleCount < :max)``): the
threshold must exist, and concurrent creates can never pass the per-threshold cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shared.alerts.rules import AlertRecord, AlertRule, rules_limit_error
from shared.alerts.thresholds import THRESHOLD_PK_PREFIX, threshold_key
from shared.core.dynamo import deserialize_item, serialize_item
from shared.core.errors import ThresholdNotFoundError
from shared.ledger.store import CostStoreError, run_transaction

RULE_SK_PREFIX = "RULE#"
HISTORY_PK_PREFIX = "ALERTLOG#"
_CREATE_RETRIES = 6  # concurrent creates on one threshold contend for its item; a cancelled one is redone


class DynamoAlertRuleStore:
    """:class:`AlertRuleStore` over the costs table."""

    def __init__(
        self, table_name: str, client: Any, max_per_threshold: int = 10, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._table = table_name
        self._client = client
        self._max_per_threshold = max_per_threshold
        self._sleep = sleep

    def add_rule(self, rule: AlertRule) -> None:
        """Create one rule and count it on its threshold, in one transaction; a threshold at the cap gets
        :class:`~shared.core.errors.LimitReachedError` (409) and nothing is written."""
        pk, sk = threshold_key(rule.owner_id, rule.threshold_id)
        counted = {
            "TableName": self._table,
            "Key": serialize_item({"pk": pk, "sk": sk}),
            "UpdateExpression": "ADD ruleCount :one",
            "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(ruleCount) OR ruleCount < :max)",
            "ExpressionAttributeValues": serialize_item({":one": 1, ":max": self._max_per_threshold}),
        }
        created = {
            "TableName": self._table,
            "Item": serialize_item({**_rule_key(rule), **rule_to_item(rule)}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        reasons = run_transaction(
            self._client,
            [{"Update": counted}, {"Put": created}],
            f"creating rule {rule.rule_id}",
            self._sleep,
            _CREATE_RETRIES,
        )
        if reasons[:1] == ["ConditionalCheckFailed"]:
            exists = self._client.get_item(TableName=self._table, Key=counted["Key"], ConsistentRead=True)
            if "Item" not in exists:
                raise ThresholdNotFoundError("No such threshold.")
            raise rules_limit_error(self._max_per_threshold)
        if reasons:
            raise CostStoreError(f"rule {rule.rule_id} exists already")

    def put_rule(self, rule: AlertRule) -> None:
        """Replace one rule (its threshold's count is unchanged)."""
        self._client.put_item(TableName=self._table, Item=serialize_item({**_rule_key(rule), **rule_to_item(rule)}))

    def get_rule(self, owner_id: str, rule_id: str) -> AlertRule | None:
        """One rule of one owner."""
        key = {"pk": {"S": f"{THRESHOLD_PK_PREFIX}{owner_id}"}, "sk": {"S": f"{RULE_SK_PREFIX}{rule_id}"}}
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return rule_from_item(deserialize_item(item)) if item else None

    def rules_of(self, owner_id: str) -> list[AlertRule]:
        """Every rule of one owner, oldest first (one Query)."""
        items = self._query(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": serialize_item(
                    {":pk": f"{THRESHOLD_PK_PREFIX}{owner_id}", ":prefix": RULE_SK_PREFIX}
                ),
                "ConsistentRead": True,
            }
        )[0]
        return sorted((rule_from_item(i) for i in items), key=lambda r: (r.created_at, r.rule_id))

    def claim_send(self, rule_id: str, now: float, window_s: int) -> bool:
        """True for the one caller allowed to send for this rule now; False while the window is open."""
        until = int(now) + window_s
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize_item(
                    {"pk": f"RULEMARK#{rule_id}", "sk": "SENT", "sentUntil": until, "expiresAt": until}
                ),
                ConditionExpression="attribute_not_exists(pk) OR sentUntil < :now",
                ExpressionAttributeValues=serialize_item({":now": int(now)}),
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def release_send(self, rule_id: str) -> None:
        """Give the window back (the send failed), so the next crossing check may retry."""
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": f"RULEMARK#{rule_id}"}, "sk": {"S": "SENT"}})

    def add_record(self, record: AlertRecord) -> None:
        """Append to the owner's history (expires through the table's TTL)."""
        item = {"pk": f"{HISTORY_PK_PREFIX}{record.owner_id}", "sk": record.sort_key, **record_to_item(record)}
        self._client.put_item(TableName=self._table, Item=serialize_item(item))

    def history(self, owner_id: str, limit: int, after: str | None) -> tuple[list[AlertRecord], str | None]:
        """Up to ``limit`` records, newest first, after sort key ``after``; the next page's start or None."""
        pk = f"{HISTORY_PK_PREFIX}{owner_id}"
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": serialize_item({":pk": pk}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            params["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": after}}
        items, last = self._query(params, pages=1)
        return [record_from_item(i) for i in items], (str(last["sk"]["S"]) if last else None)

    def _query(self, params: dict[str, Any], pages: int | None = None) -> tuple[list[dict[str, Any]], Any]:
        params = {"TableName": self._table, **params}
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**params)
            items += [deserialize_item(raw) for raw in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if pages == 1 or not last:
                return items, last
            params["ExclusiveStartKey"] = last


def _rule_key(rule: AlertRule) -> dict[str, str]:
    return {"pk": f"{THRESHOLD_PK_PREFIX}{rule.owner_id}", "sk": f"{RULE_SK_PREFIX}{rule.rule_id}"}


def rule_to_item(rule: AlertRule) -> dict[str, Any]:
    """A rule's stored attributes (times in milliseconds)."""
    return {
        "ruleId": rule.rule_id,
        "thresholdId": rule.threshold_id,
        "ownerId": rule.owner_id,
        "channel": rule.channel,
        "topicArn": rule.topic_arn,
        "webhookUrl": rule.webhook_url,
        "enabled": rule.enabled,
        "createdBy": rule.created_by,
        "createdAtMs": round(rule.created_at * 1000),
        "updatedAtMs": round(rule.updated_at * 1000),
    }


def rule_from_item(item: dict[str, Any]) -> AlertRule:
    """The rule a stored item holds."""
    return AlertRule(
        rule_id=str(item["ruleId"]),
        threshold_id=str(item["thresholdId"]),
        owner_id=str(item["ownerId"]),
        channel=item["channel"],
        topic_arn=item.get("topicArn"),
        webhook_url=item.get("webhookUrl"),
        enabled=bool(item.get("enabled", True)),
        created_by=str(item.get("createdBy", "")),
        created_at=int(item.get("createdAtMs", 0)) / 1000,
        updated_at=int(item.get("updatedAtMs", 0)) / 1000,
    )


def record_to_item(record: AlertRecord) -> dict[str, Any]:
    """A history record's stored attributes, ``expiresAt`` being its TTL."""
    return {
        "alertId": record.alert_id,
        "ownerId": record.owner_id,
        "thresholdId": record.threshold_id,
        "ruleId": record.rule_id,
        "channel": record.channel,
        "topicArn": record.topic_arn,
        "status": record.status,
        "period": record.period,
        "spentMicros": record.spent_micros,
        "thresholdMicros": record.threshold_micros,
        "subject": record.subject,
        "atMs": round(record.at * 1000),
        "expiresAt": record.expires_at,
        "maskedWebhookUrl": record.masked_webhook_url,
    }


def record_from_item(item: dict[str, Any]) -> AlertRecord:
    """The history record a stored item holds."""
    return AlertRecord(
        alert_id=str(item["alertId"]),
        owner_id=str(item["ownerId"]),
        threshold_id=str(item["thresholdId"]),
        rule_id=item.get("ruleId"),
        channel=item["channel"],
        topic_arn=item.get("topicArn"),
        status=item["status"],
        period=str(item["period"]),
        spent_micros=int(item["spentMicros"]),
        threshold_micros=int(item["thresholdMicros"]),
        subject=str(item["subject"]),
        at=int(item["atMs"]) / 1000,
        expires_at=int(item["expiresAt"]),
        masked_webhook_url=item.get("maskedWebhookUrl"),
    )
