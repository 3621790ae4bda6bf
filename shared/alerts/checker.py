"""After each folded batch: which stored thresholds did its spend cross, and who hears about it.

The stream's aggregator calls :meth:`ThresholdChecker.check` once per (user, campaign, day) of a batch
(:mod:`shared.alerts.spend_watch`), with ``items`` holding the scopes' spend as the batch left it and
the owners' markers (the global one and the user's), read once per batch; only when a marker says an
owner's thresholds changed are they read again (one Query). A threshold's crossing marker is read only
when its spend reached the amount. A threshold reached without a
marker is claimed (:class:`~shared.core.election.Election`) by ``RULEMARK#CROSSED#<id>`` for the period, so exactly one
aggregator announces each crossing, however many batches reach it together. It then
sends through every enabled rule on the threshold — each rule at most once per window (default 30
minutes) — or, when the threshold has no rules at all, one e-mail to the cost-alert topic.

The cost-alert topic is the ops mailbox, so it takes at most one e-mail per owner and period
however many of the owner's thresholds cross: each e-mail first claims ``RULEMARK#EMAIL#<owner>`` /
``<period>`` with the same conditional Put. An owner's ``sns`` rules publish to the one topic named
after the owner (:func:`shared.core.naming.owner_alert_topic_name`), derived again here at send time
rather than read from the rule. A ``slack`` rule posts one Block Kit message to its webhook, with the
period's spend by provider and top campaigns of the threshold's scope (one Query of its
``campaign_provider`` counters, made only then). Every alert sent, or suppressed by a rule's window or the owner's
e-mail of the period, goes to the owner's history (kept 90 days by default). If a send fails, what
it claimed (the rule's window, the owner's e-mail, the crossing marker) is released, so the next
recorded call retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import Any

from shared.alerts.channels import SNS_SUBJECT_MAX, AlertChannels
from shared.alerts.rules import (
    AlertRecord,
    AlertRule,
    AlertRuleStore,
    AlertStatus,
    ChannelType,
    new_alert_id,
)
from shared.alerts.slack_message import slack_alert_message, top_by_spend
from shared.alerts.slack_webhook import mask_webhook_url
from shared.alerts.thresholds import SpendThreshold, ThresholdStore
from shared.core.election import Election
from shared.core.pricing import format_usd
from shared.core.time import SECONDS_PER_DAY
from shared.ledger.campaign_costs import campaign_costs
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVERYONE, Key, Scope, month_start
from shared.ledger.spend_view import SpendView
from shared.ledger.store import CostStore, Counters


def crossing_key(threshold: SpendThreshold, day: date) -> Key:
    """The marker electing the one announcer of a threshold's crossing in ``day``'s period."""
    return f"RULEMARK#CROSSED#{threshold.threshold_id}", threshold.period_key(day)


def owner_email_key(threshold: SpendThreshold, day: date) -> Key:
    """The marker electing the one e-mail an owner's thresholds send the cost-alert topic in ``day``'s period."""
    return f"RULEMARK#EMAIL#{threshold.owner_id}", threshold.period_key(day)


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
        public_base_url: str = "",
        top_campaigns: int = 5,
    ) -> None:
        self._costs = costs
        self._election = Election(costs)
        self._thresholds = thresholds
        self._rules = rules
        self._channels = channels
        self._window_s = rule_window_s
        self._history_s = history_days * SECONDS_PER_DAY
        self._clock = clock
        self._product = product
        self._public_base_url = public_base_url
        self._top = top_campaigns

    def check(self, event: CostEvent, items: Mapping[Key, Mapping[str, Any]] | None = None) -> list[AlertRecord]:
        """The alerts this call caused (sent or suppressed); usually none. ``items`` answers spend names and
        markers (the aggregator's :class:`~shared.ledger.spend_view.SpendView` over the batch); without it,
        one is made here that reads what the check asks for."""
        day = event.day
        if items is None:
            items = SpendView(self._costs, until=day)
        records: list[AlertRecord] = []
        for threshold in self._thresholds.applicable(event.user_id, event.campaign_id, items):
            counter, marker = threshold.counter(day), crossing_key(threshold, day)
            spent = Counters.from_item(items.get(counter)).micros
            if spent < threshold.micros or marker in items:  # the marker is read only once the amount is reached
                continue
            announced = self._election.run(
                marker, self._clock(), {"spentMicros": spent}, partial(self._announce, threshold, day, spent)
            )
            records += announced or []  # None: another recorder won this crossing
        return records

    def _announce(self, threshold: SpendThreshold, day: date, spent: int) -> list[AlertRecord]:
        subject, body = threshold_email(self._product, threshold, day, spent)
        rules = [r for r in self._rules.rules_of(threshold.owner_id) if r.threshold_id == threshold.threshold_id]
        if not rules:
            return [self._send(threshold, None, "email", day, spent, subject, body)]
        records, failure = [], None
        for rule in (r for r in rules if r.enabled):
            try:
                records.append(self._send(threshold, rule, rule.channel, day, spent, subject, body))
            except Exception as exc:
                failure = exc
        if failure is not None:
            raise failure
        return records

    def _send(
        self,
        threshold: SpendThreshold,
        rule: AlertRule | None,
        channel: ChannelType,
        day: date,
        spent: int,
        subject: str,
        body: str,
    ) -> AlertRecord:
        """One alert through one channel, unless the rule's window or the owner's e-mail of the period was
        used already (then logged as suppressed); what it claimed is released again if publishing fails."""
        topic = self._channels.target(channel, threshold.owner_id) if channel == "sns" else None
        log = partial(self._log, threshold, rule, channel, topic, day=day, spent=spent, subject=subject)
        if rule is not None and not self._rules.claim_send(rule.rule_id, self._clock(), self._window_s):
            return log("suppressed")
        if rule is not None and rule.channel == "slack":
            publish = partial(self._post_slack, threshold, str(rule.webhook_url), day, spent, subject)
        else:
            publish = partial(self._publish, channel, threshold.owner_id, subject, body)
        try:
            if channel == "email":
                sent = self._election.run(
                    owner_email_key(threshold, day), self._clock(), {"spentMicros": spent}, publish
                )
            else:
                sent = publish()
        except Exception:
            if rule is not None:
                self._rules.release_send(rule.rule_id)
            raise
        if sent is None:  # the owner's e-mail of the period went out already
            if rule is not None:
                self._rules.release_send(rule.rule_id)  # nothing went out through this rule
            return log("suppressed")
        return log("sent")

    def _publish(self, channel: ChannelType, owner_id: str, subject: str, body: str) -> bool:
        self._channels.send(channel, owner_id, subject, body)
        return True

    def _post_slack(self, threshold: SpendThreshold, webhook_url: str, day: date, spent: int, subject: str) -> bool:
        """The Block Kit message: the threshold's scope's spend in the period, by provider and top campaigns."""
        first = day if threshold.period == "daily" else month_start(day)
        scope = {"global": EVERYONE, "user": Scope(threshold.subject_id)}.get(
            threshold.scope, Scope(threshold.owner_id)
        )
        campaigns = campaign_costs(self._costs, scope, first, day)
        if threshold.scope == "campaign":
            campaigns = [c for c in campaigns if c.campaign_id == threshold.subject_id]
        by_provider: dict[str, Counters] = {}
        for campaign in campaigns:
            for provider, counters in campaign.by_provider.items():
                by_provider[provider] = by_provider.get(provider, Counters()) + counters
        message = slack_alert_message(
            headline=subject,
            detail=f"{_whose(threshold).capitalize()}, {threshold.period} threshold `{threshold.threshold_id}`, "
            f"{threshold.period_label(day)} (UTC)",
            spent_micros=spent,
            threshold_micros=threshold.micros,
            by_provider=by_provider,
            top_campaigns=top_by_spend({c.campaign_id: c.total for c in campaigns}, self._top),
            public_base_url=self._public_base_url,
        )
        self._channels.post_slack(webhook_url, message)
        return True

    def _log(
        self,
        threshold: SpendThreshold,
        rule: AlertRule | None,
        channel: ChannelType,
        topic_arn: str | None,
        status: AlertStatus,
        *,
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
            masked_webhook_url=mask_webhook_url(rule.webhook_url) if rule and rule.webhook_url else None,
        )
        self._rules.add_record(record)
        return record


def threshold_email(product: str, threshold: SpendThreshold, day: date, spent: int) -> tuple[str, str]:
    """(subject, body) of a stored threshold's alert: whose spend, which period, how far over."""
    whose = _whose(threshold)
    label = threshold.period_label(day)
    spent_usd, limit = format_usd(spent), format_usd(threshold.micros)
    subject = f"{product}: {whose} {threshold.period} AI spend {spent_usd} crossed {limit}"
    lines = [
        f"AI provider spend of {whose} for {label} (UTC) has reached {spent_usd}, crossing the "
        f"{threshold.period} threshold {threshold.threshold_id} of {limit} "
        f"({100 * spent / threshold.micros:.1f}% of it).",
        "",
        f"Threshold action: {threshold.action}.",
        f"This threshold alerts once for {label}; each rule on it sends at most once per rate-limit window.",
        f"The cost-alert e-mail carries one alert per owner for {label}; any other crossing is in the owner's "
        "alert history.",
    ]
    return subject[:SNS_SUBJECT_MAX], "\n".join(lines) + "\n"


def _whose(threshold: SpendThreshold) -> str:
    """``global``, ``user u1`` or ``campaign wf_…``: whose spend a threshold watches."""
    return "global" if threshold.scope == "global" else f"{threshold.scope} {threshold.subject_id}"
