"""After each recorded call: which stored thresholds did it cross, and who hears about it.

The reads per call are constant: the applicable thresholds (cached per container for a few
seconds), then one ``BatchGetItem`` for their counters and crossing markers together. A threshold
reached without a marker is claimed by a conditional Put of ``RULEMARK#CROSSED#<id>`` for the
period, so exactly one recorder announces each crossing. It then sends through every enabled rule
on the threshold — each rule at most once per window (default 30 minutes) — or, when the threshold
has no rules at all, one e-mail to the cost-alert topic. Every alert sent or suppressed by a rule's
window goes to the owner's history (kept 90 days by default). If a send fails, its rule's window
and the crossing marker are released, so the next recorded call retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from shared.alerts.channels import SNS_SUBJECT_MAX, format_usd
from shared.alerts.rules import AlertRecord, AlertRule, AlertRuleStore, AlertStatus, ChannelType, new_alert_id
from shared.alerts.thresholds import SpendThreshold, ThresholdStore
from shared.ledger.events import CostEvent
from shared.ledger.keys import Key
from shared.ledger.store import CostStore, Counters

SECONDS_PER_DAY = 86_400
CROSSING_MARKER_TTL_S = 62 * SECONDS_PER_DAY  # outlives the longest period it guards


def crossing_key(threshold: SpendThreshold, day: date) -> Key:
    """The marker electing the one announcer of a threshold's crossing in ``day``'s period."""
    return f"RULEMARK#CROSSED#{threshold.threshold_id}", threshold.period_key(day)


class AlertChannels:
    """Publishes an alert: to the cost-alert topic (its e-mail subscriptions) or to an owner's topic."""

    def __init__(self, sns_client: Any, cost_alert_topic_arn: str) -> None:
        self._client = sns_client
        self._email_topic = cost_alert_topic_arn

    def send(self, channel: ChannelType, topic_arn: str | None, subject: str, body: str) -> None:
        """One SNS message."""
        target = topic_arn if channel == "sns" and topic_arn else self._email_topic
        if not target:
            raise ValueError("COST_ALERT_TOPIC_ARN is not set: cost alerts have nowhere to go")
        self._client.publish(TopicArn=target, Subject=subject, Message=body)


class ThresholdChecker:
    """Compares the stored thresholds with the ledger's counters and alerts once per crossing."""

    def __init__(
        self,
        costs: CostStore,
        thresholds: ThresholdStore,
        rules: AlertRuleStore,
        channels: AlertChannels,
        *,
        rule_window_s: int = 1800,
        history_days: int = 90,
        clock: Callable[[], float] = time.time,
        product: str = "Hybrid Orchestrator",
    ) -> None:
        self._costs = costs
        self._thresholds = thresholds
        self._rules = rules
        self._channels = channels
        self._window_s = rule_window_s
        self._history_s = history_days * SECONDS_PER_DAY
        self._clock = clock
        self._product = product

    def wanted(self, event: CostEvent) -> list[Key]:
        """What :meth:`check` reads: each applicable threshold's counter and crossing marker."""
        return [key for pair in self._keys(event).values() for key in pair]

    def check(self, event: CostEvent, items: Mapping[Key, Mapping[str, Any]] | None = None) -> list[AlertRecord]:
        """The alerts this call caused (sent or suppressed); usually none, after one read (``items``, when
        the caller read :meth:`wanted` together with other keys)."""
        keys = self._keys(event)
        if not keys:
            return []
        day = event.day
        if items is None:
            items = self._costs.get_items([key for pair in keys.values() for key in pair])
        records: list[AlertRecord] = []
        for threshold, (counter, marker) in keys.items():
            spent = Counters.from_item(items.get(counter)).micros
            if spent < threshold.micros or marker in items:
                continue
            expires = int(self._clock()) + CROSSING_MARKER_TTL_S
            if not self._costs.put_if_absent(marker, {"spentMicros": spent, "expiresAt": expires}):
                continue  # another recorder won this crossing
            try:
                records += self._announce(threshold, day, spent)
            except Exception:
                self._costs.delete(marker)
                raise
        return records

    def _keys(self, event: CostEvent) -> dict[SpendThreshold, tuple[Key, Key]]:
        applicable = self._thresholds.applicable(event.user_id, event.campaign_id)
        return {t: (t.counter(event.day), crossing_key(t, event.day)) for t in applicable}

    def _announce(self, threshold: SpendThreshold, day: date, spent: int) -> list[AlertRecord]:
        subject, body = threshold_email(self._product, threshold, day, spent)
        rules = [r for r in self._rules.rules_of(threshold.owner_id) if r.threshold_id == threshold.threshold_id]
        if not rules:
            self._channels.send("email", None, subject, body)
            return [self._log(threshold, None, "email", None, "sent", day, spent, subject)]
        records, failure = [], None
        for rule in (r for r in rules if r.enabled):
            if not self._rules.claim_send(rule.rule_id, self._clock(), self._window_s):
                records.append(
                    self._log(threshold, rule, rule.channel, rule.topic_arn, "suppressed", day, spent, subject)
                )
                continue
            try:
                self._channels.send(rule.channel, rule.topic_arn, subject, body)
            except Exception as exc:
                self._rules.release_send(rule.rule_id)
                failure = exc
                continue
            records.append(self._log(threshold, rule, rule.channel, rule.topic_arn, "sent", day, spent, subject))
        if failure is not None:
            raise failure
        return records

    def _log(
        self,
        threshold: SpendThreshold,
        rule: AlertRule | None,
        channel: ChannelType,
        topic_arn: str | None,
        status: AlertStatus,
        day: date,
        spent: int,
        subject: str,
    ) -> AlertRecord:
        now = self._clock()
        record = AlertRecord(
            alert_id=new_alert_id(),
            owner_id=threshold.owner_id,
            threshold_id=threshold.threshold_id,
            rule_id=rule.rule_id if rule else None,
            channel=channel,
            topic_arn=topic_arn,
            status=status,
            period=threshold.period_label(day),
            spent_micros=spent,
            threshold_micros=threshold.micros,
            subject=subject,
            at=now,
            expires_at=int(now) + self._history_s,
        )
        self._rules.add_record(record)
        return record


def threshold_email(product: str, threshold: SpendThreshold, day: date, spent: int) -> tuple[str, str]:
    """(subject, body) of a stored threshold's alert: whose spend, which period, how far over."""
    whose = {"global": "global", "user": f"user {threshold.subject_id}", "campaign": f"campaign {threshold.subject_id}"}
    label = threshold.period_label(day)
    spent_usd, limit = format_usd(spent), format_usd(threshold.micros)
    subject = f"{product}: {whose[threshold.scope]} {threshold.period} AI spend {spent_usd} crossed {limit}"
    lines = [
        f"AI provider spend of {whose[threshold.scope]} for {label} (UTC) has reached {spent_usd}, crossing the "
        f"{threshold.period} threshold {threshold.threshold_id} of {limit} "
        f"({100 * spent / threshold.micros:.1f}% of it).",
        "",
        f"Threshold action: {threshold.action}.",
        f"This threshold alerts once for {label}; each rule on it sends at most once per rate-limit window.",
    ]
    return subject[:SNS_SUBJECT_MAX], "\n".join(lines) + "\n"
