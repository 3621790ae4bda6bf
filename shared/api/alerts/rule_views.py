"""``/api/v2/costs/alerts``: alert rules on thresholds, and the history of alerts, newest first.

A rule lives in its threshold owner's partition. A non-admin names their own thresholds and rules
only (anything else is a 404, so ids cannot be probed); an admin reaches global ones (owner
``ALL``) and, with ``userId``, any user's. An ``sns`` channel must be the threshold owner's own
topic (:class:`~shared.alerts.rules.OwnerTopics`: this deployment's region and account, the
name derived from the owner id) — whoever creates the rule, an admin included; any other ARN is a
422 naming ``channel.topicArn`` with the one ARN that would do. A ``slack`` channel must be a Slack
incoming webhook (:func:`~shared.alerts.slack_webhook.webhook_url_problem`; else a 422 naming
``channel.webhookUrl``); answers show it masked, the rule's item alone holds it whole.
"""

from __future__ import annotations

import re
from dataclasses import replace

from aws_lambda_powertools.event_handler import Response

from shared.alerts.rules import AlertRecord, AlertRule, AlertRuleStore, ChannelType, OwnerTopics, new_rule_id
from shared.alerts.slack_webhook import mask_webhook_url, webhook_url_problem
from shared.alerts.thresholds import GLOBAL_OWNER, SpendThreshold, ThresholdStore
from shared.api.alerts.threshold_schemas import (
    AlertChannelView,
    AlertRecordView,
    AlertRuleView,
    AlertsView,
    CreateAlertRuleRequest,
    EmailChannel,
    SlackChannel,
    SnsChannel,
    UpdateAlertRuleRequest,
)
from shared.api.alerts.threshold_views import invalid
from shared.api.envelope import success
from shared.api.page_tokens import decode_page_token, encode_page_token
from shared.config.settings import Settings
from shared.core.errors import AlertRuleNotFoundError, ForbiddenError, ThresholdNotFoundError
from shared.core.identity import Caller
from shared.core.pricing import usd_amount
from shared.core.time import iso_timestamp, whole_milliseconds

_HISTORY_SORT_KEY = re.compile(r"^\d{13}#[0-9a-f]{16}$")


def create_rule(
    request: CreateAlertRuleRequest,
    caller: Caller,
    thresholds: ThresholdStore,
    rules: AlertRuleStore,
    settings: Settings,
    now: float,
) -> AlertRule:
    """A rule on a threshold the caller may reach (404 otherwise) with a channel this deployment allows."""
    threshold = _threshold(request.threshold_id, caller, request.user_id, thresholds)
    channel, topic_arn, webhook_url = _channel(request.channel, threshold.owner_id, settings)
    now = whole_milliseconds(now)  # the store keeps whole ms: the answer must show the instant a read will
    rule = AlertRule(
        rule_id=new_rule_id(),
        threshold_id=threshold.threshold_id,
        owner_id=threshold.owner_id,
        channel=channel,
        topic_arn=topic_arn,
        webhook_url=webhook_url,
        enabled=request.enabled,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    rules.add_rule(rule)
    return rule


def update_rule(
    request: UpdateAlertRuleRequest, caller: Caller, rules: AlertRuleStore, settings: Settings, now: float
) -> AlertRule:
    """Change a rule's channel or enabled flag; another user's rule is a 404."""
    if request.channel is None and request.enabled is None:
        invalid("enabled", "give channel or enabled to change", "missing")
    rule = next(
        (r for owner in _owners(caller, request.user_id) if (r := rules.get_rule(owner, request.rule_id))), None
    )
    if rule is None:
        raise AlertRuleNotFoundError("No such alert rule.")
    channel, topic_arn, webhook_url = (
        (rule.channel, rule.topic_arn, rule.webhook_url)
        if request.channel is None
        else _channel(request.channel, rule.owner_id, settings)
    )
    updated = replace(
        rule,
        channel=channel,
        topic_arn=topic_arn,
        webhook_url=webhook_url,
        enabled=rule.enabled if request.enabled is None else request.enabled,
        updated_at=whole_milliseconds(now),
    )
    rules.put_rule(updated)
    return updated


def listed_owner(caller: Caller, user_id: str | None) -> str:
    """Whose rules and history: the caller's; admins may name a user or ``ALL`` (global thresholds)."""
    if user_id and user_id != caller.user_id and not caller.is_admin:
        raise ForbiddenError("Only admins can see another user's alert rules and history.")
    return user_id or caller.user_id


def rule_response(rule: AlertRule, status: int = 200) -> Response[dict]:
    """One rule."""
    return success(rule_view(rule).model_dump(by_alias=True), status)


def rules_response(owner_id: str, rules: AlertRuleStore, settings: Settings) -> Response[dict]:
    """Every rule of one owner, and the topic their sns rules may name."""
    topic = OwnerTopics.of(settings).arn(owner_id) if settings.deployment_account_id else None
    listed = [rule_view(r) for r in rules.rules_of(owner_id)]
    view = AlertsView(view="rules", owner_id=owner_id, owner_topic_arn=topic, rules=listed)
    return success(view.model_dump(by_alias=True))


def history_response(owner_id: str, rules: AlertRuleStore, limit: int, next_token: str | None) -> Response[dict]:
    """One page of the owner's alert history, newest first, and the token of the next page."""
    after = decode_page_token(next_token, owner_id, _HISTORY_SORT_KEY) if next_token else None
    records, last = rules.history(owner_id, limit, after)
    view = AlertsView(
        view="history",
        owner_id=owner_id,
        history=[record_view(r) for r in records],
        next_token=encode_page_token(owner_id, last) if last else None,
    )
    return success(view.model_dump(by_alias=True))


def rule_view(rule: AlertRule) -> AlertRuleView:
    """The wire form of a rule."""
    return AlertRuleView(
        rule_id=rule.rule_id,
        threshold_id=rule.threshold_id,
        owner_id=rule.owner_id,
        channel=AlertChannelView(
            type=rule.channel,
            topic_arn=rule.topic_arn,
            webhook_url=mask_webhook_url(rule.webhook_url) if rule.webhook_url else None,
        ),
        enabled=rule.enabled,
        created_by=rule.created_by,
        created_at=iso_timestamp(rule.created_at),
        updated_at=iso_timestamp(rule.updated_at),
    )


def record_view(record: AlertRecord) -> AlertRecordView:
    """The wire form of a history record."""
    return AlertRecordView(
        alert_id=record.alert_id,
        threshold_id=record.threshold_id,
        rule_id=record.rule_id,
        channel=AlertChannelView(
            type=record.channel, topic_arn=record.topic_arn, webhook_url=record.masked_webhook_url
        ),
        status=record.status,
        period=record.period,
        spent_usd=usd_amount(record.spent_micros),
        spent_micros=record.spent_micros,
        threshold_usd=usd_amount(record.threshold_micros),
        threshold_micros=record.threshold_micros,
        subject=record.subject,
        at=iso_timestamp(record.at),
        expires_at=iso_timestamp(record.expires_at),
    )


def _owners(caller: Caller, user_id: str | None) -> list[str]:
    """Partitions the caller may reach a threshold or rule in, in lookup order."""
    if not caller.is_admin:
        return [caller.user_id]
    return [user_id] if user_id else [GLOBAL_OWNER, caller.user_id]


def _threshold(threshold_id: str, caller: Caller, user_id: str | None, store: ThresholdStore) -> SpendThreshold:
    for owner in _owners(caller, user_id):
        threshold = store.get(owner, threshold_id)
        if threshold is not None:
            return threshold
    raise ThresholdNotFoundError("No such threshold.")


def _channel(
    channel: EmailChannel | SnsChannel | SlackChannel, owner_id: str, settings: Settings
) -> tuple[ChannelType, str | None, str | None]:
    """The channel as stored (type, topic ARN, webhook URL): an ``sns`` one only on the owner's own topic, a
    ``slack`` one only on a Slack webhook (or the local simulator's, running locally)."""
    if isinstance(channel, EmailChannel):
        return "email", None, None
    if isinstance(channel, SlackChannel):
        problem = webhook_url_problem(channel.webhook_url, settings.slack_webhook_local_base)
        if problem is not None:
            invalid("channel.webhookUrl", problem)
        return "slack", None, channel.webhook_url
    if not settings.deployment_account_id:
        invalid("channel.topicArn", "this deployment's account is not configured: no sns channel")
    expected = OwnerTopics.of(settings).arn(owner_id)
    if channel.topic_arn != expected:
        invalid("channel.topicArn", f"the topic must be the threshold owner's own: {expected}")
    return "sns", expected, None
