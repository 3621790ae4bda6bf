"""Where alerts go and what they say: the one SNS publisher every alert path sends through, and the e-mail.

Every e-mail or ``sns`` alert is one SNS message (subject and plain-text body) on a topic: the cost-alert
topic, whose confirmed e-mail subscriptions are the ops mailbox, or an owner's own topic for an ``sns``
rule (:class:`~shared.alerts.rules.OwnerTopics`). The e-mail is written for a person: amounts in the
subject, the period's spend in plain text, no links. A ``slack`` rule posts a Block Kit message
(:mod:`shared.alerts.slack_message`) to its webhook instead (:mod:`shared.alerts.slack_webhook`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from shared.alerts.rules import ChannelType, OwnerTopics
from shared.alerts.slack_webhook import SlackWebhookPoster
from shared.core.pricing import format_usd
from shared.ledger.store import Counters

SNS_SUBJECT_MAX = 100  # SNS refuses longer subjects


class AlertPublisher(Protocol):
    """Where alert e-mails go (the SNS topic the e-mail subscriptions hang on)."""

    def publish(self, subject: str, body: str) -> None: ...


class SnsAlertPublisher:
    """Publishes to one topic; SNS delivers to every confirmed subscription."""

    def __init__(self, topic_arn: str, client: Any) -> None:
        if not topic_arn:
            raise ValueError("COST_ALERT_TOPIC_ARN is not set: cost alerts have nowhere to go")
        self._topic_arn = topic_arn
        self._client = client

    def publish(self, subject: str, body: str) -> None:
        """One SNS message: subject and plain-text body."""
        self._client.publish(TopicArn=self._topic_arn, Subject=subject, Message=body)


class AlertChannels:
    """Publishes an alert: to the cost-alert topic (its e-mail subscriptions), to the owner's own topic, or to a
    Slack webhook."""

    def __init__(
        self,
        sns_client: Any,
        cost_alert_topic_arn: str,
        owner_topics: OwnerTopics,
        slack: SlackWebhookPoster | None = None,
    ) -> None:
        self._client = sns_client
        self._email_topic = cost_alert_topic_arn
        self._owner_topics = owner_topics
        self._slack = slack

    def target(self, channel: ChannelType, owner_id: str) -> str:
        """The topic a channel of this owner publishes to ("" when the cost-alert topic is not configured)."""
        return self._owner_topics.arn(owner_id) if channel == "sns" else self._email_topic

    def send(self, channel: ChannelType, owner_id: str, subject: str, body: str) -> None:
        """One SNS message (a ``slack`` channel posts through :meth:`post_slack` instead)."""
        if channel == "slack":
            raise ValueError("a slack channel posts to its webhook, not to a topic")
        SnsAlertPublisher(self.target(channel, owner_id), self._client).publish(subject, body)

    def post_slack(self, webhook_url: str, message: Mapping[str, Any]) -> int:
        """One Block Kit message to a webhook (the attempts it took; raises when it did not land)."""
        if self._slack is None:
            raise ValueError("no Slack poster is configured: slack rules have nowhere to go")
        return self._slack.post(webhook_url, message)


def alert_email(
    *,
    product: str,
    threshold_name: str,
    period_label: str,
    threshold_micros: int,
    spent_micros: int,
    by_provider: Mapping[str, Counters],
    by_type: Mapping[str, Counters],
    top_campaigns: list[tuple[str, Counters]],
) -> tuple[str, str]:
    """(subject, body) of the one alert sent when a threshold is crossed."""
    spent, limit = format_usd(spent_micros), format_usd(threshold_micros)
    subject = f"{product}: {threshold_name} AI spend {spent} crossed {limit}"[:SNS_SUBJECT_MAX]
    percent = f"{100 * spent_micros / threshold_micros:.1f}%"
    lines = [
        f"AI provider spend for {period_label} (UTC) has reached {spent}, crossing the {threshold_name} "
        f"threshold of {limit} ({percent} of it).",
        "",
        "Spend by provider:",
        *_table(sorted(by_provider.items(), key=_by_spend)),
        "",
        "Spend by campaign type:",
        *_table(sorted(by_type.items(), key=_by_spend)),
        "",
        f"Top {len(top_campaigns)} campaigns (workflow ids):" if top_campaigns else "Top campaigns: none recorded.",
        *_table(top_campaigns),
        "",
        f"This is the only {threshold_name} alert for {period_label}: later spend in the same period sends "
        "no further e-mail. Figures are exact to the micro-dollar, from the usage the providers reported.",
    ]
    return subject, "\n".join(lines) + "\n"


def _by_spend(entry: tuple[str, Counters]) -> tuple[int, str]:
    return -entry[1].micros, entry[0]


def _table(rows: list[tuple[str, Counters]]) -> list[str]:
    width = max((len(name) for name, _ in rows), default=0)
    return [
        f"  {name.ljust(width)}  {format_usd(c.micros):>14}  {c.requests:>8,} call{'' if c.requests == 1 else 's'}"
        f"  {c.tokens_total:>12,} tokens"
        for name, c in rows
    ] or ["  (none)"]
