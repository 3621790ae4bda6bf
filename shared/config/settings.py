"""The one configuration model, validated once per container from environment variables.

Nothing else in the code base reads ``os.environ``: handlers call :func:`get_settings`, which
parses and caches the model at cold start, so a bad value fails the container at once with a
field-level message instead of failing a request later.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core.naming import QUEUE_SUFFIXES, TABLE_SUFFIXES, TOPIC_SUFFIX, resource_name
from shared.routing.candidates import (
    DEFAULT_AZURE_DEPLOYMENTS,
    DEFAULT_ROUTING_TABLE,
    ProviderName,
    RouteCandidate,
)


class Settings(BaseSettings):
    """Every knob of the orchestrator. Environment variable names are the field names in upper case."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    # Deployment identity and resource names (derived from prefix and stage when not given).
    stage: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,16}$")] = "local"
    resource_prefix: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,24}$")] = "hybrid-orch"
    aws_region: str = "us-east-1"
    workflows_table_name: str = ""
    cost_table_name: str = ""
    circuit_table_name: str = ""
    idempotency_table_name: str = ""
    creator_accounts_table_name: str = ""
    workflows_queue_name: str = ""
    messages_queue_name: str = ""
    cost_alert_topic_name: str = ""
    workflow_ttl_days: Annotated[int, Field(ge=1, le=365)] = 30

    # Redis (rate limiter); empty means "not configured here".
    redis_url: str = ""
    # Which client: "auto" asks the server once (INFO cluster); CDK sets "cluster" for its own
    # ElastiCache Serverless cache (cluster mode only). See shared/sending/redis_connection.py.
    redis_cluster_mode: Literal["auto", "standalone", "cluster"] = "auto"
    # rediss:// trusts the system CAs (Amazon's included); a PEM bundle path trusts that instead.
    redis_ssl_ca_certs: str = ""
    # The public health route answers from this cache: at most one probe of each dependency per interval.
    health_cache_s: Annotated[float, Field(ge=0, le=60)] = 5.0

    # Providers. Keys come from Secrets Manager when a secret name is set (deployed), else the
    # plain key (development only).
    openai_base_url: str | None = None
    openai_api_key_secret_name: str = ""
    openai_api_key: SecretStr = SecretStr("")
    azure_openai_endpoint: str = ""
    azure_openai_api_version: str = "2024-10-21"
    azure_openai_api_key_secret_name: str = ""
    azure_openai_api_key: SecretStr = SecretStr("")
    secret_cache_s: Annotated[int, Field(ge=0)] = 300

    # Routing, retries and the circuit breaker.
    routing_table: dict[str, list[RouteCandidate]] = Field(default_factory=lambda: dict(DEFAULT_ROUTING_TABLE))
    azure_deployments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_AZURE_DEPLOYMENTS))
    price_overrides: dict[str, dict[str, dict[str, Decimal]]] = Field(default_factory=dict)
    provider_attempt_timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    provider_max_attempts: Annotated[int, Field(ge=1, le=5)] = 2
    retry_backoff_base_s: Annotated[float, Field(ge=0)] = 0.2
    retry_backoff_max_s: Annotated[float, Field(ge=0)] = 2.0
    retry_after_max_s: Annotated[float, Field(ge=0)] = 5.0
    max_output_tokens: Annotated[int, Field(ge=16, le=16384)] = 800
    breaker_failure_threshold: Annotated[int, Field(ge=1)] = 5
    breaker_recovery_timeout_s: Annotated[int, Field(ge=1)] = 30
    breaker_success_threshold: Annotated[int, Field(ge=1)] = 1
    breaker_cache_s: Annotated[int, Field(ge=0)] = 1
    api_deadline_s: Annotated[float, Field(gt=0, le=29)] = 29.0
    deadline_margin_s: Annotated[float, Field(ge=0)] = 0.5

    # Cost thresholds, sending limits and flags.
    daily_cost_threshold_usd: Annotated[Decimal, Field(gt=0)] = Decimal("50")
    monthly_cost_threshold_usd: Annotated[Decimal, Field(gt=0)] = Decimal("1000")
    # The cost-alert topic's ARN (CDK passes it; locally it comes from the template like every name).
    cost_alert_topic_arn: str = ""
    cost_event_ttl_days: Annotated[int, Field(ge=1, le=365)] = 30
    # Counters outlive raw events: breakdowns reach back 90 days, month totals a year.
    cost_counter_ttl_days: Annotated[int, Field(ge=90, le=3650)] = 400
    # Stored thresholds and alert rules: a rule sends at most once per window; history is kept this long.
    alert_rule_window_s: Annotated[int, Field(ge=1, le=86_400)] = 1800
    alert_history_days: Annotated[int, Field(ge=1, le=365)] = 90
    # Per-owner caps (409 LIMIT_REACHED past them): they bound what one user can create and what every
    # recorded call of theirs reads (each applicable threshold is two keys of the call's BatchGetItem).
    max_thresholds_per_owner: Annotated[int, Field(ge=1, le=1000)] = 50
    max_rules_per_threshold: Annotated[int, Field(ge=1, le=100)] = 10
    # Slack rules (shared/alerts/slack_webhook.py): one post's attempts share the deadline, each attempt has
    # the timeout, a 429 waits its Retry-After up to the bound. The local stack sets the local base to its own
    # simulator (http://127.0.0.1:<port>/_sim/slack/services/), whose URLs rules may then name; empty deployed.
    slack_webhook_local_base: Annotated[
        str, Field(pattern=r"^(http://(127\.0\.0\.1|localhost):\d{1,5}/_sim/slack/services/)?$")
    ] = ""
    slack_post_deadline_s: Annotated[float, Field(gt=0, le=30)] = 10.0
    slack_attempt_timeout_s: Annotated[float, Field(gt=0, le=10)] = 3.0
    slack_max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    slack_backoff_base_s: Annotated[float, Field(ge=0, le=10)] = 0.5
    slack_retry_after_max_s: Annotated[float, Field(ge=0, le=30)] = 5.0
    # The API's public base URL (https://<api id>.execute-api...): alerts link to its /dashboard; empty: no link.
    public_base_url: Annotated[str, Field(pattern=r"^(https?://[^\s/?#]+)?$")] = ""
    # This deployment's account (CDK passes it): an owner's alert topic must live in it and the region.
    deployment_account_id: Annotated[str, Field(pattern=r"^(\d{12})?$")] = ""
    # Spend forecast: how often a container re-checks a scope's month-end projection after recording
    # (one Query each time), the prediction interval's confidence, and today's spike rule (today is a
    # spike above median + max(k x 1.4826 x MAD, minimum) of the previous days).
    forecast_check_interval_s: Annotated[int, Field(ge=0, le=86_400)] = 300
    forecast_confidence: Annotated[float, Field(ge=0.5, le=0.99)] = 0.9
    forecast_spike_k: Annotated[float, Field(gt=0, le=20)] = 3.0
    forecast_spike_min_usd: Annotated[Decimal, Field(ge=0, le=1_000_000)] = Decimal("1")
    of_rate_limit: Annotated[int, Field(ge=1)] = 10
    of_rate_window_s: Annotated[int, Field(ge=1)] = 60
    # Extra spacing the limiter adds to the window: the platform counts our sends when they arrive,
    # a few milliseconds after the limiter admitted them, so the window it sees must never hold more.
    of_rate_guard_ms: Annotated[int, Field(ge=0, le=10_000)] = 250
    # Redis unreachable (the limiter, or the sender's once-guard beside it): how long a message waits on the
    # queue before it is tried again.
    of_limiter_unavailable_delay_s: Annotated[int, Field(ge=1, le=900)] = 10
    redis_timeout_s: Annotated[float, Field(gt=0, le=5)] = 0.5
    # The sending gateway (an internal HTTP service) and the rate-limited queue's retry policy.
    gateway_url: str = ""
    gateway_api_key_secret_name: str = ""
    gateway_api_key: SecretStr = SecretStr("")
    gateway_timeout_s: Annotated[float, Field(gt=0, le=30)] = 5.0
    messages_max_receive_count: Annotated[int, Field(ge=1, le=1000)] = 3
    send_retry_backoff_s: Annotated[int, Field(ge=0, le=900)] = 10
    send_dedup_ttl_s: Annotated[int, Field(ge=3600)] = 7 * 86_400
    # fan_messages generation: parallel provider calls, and the largest list served synchronously.
    fan_generation_concurrency: Annotated[int, Field(ge=1, le=32)] = 8
    fan_sync_max_recipients: Annotated[int, Field(ge=1, le=1000)] = 100
    hybrid_orchestrator_enabled: bool = True
    # Feature flags: a local JSON file when set (make run), else the AppConfig profile CDK deploys.
    feature_flags_file: str = ""
    appconfig_application: str = ""
    appconfig_environment: str = ""
    appconfig_profile: str = "feature-flags"
    flags_cache_s: Annotated[int, Field(ge=0, le=3600)] = 5
    # The legacy path: one provider, no fallback matrix.
    legacy_provider: ProviderName = "openai"
    # Cost optimization: a campaign type whose fallback share over 30 days exceeds this (with at least
    # this many calls) gets a "swap the order" recommendation. The applied routing overrides are
    # read (strongly consistent) for every routed call by default, so a change serves the very next
    # request; a cache of up to 1 s trades that for one GetItem per container per interval.
    optimization_fallback_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.10")
    optimization_min_calls: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    routing_overrides_cache_s: Annotated[float, Field(ge=0, le=1)] = 0.0
    # Where Redis is configured, the overrides' version is published there (shared/routing/override_versions.py)
    # and a container re-reads the overrides only when it moved; the published version expires after this
    # long, which bounds how stale a container can be when a change could not publish it.
    routing_overrides_version_ttl_s: Annotated[int, Field(ge=1, le=3600)] = 60
    # Hard monthly budgets (shared/budgets/guard.py): the cheaper route a "downgrade" cap runs a request on
    # when its own route could pass the cap, and how long a container trusts a user's cap lookup.
    budget_downgrade_candidates: Annotated[list[RouteCandidate], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: [RouteCandidate(provider="openai", model="gpt-4o-mini")]
    )
    budget_cap_cache_s: Annotated[float, Field(ge=0, le=60)] = 5.0
    # A closed month's statement is frozen on its first read this long after the month's end (UTC), once
    # the stream aggregator has folded every call of the month (its lag is seconds; retries take longer).
    statement_freeze_lag_s: Annotated[float, Field(ge=0, le=7 * 86_400)] = 3_600.0

    @model_validator(mode="after")
    def _derive_resource_names(self) -> Settings:
        """Fill unset resource names from prefix and stage, the same way the CDK stacks name them."""
        derived = {
            "workflows_table_name": TABLE_SUFFIXES["workflows"],
            "cost_table_name": TABLE_SUFFIXES["costs"],
            "circuit_table_name": TABLE_SUFFIXES["circuits"],
            "idempotency_table_name": TABLE_SUFFIXES["idempotency"],
            "creator_accounts_table_name": TABLE_SUFFIXES["creator_accounts"],
            "workflows_queue_name": QUEUE_SUFFIXES["workflows"],
            "messages_queue_name": QUEUE_SUFFIXES["messages"],
            "cost_alert_topic_name": TOPIC_SUFFIX,
        }
        for field, suffix in derived.items():
            if not getattr(self, field):
                object.__setattr__(self, field, resource_name(self.resource_prefix, self.stage, suffix))
        return self

    @model_validator(mode="after")
    def _check_routing(self) -> Settings:
        """Every Azure deployment a route names must map to a priced base model."""
        for campaign_type, candidates in self.routing_table.items():
            if not candidates:
                raise ValueError(f"routing_table[{campaign_type}] has no candidates")
            for candidate in candidates:
                if candidate.provider == "azure" and candidate.model not in self.azure_deployments:
                    raise ValueError(
                        f"routing_table[{campaign_type}] names Azure deployment {candidate.model!r}, "
                        "which azure_deployments does not map to a base model"
                    )
        return self

    @model_validator(mode="after")
    def _check_downgrade_route(self) -> Settings:
        """The budget's downgrade route obeys the routing table's rule: Azure deployments map to a priced model."""
        for candidate in self.budget_downgrade_candidates:
            if candidate.provider == "azure" and candidate.model not in self.azure_deployments:
                raise ValueError(
                    f"budget_downgrade_candidates names Azure deployment {candidate.model!r}, "
                    "which azure_deployments does not map to a base model"
                )
        return self

    def candidates_of(self, provider: str) -> list[RouteCandidate]:
        """Every (provider, model) this provider serves in some route, once each."""
        unique = {c.circuit_name: c for route in self.routing_table.values() for c in route if c.provider == provider}
        return list(unique.values())

    @property
    def configured_providers(self) -> list[str]:
        """Every provider some route uses, in name order."""
        return sorted({c.provider for route in self.routing_table.values() for c in route})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Parse the environment once per container."""
    return Settings()
