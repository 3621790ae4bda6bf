"""Alert rules (a threshold, a channel, on or off), their send markers and the alert history.

Keys in the costs table:
Rule:     pk ``THRESHOLDS#<ownerId>``, sk ``RULE#<ruleId>`` — beside the threshold it names, so the
          owner's one Query lists both.
Marker:   pk ``RULEMARK#<ruleId>``, sk ``SENT``: ``sentUntil`` (epoch s) rate-limits the rule; it is
          claimed by a conditional Put (``attribute_not_exists(pk) OR sentUntil < :now``).
History:  pk ``ALERTLOG#<ownerId>``, sk ``<epoch ms, 13 digits>#<alertId>`` — time-ordered, so a
          Query with ``ScanIndexForward=False`` lists newest first; ``expiresAt`` gives it a TTL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from shared.alerts.thresholds import THRESHOLD_PK_PREFIX
from shared.core.dynamo import deserialize_item, serialize_item

ChannelType = Literal["email", "sns"]
AlertStatus = Literal["sent", "suppressed"]
RULE_SK_PREFIX = "RULE#"
HISTORY_PK_PREFIX = "ALERTLOG#"


@dataclass(frozen=True)
class AlertRule:
    """Where a threshold's crossing is announced: the cost-alert topic (e-mail) or the owner's SNS topic."""

    rule_id: str  # "ar_<32 hex>"
    threshold_id: str
    owner_id: str  # the threshold's owner ("ALL" for a global threshold)
    channel: ChannelType
    topic_arn: str | None = None  # channel "sns" only
    enabled: bool = True
    created_by: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True)
class AlertRecord:
    """One alert in the history: sent through a channel, or suppressed by its rule's rate limit."""

    alert_id: str
    owner_id: str
    threshold_id: str
    rule_id: str | None  # None: the default e-mail of a threshold with no rules
    channel: ChannelType
    topic_arn: str | None
    status: AlertStatus
    period: str  # "2025-01-02" or "2025-01"
    spent_micros: int
    threshold_micros: int
    subject: str
    at: float
    expires_at: int

    @property
    def sort_key(self) -> str:
        """Time-ordered: milliseconds, zero-padded, then the id (two alerts in one millisecond stay apart)."""
        return f"{round(self.at * 1000):013d}#{self.alert_id}"


def new_rule_id() -> str:
    """``ar_`` and 32 random hex digits."""
    return f"ar_{secrets.token_hex(16)}"


def new_alert_id() -> str:
    """A short random id (unique within one millisecond of one owner's history)."""
    return secrets.token_hex(8)


class AlertRuleStore(Protocol):
    """Rules, their rate-limit markers, and the history."""

    def put_rule(self, rule: AlertRule) -> None: ...

    def get_rule(self, owner_id: str, rule_id: str) -> AlertRule | None: ...

    def rules_of(self, owner_id: str) -> list[AlertRule]: ...

    def claim_send(self, rule_id: str, now: float, window_s: int) -> bool: ...

    def release_send(self, rule_id: str) -> None: ...

    def add_record(self, record: AlertRecord) -> None: ...

    def history(self, owner_id: str, limit: int, after: str | None) -> tuple[list[AlertRecord], str | None]: ...


class DynamoAlertRuleStore:
    """:class:`AlertRuleStore` over the costs table."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def put_rule(self, rule: AlertRule) -> None:
        """Create or replace one rule."""
        item = {"pk": f"{THRESHOLD_PK_PREFIX}{rule.owner_id}", "sk": f"{RULE_SK_PREFIX}{rule.rule_id}"}
        self._client.put_item(TableName=self._table, Item=serialize_item({**item, **rule_to_item(rule)}))

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


def rule_to_item(rule: AlertRule) -> dict[str, Any]:
    """A rule's stored attributes (times in milliseconds)."""
    return {
        "ruleId": rule.rule_id,
        "thresholdId": rule.threshold_id,
        "ownerId": rule.owner_id,
        "channel": rule.channel,
        "topicArn": rule.topic_arn,
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
    )
