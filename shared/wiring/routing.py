"""The router, its prices, circuits, overrides and flags, built once per container."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings
from shared.core.observability import logger
from shared.core.pricing import PriceTable
from shared.routing.candidates import RouteCandidate, unpriced_candidates
from shared.routing.paths import with_legacy_routes

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig
    from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

    from shared.routing.deadline import Deadline, RemainingTime
    from shared.routing.flags import RolloutGate
    from shared.routing.override_versions import VersionBoard
    from shared.routing.overrides import CachedRouteOverrides, RoutingOverrideStore
    from shared.routing.router import ProviderRouter


from shared.wiring.aws import dynamodb_client


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
def override_version_board() -> VersionBoard | None:
    """The overrides' version in Redis, where this function has Redis (else None: DynamoDB every call)."""
    settings = get_settings()
    if not settings.redis_url:
        return None
    from shared.routing.override_versions import RedisVersionBoard

    def redis_client():  # the container's one client, imported and connected on first use, not at cold start
        from shared.wiring.sending import redis_connection

        return redis_connection().client()

    return RedisVersionBoard(redis_client, settings.routing_overrides_version_ttl_s)


@lru_cache(maxsize=1)
def routing_override_store() -> RoutingOverrideStore:
    """The routes the cost optimizer applied, and their audit log, in the costs table; each change
    published on the version board when there is one."""
    from shared.routing.override_versions import AnnouncingOverrideStore
    from shared.routing.overrides import DynamoRoutingOverrideStore

    store = DynamoRoutingOverrideStore(get_settings().cost_table_name, dynamodb_client())
    board = override_version_board()
    return store if board is None else AnnouncingOverrideStore(store, board)


@lru_cache(maxsize=1)
def route_overrides() -> CachedRouteOverrides:
    """The router's view of the applied routes: re-read when the board's version moved, or after
    ROUTING_OVERRIDES_CACHE_S (0: every call) without a board."""
    from shared.routing.overrides import CachedRouteOverrides

    settings = get_settings()
    return CachedRouteOverrides(
        routing_override_store(), settings.routing_overrides_cache_s, board=override_version_board()
    )


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


def circuit_states(candidates: Sequence[RouteCandidate]) -> dict[str, str]:
    """Each candidate's circuit state (``CLOSED``, ``HALF_OPEN``, ``OPEN``) as every container sees it."""
    store = circuit_store()
    states = {}
    for candidate in candidates:
        store.configure(config=circuit_config(), circuit_name=candidate.circuit_name)
        states[candidate.circuit_name] = str(store.get_state(candidate.circuit_name).state)
    return states
