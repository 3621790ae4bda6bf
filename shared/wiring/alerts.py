"""Thresholds, rules, the crossing checks, forecasts and the stream consumer that runs them."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings
from shared.core.pricing import usd_to_micros

if TYPE_CHECKING:
    from shared.alerts.checker import ThresholdChecker
    from shared.alerts.forecast_warnings import ForecastWatch, SpendForecaster
    from shared.alerts.rule_store import DynamoAlertRuleStore
    from shared.alerts.slack_webhook import SlackWebhookPoster
    from shared.alerts.stream_consumer import CostStreamConsumer
    from shared.alerts.threshold_store import DynamoThresholdStore
    from shared.alerts.thresholds import SpendThreshold


from shared.wiring.aws import aws_client, dynamodb_client
from shared.wiring.ledger import cost_ledger


@lru_cache(maxsize=1)
def default_thresholds() -> tuple[SpendThreshold, SpendThreshold]:
    """The settings' daily and monthly thresholds, in micro-dollars."""
    from shared.alerts.threshold_alerts import thresholds_from_usd

    settings = get_settings()
    return thresholds_from_usd(settings.daily_cost_threshold_usd, settings.monthly_cost_threshold_usd)


@lru_cache(maxsize=1)
def spend_forecaster() -> SpendForecaster:
    """Month-end forecasts over the ledger's daily totals, against the settings' and stored monthly thresholds."""
    from shared.alerts.forecast_warnings import SpendForecaster
    from shared.alerts.threshold_alerts import thresholds_from_usd
    from shared.forecast.model import SpikeRule

    settings = get_settings()
    _, monthly = thresholds_from_usd(settings.daily_cost_threshold_usd, settings.monthly_cost_threshold_usd)
    return SpendForecaster(
        cost_ledger(),
        monthly.micros,
        threshold_store(),
        confidence=settings.forecast_confidence,
        spike_rule=SpikeRule(settings.forecast_spike_k, usd_to_micros(settings.forecast_spike_min_usd)),
    )


@lru_cache(maxsize=1)
def forecast_watch() -> ForecastWatch:
    """The aggregator's early warning: a projected monthly crossing e-mails the cost-alert topic once."""
    from shared.alerts.channels import SnsAlertPublisher
    from shared.alerts.forecast_warnings import EarlyWarnings, ForecastWatch

    settings = get_settings()
    warnings = EarlyWarnings(
        spend_forecaster(),
        cost_ledger(),
        SnsAlertPublisher(settings.cost_alert_topic_arn, aws_client("sns")),
        product=f"Hybrid Orchestrator ({settings.stage})",
    )
    return ForecastWatch(warnings, settings.forecast_check_interval_s)


@lru_cache(maxsize=1)
def threshold_store() -> DynamoThresholdStore:
    """The stored spend thresholds (global, per user, per campaign), in the costs table."""
    from shared.alerts.threshold_store import DynamoThresholdStore

    settings = get_settings()
    return DynamoThresholdStore(
        settings.cost_table_name, dynamodb_client(), max_per_owner=settings.max_thresholds_per_owner
    )


@lru_cache(maxsize=1)
def alert_rule_store() -> DynamoAlertRuleStore:
    """Alert rules, their rate-limit markers and the alert history, in the costs table."""
    from shared.alerts.rule_store import DynamoAlertRuleStore

    settings = get_settings()
    return DynamoAlertRuleStore(
        settings.cost_table_name, dynamodb_client(), max_per_threshold=settings.max_rules_per_threshold
    )


@lru_cache(maxsize=1)
def threshold_checker() -> ThresholdChecker:
    """Alerts on the stored thresholds through their rules' channels (SNS, Slack), rate-limited per rule."""
    from shared.alerts.channels import AlertChannels
    from shared.alerts.checker import ThresholdChecker
    from shared.alerts.rules import OwnerTopics

    settings = get_settings()
    return ThresholdChecker(
        cost_ledger().store,
        threshold_store(),
        alert_rule_store(),
        AlertChannels(aws_client("sns"), settings.cost_alert_topic_arn, OwnerTopics.of(settings), slack_poster()),
        rule_window_s=settings.alert_rule_window_s,
        history_days=settings.alert_history_days,
        product=f"Hybrid Orchestrator ({settings.stage})",
        public_base_url=settings.public_base_url,
    )


@lru_cache(maxsize=1)
def slack_poster() -> SlackWebhookPoster:
    """Posts Slack rules' messages, retrying within the settings' deadline."""
    from shared.alerts.slack_webhook import SlackWebhookPoster
    from shared.core.retry import RetryPolicy

    settings = get_settings()
    policy = RetryPolicy(
        max_attempts=settings.slack_max_attempts,
        attempt_timeout_s=settings.slack_attempt_timeout_s,
        backoff_base_s=settings.slack_backoff_base_s,
        backoff_max_s=settings.slack_post_deadline_s,
        retry_after_max_s=settings.slack_retry_after_max_s,
    )
    return SlackWebhookPoster(policy, settings.slack_post_deadline_s)


@lru_cache(maxsize=1)
def cost_stream_consumer() -> CostStreamConsumer:
    """The cost_aggregator function: the costs table's stream folded into counters, then the alert checks."""
    from shared.alerts.channels import SnsAlertPublisher
    from shared.alerts.spend_watch import SpendWatch
    from shared.alerts.stream_consumer import CostStreamConsumer
    from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
    from shared.ledger.aggregator import CostAggregator
    from shared.ledger.stream import StreamShards

    settings = get_settings()
    alerts = ThresholdAlerts(
        cost_ledger(),
        SnsAlertPublisher(settings.cost_alert_topic_arn, aws_client("sns")),
        thresholds_from_usd(settings.daily_cost_threshold_usd, settings.monthly_cost_threshold_usd),
        product=f"Hybrid Orchestrator ({settings.stage})",
    )
    store = cost_ledger().store
    return CostStreamConsumer(
        CostAggregator(store, settings.cost_counter_ttl_days),
        StreamShards(aws_client("dynamodbstreams")),
        SpendWatch(store, alerts, threshold_checker(), forecast_watch()),
    )
