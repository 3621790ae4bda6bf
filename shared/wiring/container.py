"""Builds the real collaborators once per container (cold start) and hands out the same ones after.

Handlers ask for what they need; tests build the same classes with fakes instead. Factories that
need ``openai`` import it inside, so a handler that never routes never pays for the import.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.campaigns.workflows import DynamoWorkflowStore
from shared.config.settings import get_settings
from shared.core.observability import logger
from shared.core.pricing import PriceTable, usd_to_micros
from shared.health.checks import (
    HealthCheck,
    Probe,
)
from shared.routing.candidates import RouteCandidate, unpriced_candidates
from shared.routing.paths import with_legacy_routes
from shared.sending.message_states import DynamoMessageStates

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig
    from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

    from shared.alerts.checker import ThresholdChecker
    from shared.alerts.forecast_warnings import ForecastWatch, SpendForecaster
    from shared.alerts.rule_store import DynamoAlertRuleStore
    from shared.alerts.stream_consumer import CostStreamConsumer
    from shared.alerts.threshold_store import DynamoThresholdStore
    from shared.alerts.thresholds import SpendThreshold
    from shared.budgets.guard import BudgetGuard
    from shared.campaigns.async_jobs import AsyncCampaigns
    from shared.campaigns.cost_tracker import CostTracker
    from shared.campaigns.dispatch import CampaignDispatcher
    from shared.campaigns.fan_messages import FanCampaignService
    from shared.campaigns.service import CampaignService
    from shared.campaigns.status import WorkflowReader
    from shared.core.once import PowertoolsOnce
    from shared.core.queues import SqsQueue
    from shared.creator_accounts import CreatorAccountService
    from shared.ledger.ledger import CostLedger
    from shared.optimization.service import CostOptimizer
    from shared.routing.deadline import Deadline, RemainingTime
    from shared.routing.flags import RolloutGate
    from shared.routing.overrides import CachedRouteOverrides, DynamoRoutingOverrideStore
    from shared.routing.router import ProviderRouter
    from shared.sending.drainer import MessageDrainer
    from shared.sending.limiter import SlidingWindowLimiter
    from shared.sending.redis_connection import RedisConnection


@lru_cache(maxsize=4)
def aws_client(service: str) -> Any:
    """One client per service per container (``AWS_ENDPOINT_URL`` points it at moto locally).

    Short timeouts: a slow AWS dependency should fail a request well inside API Gateway's 29 s.
    Built from botocore's default session, which is all ``boto3.client`` does for a client, so
    functions that only read (status, health, cost reports) never load boto3 (~20 ms of cold start).
    """
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return _botocore_session().create_client(service, region_name=get_settings().aws_region, config=config)


@lru_cache(maxsize=1)
def _botocore_session() -> Any:
    """One session per container: it caches credentials and the service models its clients load."""
    from botocore.session import get_session

    return get_session()


def dynamodb_client() -> Any:
    """The container's DynamoDB client."""
    return aws_client("dynamodb")


@lru_cache(maxsize=1)
def workflow_store() -> DynamoWorkflowStore:
    """The workflows table."""
    return DynamoWorkflowStore(get_settings().workflows_table_name, dynamodb_client())


@lru_cache(maxsize=1)
def message_states() -> DynamoMessageStates:
    """Each fan's message of a workflow (the workflows table)."""
    return DynamoMessageStates(get_settings().workflows_table_name, dynamodb_client())


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    """The shipped prices with configuration overrides applied."""
    settings = get_settings()
    return PriceTable.load(settings.azure_deployments, settings.price_overrides)


@lru_cache(maxsize=1)
def circuit_store() -> CircuitBreakerDynamoDBPersistence:
    """Circuit state shared by every container, in DynamoDB."""
    from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

    return CircuitBreakerDynamoDBPersistence(
        table_name=get_settings().circuit_table_name, boto3_client=dynamodb_client()
    )


@lru_cache(maxsize=1)
def circuit_config() -> CircuitBreakerConfig:
    """Breaker tunables from settings, shared by the router and the health check."""
    from shared.routing.router import breaker_config

    settings = get_settings()
    return breaker_config(
        settings.breaker_failure_threshold,
        settings.breaker_recovery_timeout_s,
        settings.breaker_success_threshold,
        settings.breaker_cache_s,
    )


def provider_key(secret_name: str, plain_key: str) -> str:
    """A provider key from Secrets Manager (cached by Powertools Parameters), else the plain development key."""
    if not secret_name:
        return plain_key
    from aws_lambda_powertools.utilities.parameters import get_secret

    return str(get_secret(secret_name, max_age=get_settings().secret_cache_s))


def served_routing_table() -> dict[str, list[RouteCandidate]]:
    """Every route the router serves: the configured ones, their legacy twins and the budget downgrade."""
    from shared.budgets.guard import with_downgrade_route

    settings = get_settings()
    return with_downgrade_route(
        with_legacy_routes(settings.routing_table, settings.legacy_provider), settings.budget_downgrade_candidates
    )


@lru_cache(maxsize=1)
def provider_router() -> ProviderRouter:
    """The router over both providers; unpriced candidates are reported loudly at cold start."""
    from shared.routing.clients import build_azure_provider, build_openai_provider
    from shared.routing.router import ProviderRouter, RetryPolicy

    settings = get_settings()
    prices = price_table()
    routing_table = served_routing_table()
    for unpriced in unpriced_candidates(routing_table, prices):
        logger.error(
            "unpriced routing candidate", extra={"campaign_type": unpriced.route, "error": str(unpriced.error)}
        )
    providers = {
        "openai": build_openai_provider(
            provider_key(settings.openai_api_key_secret_name, settings.openai_api_key.get_secret_value()),
            settings.openai_base_url,
        ),
        "azure": build_azure_provider(
            provider_key(settings.azure_openai_api_key_secret_name, settings.azure_openai_api_key.get_secret_value()),
            settings.azure_openai_endpoint,
            settings.azure_openai_api_version,
        ),
    }
    return ProviderRouter(
        routing_table=routing_table,
        providers=providers,
        prices=prices,
        breaker_store=circuit_store(),
        breaker_config=circuit_config(),
        policy=RetryPolicy(
            max_attempts=settings.provider_max_attempts,
            attempt_timeout_s=settings.provider_attempt_timeout_s,
            backoff_base_s=settings.retry_backoff_base_s,
            backoff_max_s=settings.retry_backoff_max_s,
            retry_after_max_s=settings.retry_after_max_s,
        ),
        overrides=route_overrides(),
    )


@lru_cache(maxsize=1)
def routing_override_store() -> DynamoRoutingOverrideStore:
    """The routes the cost optimizer applied, and their audit log, in the costs table."""
    from shared.routing.overrides import DynamoRoutingOverrideStore

    return DynamoRoutingOverrideStore(get_settings().cost_table_name, dynamodb_client())


@lru_cache(maxsize=1)
def route_overrides() -> CachedRouteOverrides:
    """The router's view of the applied routes, re-read after ROUTING_OVERRIDES_CACHE_S (0: every call)."""
    from shared.routing.overrides import CachedRouteOverrides

    return CachedRouteOverrides(routing_override_store(), get_settings().routing_overrides_cache_s)


@lru_cache(maxsize=1)
def cost_optimizer() -> CostOptimizer:
    """Recommendations from the ledger's counters; applied and reverted through the routing overrides."""
    from shared.optimization.optimizer import OptimizationPolicy, load_downgrades
    from shared.optimization.service import CostOptimizer

    settings = get_settings()
    policy = OptimizationPolicy(
        downgrades=load_downgrades(),
        azure_deployments=settings.azure_deployments,
        fallback_share=settings.optimization_fallback_share,
        min_calls=settings.optimization_min_calls,
    )
    return CostOptimizer(cost_ledger().store, routing_override_store(), settings.routing_table, price_table(), policy)


@lru_cache(maxsize=1)
def rollout_gate() -> RolloutGate:
    """Hybrid or legacy per user: flags from the local file when configured, else from AppConfig."""
    from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags

    from shared.routing.flags import DEFAULT_FLAGS_FILE, JsonFileStore, RolloutGate

    settings = get_settings()
    if settings.feature_flags_file or not settings.appconfig_application:
        store = JsonFileStore(settings.feature_flags_file or DEFAULT_FLAGS_FILE, max_age=settings.flags_cache_s)
    else:
        store = AppConfigStore(
            environment=settings.appconfig_environment,
            application=settings.appconfig_application,
            name=settings.appconfig_profile,
            max_age=settings.flags_cache_s,
        )
    return RolloutGate(FeatureFlags(store=store), settings.hybrid_orchestrator_enabled)


def request_deadline(context: RemainingTime | None) -> Deadline:
    """This invocation's deadline: API Gateway's cap or the Lambda's remaining time, less the margin."""
    from shared.routing.deadline import Deadline

    settings = get_settings()
    return Deadline.for_invocation(context, settings.api_deadline_s, settings.deadline_margin_s)


@lru_cache(maxsize=1)
def default_thresholds() -> tuple[SpendThreshold, SpendThreshold]:
    """The settings' daily and monthly thresholds, in micro-dollars."""
    from shared.alerts.threshold_alerts import thresholds_from_usd

    settings = get_settings()
    return thresholds_from_usd(settings.daily_cost_threshold_usd, settings.monthly_cost_threshold_usd)


@lru_cache(maxsize=1)
def campaign_dispatcher() -> CampaignDispatcher:
    """The campaign route's use case over the container's services."""
    from shared.campaigns.dispatch import CampaignDispatcher

    return CampaignDispatcher(rollout_gate(), async_campaigns(), campaign_service(), fan_campaign_service())


@lru_cache(maxsize=1)
def workflow_reader() -> WorkflowReader:
    """The status route's use case."""
    from shared.campaigns.status import WorkflowReader

    return WorkflowReader(workflow_store(), message_states())


@lru_cache(maxsize=1)
def campaign_service() -> CampaignService:
    """Campaigns over the real router and workflow table."""
    from shared.campaigns.service import CampaignService

    settings = get_settings()
    return CampaignService(
        router=provider_router(),
        prices=price_table(),
        workflows=workflow_store(),
        max_output_tokens=settings.max_output_tokens,
        ttl_days=settings.workflow_ttl_days,
        costs=cost_tracker(),
        budget=budget_guard(),
    )


@lru_cache(maxsize=1)
def budget_guard() -> BudgetGuard:
    """Hard monthly caps: each capped user's calls reserve before and settle after (see shared/budgets/guard.py)."""
    from shared.budgets.caps import CachedHardCaps
    from shared.budgets.guard import BudgetGuard, ledger_month_spend
    from shared.budgets.store import DynamoBudgetStore

    settings = get_settings()
    return BudgetGuard(
        caps=CachedHardCaps(threshold_store(), settings.budget_cap_cache_s),
        store=DynamoBudgetStore(settings.cost_table_name, dynamodb_client()),
        routes=provider_router(),
        prices=price_table(),
        month_spend=ledger_month_spend(cost_ledger()),
    )


@lru_cache(maxsize=1)
def cost_ledger() -> CostLedger:
    """The cost ledger over the costs table."""
    from shared.ledger.ledger import CostLedger
    from shared.ledger.store import DynamoCostStore

    settings = get_settings()
    store = DynamoCostStore(settings.cost_table_name, dynamodb_client())
    return CostLedger(store, settings.cost_event_ttl_days)


@lru_cache(maxsize=1)
def cost_tracker() -> CostTracker:
    """Records every billed call: one conditional PutItem (counters and alerts come from the stream)."""
    from shared.campaigns.cost_tracker import CostTracker

    return CostTracker(cost_ledger())


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
    """Alerts on the stored thresholds through their rules' channels (SNS), rate-limited per rule."""
    from shared.alerts.channels import AlertChannels
    from shared.alerts.checker import ThresholdChecker
    from shared.alerts.rules import OwnerTopics

    settings = get_settings()
    return ThresholdChecker(
        cost_ledger().store,
        threshold_store(),
        alert_rule_store(),
        AlertChannels(aws_client("sns"), settings.cost_alert_topic_arn, OwnerTopics.of(settings)),
        rule_window_s=settings.alert_rule_window_s,
        history_days=settings.alert_history_days,
        product=f"Hybrid Orchestrator ({settings.stage})",
    )


@lru_cache(maxsize=2)
def queue(name: str) -> SqsQueue:
    """A queue by physical name (its URL is looked up once)."""
    from shared.core.queues import SqsQueue

    return SqsQueue(aws_client("sqs"), name)


@lru_cache(maxsize=1)
def creator_account_service() -> CreatorAccountService:
    """Who may send as which creator account, in the creator-accounts table."""
    from shared.creator_accounts import CreatorAccountService, DynamoCreatorAccountStore

    return CreatorAccountService(
        DynamoCreatorAccountStore(get_settings().creator_accounts_table_name, dynamodb_client())
    )


@lru_cache(maxsize=1)
def fan_campaign_service() -> FanCampaignService:
    """fan_messages campaigns: generation through the router, messages onto the rate-limited queue."""
    from shared.campaigns.fan_messages import FanCampaignService

    settings = get_settings()
    return FanCampaignService(
        campaigns=campaign_service(),
        router=provider_router(),
        prices=price_table(),
        workflows=workflow_store(),
        queue=queue(settings.messages_queue_name),
        accounts=creator_account_service(),
        messages=message_states(),
        max_output_tokens=settings.max_output_tokens,
        concurrency=settings.fan_generation_concurrency,
        sync_max_recipients=settings.fan_sync_max_recipients,
    )


def once_guard() -> PowertoolsOnce:
    """At most one completed run per idempotency key, in the idempotency table (one per caller)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from shared.core.once import PowertoolsOnce

    settings = get_settings()
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb_client())
    return PowertoolsOnce(persistence, settings.send_dedup_ttl_s)


@lru_cache(maxsize=1)
def async_campaigns() -> AsyncCampaigns:
    """Async submission (campaign function) and execution (workflow runner)."""
    from shared.campaigns.async_jobs import AsyncCampaigns

    settings = get_settings()
    return AsyncCampaigns(
        campaigns=campaign_service(),
        fans=fan_campaign_service(),
        workflows=workflow_store(),
        queue=queue(settings.workflows_queue_name),
        once=once_guard(),
        margin_s=settings.deadline_margin_s,
    )


@lru_cache(maxsize=1)
def redis_connection() -> RedisConnection:
    """The container's one Redis client (standalone or cluster, as configured), connected on first use."""
    from shared.sending.redis_connection import redis_connection as connect_lazily

    settings = get_settings()
    return connect_lazily(
        settings.redis_url,
        settings.redis_timeout_s,
        cluster_mode=settings.redis_cluster_mode,
        ssl_ca_certs=settings.redis_ssl_ca_certs,
    )


@lru_cache(maxsize=1)
def sliding_limiter() -> SlidingWindowLimiter:
    """The sending limiter; the health check probes Redis through this same one."""
    from shared.sending.limiter import SlidingWindowLimiter

    settings = get_settings()
    return SlidingWindowLimiter(
        redis_connection(),
        settings.of_rate_limit,
        settings.of_rate_window_s * 1000,
        guard_ms=settings.of_rate_guard_ms,
        unavailable_retry_ms=settings.of_limiter_unavailable_delay_s * 1000,
    )


@lru_cache(maxsize=1)
def message_drainer() -> MessageDrainer:
    """The drainer over Redis, the gateway (key from Secrets Manager), the queue and the workflow counts."""
    from shared.sending.drainer import MessageDrainer
    from shared.sending.gateway import SendingGateway

    settings = get_settings()
    gateway_key = provider_key(settings.gateway_api_key_secret_name, settings.gateway_api_key.get_secret_value())
    return MessageDrainer(
        limiter=sliding_limiter(),
        gateway=SendingGateway(settings.gateway_url, gateway_key, settings.gateway_timeout_s),
        queue=queue(settings.messages_queue_name),
        counters=workflow_store(),
        states=message_states(),
        once=once_guard(),
        max_receive_count=settings.messages_max_receive_count,
        retry_backoff_s=settings.send_retry_backoff_s,
        gateway_timeout_s=settings.gateway_timeout_s,
    )


def clear_caches() -> None:
    """Forget every cached collaborator and the settings: the next call builds them from the environment."""
    get_settings.cache_clear()
    if redis_connection.cache_info().currsize:
        redis_connection().close()  # its sockets now, not whenever the garbage collector runs
    for value in list(globals().values()):
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == __name__:
            value.cache_clear()


@lru_cache(maxsize=1)
def health_check() -> HealthCheck:
    """Every dependency's probe behind the container's short health cache."""
    return HealthCheck(health_probes(), get_settings().health_cache_s)


def health_probes() -> dict[str, Probe]:
    """The health check's probes over this container's collaborators."""
    from shared.health.checks import orchestrator_probe
    from shared.health.probes import dependency_probes

    settings = get_settings()
    return dependency_probes(
        workflows=workflow_store(),
        limiter=sliding_limiter if settings.redis_url else None,
        sqs=lambda: aws_client("sqs"),
        queues={"workflows": settings.workflows_queue_name, "messages": settings.messages_queue_name},
        providers={
            "azure": settings.candidates_of("azure") if settings.azure_openai_endpoint else None,
            "openai": settings.candidates_of("openai"),
        },
        circuit_states=circuit_states,
        orchestrator=orchestrator_probe(
            served_routing_table(), price_table, circuit_states, lambda: rollout_gate().probe()
        ),
    )


def circuit_states(candidates: Sequence[RouteCandidate]) -> dict[str, str]:
    """Each candidate's circuit state (``CLOSED``, ``HALF_OPEN``, ``OPEN``) as every container sees it."""
    store = circuit_store()
    states = {}
    for candidate in candidates:
        store.configure(config=circuit_config(), circuit_name=candidate.circuit_name)
        states[candidate.circuit_name] = str(store.get_state(candidate.circuit_name).state)
    return states
