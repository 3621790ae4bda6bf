"""Request and response models of ``/api/v2/costs/thresholds`` and ``/api/v2/costs/alerts``.

Requests refuse unknown fields. Checks that need two fields or the caller (a campaign threshold
names its campaign, block/downgrade only for a user's monthly cap, an owner topic in this
deployment) happen in the views, which name the field in the 422 the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.alerts.slack_webhook import MAX_WEBHOOK_URL_LENGTH
from shared.api.schemas import envelope
from shared.core.models import CamelModel

THRESHOLD_ID = r"^th_[0-9a-f]{32}$"
RULE_ID = r"^ar_[0-9a-f]{32}$"
WORKFLOW_ID = r"^wf_[0-9a-f]{32}$"
USER_ID = r"^\S{1,128}$"
TENANT_ID = r"^[^\s#]{1,128}$"  # "#" separates key parts (TENANT#<id>)
SNS_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}$"
MAX_THRESHOLD_USD = Decimal("1000000")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class CreateThresholdRequest(_Request):
    """``POST /api/v2/costs/thresholds``."""

    scope: Annotated[
        Literal["global", "user", "campaign", "tenant"],
        Field(
            description="global: everyone's spend (admins); user: one user's; campaign: one workflow's; "
            "tenant: a tenant's monthly hard cap (block|downgrade; admins or that tenant's admin)"
        ),
    ]
    user_id: Annotated[
        str | None,
        Field(
            alias="userId", pattern=USER_ID, description="scope user: whose spend (default the caller; others: admins)"
        ),
    ] = None
    campaign_id: Annotated[
        str | None, Field(alias="campaignId", pattern=WORKFLOW_ID, description="scope campaign: the workflow id")
    ] = None
    tenant: Annotated[
        str | None,
        Field(pattern=TENANT_ID, description="scope tenant: whose cap (default the caller's tenant)"),
    ] = None
    period: Annotated[Literal["daily", "monthly"], Field(description="UTC day or UTC month")]
    amount_usd: Annotated[
        Decimal,
        Field(alias="amountUsd", gt=0, le=MAX_THRESHOLD_USD, decimal_places=6, description="USD, > 0, 6 decimals"),
    ]
    action: Annotated[
        Literal["alert", "block", "downgrade"],
        Field(
            description="alert (anyone); block or downgrade: a hard cap, monthly only: scope user (admins) or "
            "scope tenant (admins or that tenant's admin)"
        ),
    ] = "alert"


class EmailChannel(_Request):
    """The cost-alert topic, whose subscriptions are e-mail addresses."""

    type: Literal["email"]


class SnsChannel(_Request):
    """The threshold owner's own SNS topic: this deployment's account and region, named
    ``<prefix>-<stage>-alerts-<owner id, other characters as _, 64 at most>-<16 hex of SHA-256 of the owner id>``
    (``ownerTopicArn`` of ``GET /api/v2/costs/alerts``)."""

    type: Literal["sns"]
    topic_arn: Annotated[str, Field(alias="topicArn", pattern=SNS_ARN, description="The topic's ARN")]


class SlackChannel(_Request):
    """A Slack incoming webhook. The URL is a secret: answers show it masked, logs never hold it. It is checked in
    the view, so a refusal names ``channel.webhookUrl`` as the ``sns`` channel's names ``channel.topicArn``."""

    type: Literal["slack"]
    webhook_url: Annotated[
        str,
        Field(
            alias="webhookUrl",
            description="https://hooks.slack.com/services/<team>/<channel>/<token> (exactly that host, https)",
            json_schema_extra={"format": "uri", "maxLength": MAX_WEBHOOK_URL_LENGTH},
        ),
    ]


Channel = Annotated[EmailChannel | SnsChannel | SlackChannel, Field(discriminator="type")]


class CreateAlertRuleRequest(_Request):
    """``POST /api/v2/costs/alerts``."""

    threshold_id: Annotated[str, Field(alias="thresholdId", pattern=THRESHOLD_ID, description="The threshold")]
    channel: Channel
    enabled: bool = True
    user_id: Annotated[
        str | None,
        Field(alias="userId", pattern=USER_ID, description="Admins: the owner of another user's threshold"),
    ] = None


class UpdateAlertRuleRequest(_Request):
    """``PUT /api/v2/costs/alerts``: the rule and what changes."""

    rule_id: Annotated[str, Field(alias="ruleId", pattern=RULE_ID)]
    channel: Channel | None = None
    enabled: bool | None = None
    user_id: Annotated[
        str | None, Field(alias="userId", pattern=USER_ID, description="Admins: the owner of another user's rule")
    ] = None


class SpendThresholdView(CamelModel):
    """A threshold and the spend of its current period."""

    threshold_id: str = Field(description="th_… for stored thresholds; settings:daily|monthly for the defaults")
    scope: Literal["global", "user", "campaign", "tenant"]
    user_id: str | None = Field(default=None, description="scope user: whose spend")
    campaign_id: str | None = None
    tenant: str | None = Field(default=None, description="scope tenant: whose spend")
    owner_id: str = Field(
        description="Whose list it is in: a user id, ALL for global thresholds, TENANT#<id> for a tenant's"
    )
    period: Literal["daily", "monthly"]
    action: Literal["alert", "block", "downgrade"]
    amount_usd: float
    amount_micros: int
    source: Literal["stored", "settings"] = Field(description="settings: the read-only configured defaults")
    is_global: bool = Field(description="Watches everyone's spend rather than the caller's own")
    created_by: str | None = None
    created_at: str | None = Field(default=None, description="ISO 8601, UTC")
    period_label: str = Field(description="The current period: YYYY-MM-DD or YYYY-MM (UTC)")
    spent_usd: float | None = Field(default=None, description="Current period's spend; global ones: admins only")
    spent_micros: int | None = None
    percent: float | None = Field(default=None, description="spent / amount x 100, two decimals")
    crossed: bool | None = None


class SpendThresholdsView(CamelModel):
    """``GET /api/v2/costs/thresholds``."""

    user_id: str = Field(description="Whose thresholds are listed (beside the global ones)")
    thresholds: list[SpendThresholdView]


class AlertChannelView(CamelModel):
    """Where a rule sends."""

    type: Literal["email", "sns", "slack"]
    topic_arn: str | None = None
    webhook_url: str | None = Field(
        default=None, description="slack: the webhook masked (https://hooks.slack.com/services/T0…/…/…WXYZ)"
    )


class AlertRuleView(CamelModel):
    """One alert rule."""

    rule_id: str
    threshold_id: str
    owner_id: str = Field(description="The threshold's owner (ALL: a global threshold)")
    channel: AlertChannelView
    enabled: bool
    created_by: str
    created_at: str
    updated_at: str


class AlertRecordView(CamelModel):
    """One alert of the history."""

    alert_id: str
    threshold_id: str
    rule_id: str | None = Field(description="None: the default e-mail of a threshold without rules")
    channel: AlertChannelView
    status: Literal["sent", "suppressed"] = Field(
        description="suppressed: within the rule's rate-limit window, or the owner's one e-mail of the period was sent"
    )
    period: str
    spent_usd: float
    spent_micros: int
    threshold_usd: float
    threshold_micros: int
    subject: str
    at: str = Field(description="ISO 8601, UTC")
    expires_at: str = Field(description="When the record leaves the history (ISO 8601, UTC)")


class AlertsView(CamelModel):
    """``GET /api/v2/costs/alerts``: the rules (``view=rules``) or a page of history (``view=history``)."""

    view: Literal["rules", "history"]
    owner_id: str
    owner_topic_arn: str | None = Field(
        default=None, description="The one SNS topic this owner's sns rules may name (when the account is known)"
    )
    rules: list[AlertRuleView] | None = None
    history: list[AlertRecordView] | None = Field(default=None, description="Newest first")
    next_token: str | None = Field(default=None, description="Pass back as nextToken for the next page")


SpendThresholdEnvelope = envelope("SpendThresholdEnvelope", SpendThresholdView)
SpendThresholdsEnvelope = envelope("SpendThresholdsEnvelope", SpendThresholdsView)
AlertRuleEnvelope = envelope("AlertRuleEnvelope", AlertRuleView)
AlertsEnvelope = envelope("AlertsEnvelope", AlertsView)
