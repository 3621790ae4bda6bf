"""CloudWatch dashboard and alarms for spend, tokens, fallbacks and errors, and the ops topic alarms publish to.

The cost-alert topic is encrypted under the AWS-managed ``alias/aws/sns`` key, which CloudWatch
alarms cannot use (its key policy cannot be changed to let ``cloudwatch.amazonaws.com`` encrypt).
Alarms therefore publish to their own topic under a customer-managed key whose policy lets
CloudWatch use it (about $1 a month), with the same e-mail subscribers as the cost alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import get_args

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.routing.candidates import ProviderName
from stacks import constants as c
from stacks.config import StackConfig

PROVIDERS = get_args(ProviderName)
_SERVICE = {"service": c.POWERTOOLS_SERVICE_NAME}
_HOUR = Duration.hours(1)


def _metric(
    name: str, statistic: str = "Sum", period: Duration = _HOUR, label: str | None = None, **dimensions: str
) -> cloudwatch.Metric:
    """One of the orchestrator's EMF metrics (shared/routing/telemetry.py), by the dimensions it is emitted with."""
    return cloudwatch.Metric(
        namespace=c.POWERTOOLS_METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={**dimensions, **_SERVICE},
        statistic=statistic,
        period=period,
        label=label,
    )


class Observability(Construct):
    """The dashboard, the alarms (spend rate, DLQ depth, API 5xx, unrecorded costs, cost stream lag), the ops topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: Mapping[str, lambda_.IFunction],
        http_api: apigwv2.HttpApi,
        dlq_alarms: Sequence[cloudwatch.Alarm],
        stream_consumer: lambda_.IFunction,
        stream_dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.ops_topic = self._build_ops_topic()
        self.alarms = [
            self._build_spend_rate_alarm(),
            self._build_api_errors_alarm(http_api),
            self._build_unrecorded_costs_alarm(),
            self._build_stream_lag_alarm(stream_consumer),
            *dlq_alarms,
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(self.ops_topic))
        self.dashboard = self._build_dashboard(functions, http_api)
        self._add_stream_widgets(stream_consumer, stream_dlq)

    def _build_ops_topic(self) -> sns.Topic:
        key = kms.Key(
            self,
            "OpsAlarmKey",
            description="Encrypts the ops alarm topic; CloudWatch alarms may use it to publish",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" is this key
                # Only on behalf of this account's alarms: CloudWatch acting for another account (the
                # confused deputy) cannot use the key.
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        topic = sns.Topic(
            self,
            "OpsAlarmTopic",
            topic_name=self._config.name(c.OPS_TOPIC_SUFFIX),
            display_name="Hybrid Orchestrator alarms",
            master_key=key,
            enforce_ssl=True,
        )
        for email in self._config.alert_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _alarm(self, construct_id: str, suffix: str, description: str, **props: object) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._config.name(suffix),
            alarm_description=description,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            **props,
        )

    def _build_spend_rate_alarm(self) -> cloudwatch.Alarm:
        share = c.SPEND_RATE_SHARE_OF_DAILY
        threshold = float(self._config.daily_cost_threshold_usd) * share
        return self._alarm(
            "SpendRateAlarm",
            "ai-spend-rate",
            f"AI spend in one hour reached {share:.0%} of the daily threshold (${threshold:,.2f}): "
            "the day is on pace for several times its budget",
            metric=_metric("CostUSD"),
            threshold=threshold,
        )

    def _build_api_errors_alarm(self, http_api: apigwv2.HttpApi) -> cloudwatch.Alarm:
        return self._alarm(
            "Api5xxAlarm",
            "api-5xx",
            f"The API answered {c.API_5XX_ALARM_THRESHOLD} or more 5xx in {c.ALARM_PERIOD_MINUTES} minutes",
            metric=http_api.metric_server_error(period=Duration.minutes(c.ALARM_PERIOD_MINUTES), statistic="Sum"),
            threshold=c.API_5XX_ALARM_THRESHOLD,
        )

    def _build_unrecorded_costs_alarm(self) -> cloudwatch.Alarm:
        return self._alarm(
            "UnrecordedCostsAlarm",
            "costs-unrecorded",
            "A billed provider call could not be written to the cost ledger: stats and alerts under-count "
            "until it is replayed from the logged event ('cost event not recorded')",
            metric=_metric("CostRecordFailures", period=Duration.minutes(c.ALARM_PERIOD_MINUTES)),
            threshold=1,
        )

    def _build_stream_lag_alarm(self, consumer: lambda_.IFunction) -> cloudwatch.Alarm:
        return self._alarm(
            "CostStreamLagAlarm",
            "cost-stream-lag",
            f"The cost aggregator's oldest unfolded record is {c.STREAM_ITERATOR_AGE_ALARM_S} s old or more: stats, "
            "breakdowns and cost alerts trail by that much (events wait in the stream for 24 h; nothing is lost yet)",
            metric=consumer.metric("IteratorAge", statistic="Maximum", period=Duration.minutes(1)),
            threshold=c.STREAM_ITERATOR_AGE_ALARM_S * 1000,  # IteratorAge is in milliseconds
        )

    def _add_stream_widgets(self, consumer: lambda_.IFunction, dlq: sqs.IQueue) -> None:
        """The cost aggregator's lag (iterator age), its errors and throttles, and its on-failure queue's depth."""
        minute = Duration.minutes(1)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Cost aggregator lag: iterator age, max (ms)",
                left=[consumer.metric("IteratorAge", statistic="Maximum", period=minute, label="iterator age")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Cost aggregator: errors, throttles, invocations",
                left=[
                    consumer.metric_errors(period=minute, label="errors"),
                    consumer.metric_throttles(period=minute, label="throttles"),
                ],
                right=[consumer.metric_invocations(period=minute, label="invocations")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Cost stream on-failure queue: batches that exhausted their retries",
                left=[dlq.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum")],
                width=8,
            ),
        )

    def _build_dashboard(
        self, functions: Mapping[str, lambda_.IFunction], http_api: apigwv2.HttpApi
    ) -> cloudwatch.Dashboard:
        spend = [_metric("CostUSD", provider=p, label=p) for p in PROVIDERS]
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self._config.name(c.DASHBOARD_SUFFIX),
            default_interval=Duration.days(1),
        )
        dashboard.add_widgets(
            cloudwatch.SingleValueWidget(
                title="AI spend by provider, USD (dashboard range; exact figures: GET /api/v2/costs/stats)",
                metrics=spend,
                set_period_to_time_range=True,
                width=12,
            ),
            cloudwatch.GraphWidget(title="AI spend per hour by provider, USD", left=spend, stacked=True, width=12),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Tokens per hour by provider",
                left=[_metric("InputTokens", provider=p, label=f"{p} in") for p in PROVIDERS]
                + [_metric("OutputTokens", provider=p, label=f"{p} out") for p in PROVIDERS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Fallbacks per hour by provider (the candidate that failed)",
                left=[_metric("Fallbacks", provider=p, label=p) for p in PROVIDERS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Provider latency p90, ms",
                left=[_metric("ProviderLatency", "p90", Duration.minutes(5), p, provider=p) for p in PROVIDERS],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Errors: Lambda errors by function, API 5xx",
                left=[fn.metric_errors(label=name, period=Duration.minutes(5)) for name, fn in functions.items()],
                right=[http_api.metric_server_error(label="API 5xx", period=Duration.minutes(5), statistic="Sum")],
                width=16,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=8),
        )
        return dashboard
