"""Alert rules (a threshold, a channel, on or off), the alert history, and each owner's one alert topic.

A rule names the threshold it announces and its channel: ``email`` (the cost-alert topic's e-mail
subscriptions), ``sns``, whose topic is the owner's own (:class:`OwnerTopics`): one name per owner, so
no one can point alerts at another's topic, or ``slack``, an incoming webhook whose URL is a secret
(:mod:`shared.alerts.slack_webhook`: stored in the rule only, shown masked). Each rule sends at most
once per window (its send marker), and every alert sent or suppressed goes to the owner's history.
Storage: :mod:`shared.alerts.rule_store`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from shared.core.errors import LimitReachedError
from shared.core.naming import owner_alert_topic_name

if TYPE_CHECKING:
    from shared.config.settings import Settings

ChannelType = Literal["email", "sns", "slack"]
AlertStatus = Literal["sent", "suppressed"]


@dataclass(frozen=True)
class OwnerTopics:
    """Each owner's one alert topic in this deployment: ``arn:aws:sns:<region>:<account>:<name of the owner>``.

    The API accepts no other ARN in an ``sns`` rule, and the recording path publishes to the one this
    derives for the rule's owner, so a rule (even one stored before the check) reaches its owner's topic only.
    """

    region: str
    account_id: str  # "" when the deployment's account is unknown: no sns channel then
    prefix: str
    stage: str

    @classmethod
    def of(cls, settings: Settings) -> OwnerTopics:
        """This deployment's, from the settings."""
        return cls(settings.aws_region, settings.deployment_account_id, settings.resource_prefix, settings.stage)

    def arn(self, owner_id: str) -> str:
        """The owner's topic ARN."""
        if not self.account_id:
            raise ValueError("DEPLOYMENT_ACCOUNT_ID is not set: owners' alert topics cannot be named")
        return (
            f"arn:aws:sns:{self.region}:{self.account_id}:{owner_alert_topic_name(self.prefix, self.stage, owner_id)}"
        )


def rules_limit_error(limit: int) -> LimitReachedError:
    """The 409 of a threshold at its cap."""
    return LimitReachedError("rules", limit, f"at most {limit} alert rules per threshold")


@dataclass(frozen=True)
class AlertRule:
    """Where a threshold's crossing is announced: the cost-alert topic (e-mail), the owner's SNS topic or a
    Slack webhook."""

    rule_id: str  # "ar_<32 hex>"
    threshold_id: str
    owner_id: str  # the threshold's owner ("ALL" for a global threshold)
    channel: ChannelType
    topic_arn: str | None = None  # channel "sns" only
    enabled: bool = True
    created_by: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    webhook_url: str | None = None  # channel "slack" only: the secret URL, never shown whole


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
    masked_webhook_url: str | None = None  # channel "slack": the URL as answers show it

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

    def add_rule(self, rule: AlertRule) -> None: ...

    def put_rule(self, rule: AlertRule) -> None: ...

    def get_rule(self, owner_id: str, rule_id: str) -> AlertRule | None: ...

    def rules_of(self, owner_id: str) -> list[AlertRule]: ...

    def claim_send(self, rule_id: str, now: float, window_s: int) -> bool: ...

    def release_send(self, rule_id: str) -> None: ...

    def add_record(self, record: AlertRecord) -> None: ...

    def history(self, owner_id: str, limit: int, after: str | None) -> tuple[list[AlertRecord], str | None]: ...
