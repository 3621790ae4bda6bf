"""The HTTP routes and the Lambda functions behind them: one table, read by CDK and the local server.

This module imports nothing from CDK so the local server can serve exactly what CDK deploys
without paying for a CDK import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The JWT scope of admins (``shared.api.auth.ADMIN``, which the handlers check; a test keeps the two equal:
# importing it here would pull pydantic into every reader of this table).
ADMIN_SCOPE = "admin"
# Tenant admins' scope (``shared.api.auth.TENANT_ADMIN``): also let through on routes marked ``tenant_admin``,
# whose handlers then check that the item is of the caller's tenant.
TENANT_ADMIN_SCOPE = "tenant_admin"


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping: the queue (a ``uses`` key), batch size and maximum concurrency.

    Every mapping reports batch item failures (partial batch response); the queue's visibility
    timeout is derived from the consumer's timeout (stacks/messaging.py).
    """

    queue: str
    batch_size: int = 10
    max_concurrency: int = 2  # Lambda's minimum for SQS mappings


@dataclass(frozen=True)
class DynamoSource:
    """A DynamoDB stream event source mapping: the table (a ``uses`` key) and how Lambda batches its stream.

    CDK (stacks/functions.py) and the local stream poller (local/stream_poller.py) read the same values.
    ``parallelization_factor`` must stay 1: the aggregator's exactly-once marks need one batch per shard at a
    time (shared/ledger/aggregator.py). Only inserted items whose ``pk`` starts with ``event_prefix`` reach the
    function (the mapping's filter criteria). Every mapping reports batch item failures, bisects a failing
    batch and sends what exhausted its retries to the on-failure queue (``on_failure_queue``, a queue key).
    """

    table: str
    event_prefix: str
    on_failure_queue: str
    batch_size: int = 100
    max_batching_window_s: int = 0
    retry_attempts: int = 10
    max_record_age_s: int = 6 * 3600
    parallelization_factor: int = 1

    def __post_init__(self) -> None:
        if self.parallelization_factor != 1:
            raise ValueError("the cost aggregator's high-water marks need one batch per shard at a time")

    @property
    def filter_pattern(self) -> dict:
        """The mapping's filter: inserts of items whose partition key starts with ``event_prefix``."""
        return {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"pk": {"S": [{"prefix": self.event_prefix}]}}}}


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its code folder and what it is allowed to touch."""

    name: str
    description: str
    memory_mb: int = 256
    timeout_s: int = 30
    # Grants, by resource key: "workflows_table", "circuits_table", "costs_table",
    # "idempotency_table", "workflows_queue", "messages_queue", "alert_topic", "owner_alert_topics",
    # "creator_accounts_table",
    # "provider_secrets", "gateway_secret", "redis" (runs beside Redis, in its VPC when it has one);
    # a table or queue key with ":read" grants reading only; "costs_table:record" reads the costs table
    # and writes only what recording a billed call writes (shared/ledger/keys.RECORDING_WRITE_PREFIXES),
    # "costs_table:aggregate" only what the stream's aggregator writes (AGGREGATOR_WRITE_PREFIXES),
    # "costs_table:statements" only the frozen monthly statements (STATEMENT_WRITE_PREFIXES),
    # "costs_table:outcomes" only outcome items (OUTCOME_WRITE_PREFIXES),
    # "costs_table:experiments" only the experiments' records and the routing overrides (EXPERIMENT_WRITE_PREFIXES),
    # "costs_table:thresholds" only thresholds and their rules (THRESHOLD_WRITE_PREFIXES),
    # "costs_table:optimization" only the routing overrides and their audit log (OPTIMIZATION_WRITE_PREFIXES).
    uses: tuple[str, ...] = field(default_factory=tuple)
    calls_providers: bool = False
    # Ship every function's code with this one (the OpenAPI function reads the other handlers' routes).
    ships_all_functions: bool = False
    # The queue this function drains, if it is a queue consumer.
    consumes: QueueSource | None = None
    # The table stream this function consumes, if it is a stream consumer.
    streams: DynamoSource | None = None

    def __post_init__(self) -> None:
        if self.calls_providers and "redis" in self.uses:
            raise ValueError(f"{self.name}: functions that call LLM providers stay out of Redis's VPC (no NAT)")

    @property
    def source_dir(self) -> str:
        """Folder of the function's code asset, relative to the repository root."""
        return "functions" if self.ships_all_functions else f"functions/{self.name}"

    @property
    def handler(self) -> str:
        """Lambda handler string: every function exposes ``lambda_handler`` in its ``app.py``."""
        return f"{self.name}.app.lambda_handler" if self.ships_all_functions else "app.lambda_handler"


@dataclass(frozen=True)
class HttpRoute:
    """One API Gateway route and the function that serves it."""

    method: str
    path: str
    function: str
    authorized: bool = True
    # Why a route without the authorizer is safe to expose (a reviewer reads it in cdk-nag's report).
    public_reason: str = ""
    # Admin-only for every caller: API Gateway (and the local server) refuse a token without the admin
    # scope with 403 before the handler runs, a second gate behind the handler's own check. A route that
    # is admin-only for some requests only (e.g. a global threshold) leaves it False.
    admin: bool = False
    # With ``admin``: a tenant admin may call it too (API Gateway accepts any one of the listed scopes).
    tenant_admin: bool = False

    def __post_init__(self) -> None:
        if not self.authorized and not self.public_reason:
            raise ValueError(f"public route {self.method} {self.path} must say why it is public")
        if self.admin and not self.authorized:
            raise ValueError(f"admin route {self.method} {self.path} needs the authorizer")

    @property
    def key(self) -> str:
        """API Gateway's route key, e.g. ``GET /api/health/hybrid-orchestrator``."""
        return f"{self.method} {self.path}"

    @property
    def authorization_scopes(self) -> tuple[str, ...]:
        """The JWT scopes of which the token must carry one (API Gateway's ``AuthorizationScopes``)."""
        if not self.admin:
            return ()
        return (ADMIN_SCOPE, TENANT_ADMIN_SCOPE) if self.tenant_admin else (ADMIN_SCOPE,)


# What generating content needs: the workflow, the breakers, provider keys, and the cost ledger (recording
# only: these functions handle LLM input, so they may not write thresholds, caps, rules, routing, counters or
# alert markers). They publish no alert: the cost aggregator does, from the costs table's stream.
GENERATION_USES = ("workflows_table", "circuits_table", "provider_secrets", "costs_table:record")

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec(
            name="campaign",
            description="Runs a hybrid campaign through the provider router",
            memory_mb=256,
            timeout_s=30,
            # reads the creator-account registry: a fan_messages sender must be linked to the account
            uses=(
                *GENERATION_USES,
                "workflows_queue",
                "messages_queue",
                "feature_flags",
                "creator_accounts_table:read",
            ),
            calls_providers=True,
        ),
        FunctionSpec(
            name="workflow_runner",
            description="Runs async campaigns from the workflows queue, once per workflow",
            memory_mb=256,
            timeout_s=300,  # a 1000-fan campaign generates 1000 messages, a bounded number at a time
            uses=(*GENERATION_USES, "idempotency_table", "messages_queue", "creator_accounts_table:read"),
            calls_providers=True,
            consumes=QueueSource("workflows_queue", batch_size=1, max_concurrency=5),
        ),
        FunctionSpec(
            name="message_sender",
            description="Drains the rate-limited queue: the one place that checks the limit and sends",
            memory_mb=256,
            timeout_s=60,
            # no idempotency_table: the sender's once-guard lives in Redis (shared/sending/send_once.py)
            uses=("workflows_table", "messages_queue", "gateway_secret", "redis"),
            consumes=QueueSource("messages_queue", batch_size=10, max_concurrency=5),
        ),
        FunctionSpec(
            name="cost_aggregator",
            description="Folds the costs table's stream into the day counters, exactly once, and sends cost alerts",
            memory_mb=256,
            timeout_s=60,
            # reads counters, thresholds and rules; writes counters, markers and alert history only;
            # "owner_alert_topics": owners' own alert topics (<prefix>-<stage>-alerts-*) for their rules
            uses=("costs_table:aggregate", "alert_topic", "owner_alert_topics"),
            streams=DynamoSource("costs_table", event_prefix="EVENT#", on_failure_queue="cost_stream_dlq"),
        ),
        FunctionSpec(
            name="status",
            description="Returns a workflow to its owner",
            memory_mb=256,
            timeout_s=10,
            uses=("workflows_table:read",),
        ),
        FunctionSpec(
            name="health",
            description="Cheap health check of the orchestrator's dependencies",
            memory_mb=256,
            timeout_s=10,
            uses=(
                "workflows_table:read",
                "circuits_table:read",
                "workflows_queue:read",
                "messages_queue:read",
                "redis",
            ),
        ),
        FunctionSpec(
            name="admin_flags",
            description="Feature flags and their evaluation for a user (admin only)",
            memory_mb=256,
            timeout_s=10,
            uses=("feature_flags",),
        ),
        FunctionSpec(
            name="openapi",
            description="The OpenAPI document of every route, and a Swagger page",
            memory_mb=256,
            timeout_s=10,
            ships_all_functions=True,
        ),
        FunctionSpec(
            name="cost_stats",
            description="Today's and this month's AI spend, by provider, against the thresholds",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="cost_breakdown",
            description="AI spend over a date range grouped by provider, model, campaign, user or day",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="cost_thresholds",
            description="Spend thresholds (global, per user, per campaign) and this period's spend against them",
            memory_mb=256,
            timeout_s=10,
            # writes thresholds; reads counters and campaign owners
            uses=("costs_table:thresholds", "workflows_table:read"),
        ),
        FunctionSpec(
            name="cost_alerts",
            description="Alert rules on spend thresholds (e-mail or an owner's SNS topic) and the alert history",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:thresholds",),  # writes rules beside their thresholds; reads thresholds and history
        ),
        FunctionSpec(
            name="campaign_costs",
            description="Per-campaign AI spend, tokens, calls, cost per message, fallback share and provider split",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="campaign_outcomes",
            description="Records what a campaign earned or how fans reacted (revenue, replies), once per outcome id",
            memory_mb=256,
            timeout_s=10,
            # reads the workflow (owner, recipients, experiment); writes only outcome items (OUTCOME_WRITE_PREFIXES)
            uses=("costs_table:outcomes", "workflows_table:read"),
        ),
        FunctionSpec(
            name="cost_forecast",
            description="Month-end AI spend projection with a prediction interval, and today's spike check",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="cost_optimization",
            description="Cost recommendations from 30 days of spend; applies and reverts routing overrides (admin)",
            memory_mb=256,
            timeout_s=10,
            # reads counters and thresholds; writes routing overrides and their audit log
            uses=("costs_table:optimization",),
        ),
        FunctionSpec(
            name="cost_compare",
            description="AI spend this month or week so far against the same days of the previous one, by provider",
            memory_mb=256,
            timeout_s=10,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="cost_export",
            description="AI spend per group and UTC day as CSV (one breakdown per day, at most 90)",
            memory_mb=256,
            timeout_s=15,
            uses=("costs_table:read",),
        ),
        FunctionSpec(
            name="billing_statements",
            description="A tenant's monthly statement (live this month; frozen on first read once a month closed)",
            memory_mb=256,
            timeout_s=15,
            uses=("costs_table:statements",),  # reads counters and outcome totals; writes only STATEMENT# items
        ),
        FunctionSpec(
            name="dashboard",
            description="The spend dashboard's static page and its assets (no data: the page calls the API)",
            memory_mb=128,
            timeout_s=5,
        ),
        FunctionSpec(
            name="experiments",
            description="Routing experiments (admin): A/B tests of a type's route, their results, stop and promote",
            memory_mb=256,
            timeout_s=10,
            # reads the variant counters and what the optimizer reads; writes only the experiments' records, the
            # running ones beside the routing overrides and the overrides' audit log: all in the costs table
            uses=("costs_table:experiments",),
        ),
        FunctionSpec(
            name="creator_accounts",
            description="Which users may send as each creator account (admins change it; users see their own)",
            memory_mb=256,
            timeout_s=10,
            uses=("creator_accounts_table",),
        ),
    )
}


def stream_consumer_of(table: str) -> FunctionSpec | None:
    """The function consuming ``table``'s stream (a ``uses`` key such as "costs_table"), if any."""
    return next((spec for spec in FUNCTIONS.values() if spec.streams and spec.streams.table == table), None)


def consumer_of(queue: str) -> FunctionSpec | None:
    """The function draining ``queue`` (a ``uses`` key such as "messages_queue"), if any."""
    return next((spec for spec in FUNCTIONS.values() if spec.consumes and spec.consumes.queue == queue), None)


ROUTES: tuple[HttpRoute, ...] = (
    HttpRoute("POST", "/api/v2/campaigns/hybrid", "campaign"),
    HttpRoute("GET", "/api/v2/campaigns/status", "status"),
    HttpRoute("GET", "/api/v2/costs/stats", "cost_stats"),
    HttpRoute("GET", "/api/v2/costs/breakdown", "cost_breakdown"),
    HttpRoute("GET", "/api/v2/costs/thresholds", "cost_thresholds"),
    HttpRoute("POST", "/api/v2/costs/thresholds", "cost_thresholds"),
    HttpRoute("GET", "/api/v2/costs/alerts", "cost_alerts"),
    HttpRoute("POST", "/api/v2/costs/alerts", "cost_alerts"),
    HttpRoute("PUT", "/api/v2/costs/alerts", "cost_alerts"),
    HttpRoute("GET", "/api/v2/campaigns/costs", "campaign_costs"),
    HttpRoute("POST", "/api/v2/campaigns/outcomes", "campaign_outcomes"),
    HttpRoute("GET", "/api/v2/costs/forecast", "cost_forecast"),
    HttpRoute("GET", "/api/v2/costs/optimization", "cost_optimization", admin=True),
    HttpRoute("POST", "/api/v2/costs/optimization/apply", "cost_optimization", admin=True),
    HttpRoute("GET", "/api/v2/costs/optimize", "cost_optimization", admin=True),
    HttpRoute("POST", "/api/v2/experiments", "experiments", admin=True),
    HttpRoute("GET", "/api/v2/experiments", "experiments", admin=True),
    HttpRoute("GET", "/api/v2/experiments/{experimentId}", "experiments", admin=True),
    HttpRoute("POST", "/api/v2/experiments/{experimentId}/stop", "experiments", admin=True),
    HttpRoute("POST", "/api/v2/experiments/{experimentId}/promote", "experiments", admin=True),
    HttpRoute(
        "POST", "/api/v2/costs/optimization/recommendations/{recommendationId}/experiment", "experiments", admin=True
    ),
    HttpRoute("GET", "/api/v2/costs/compare", "cost_compare"),
    HttpRoute("GET", "/api/v2/costs/export", "cost_export"),
    HttpRoute("GET", "/api/v2/billing/statements", "billing_statements"),
    HttpRoute("GET", "/api/v2/creator-accounts", "creator_accounts"),
    HttpRoute("PUT", "/api/v2/creator-accounts/{accountId}", "creator_accounts", admin=True, tenant_admin=True),
    HttpRoute("DELETE", "/api/v2/creator-accounts/{accountId}", "creator_accounts", admin=True, tenant_admin=True),
    HttpRoute(
        "GET",
        "/api/health/hybrid-orchestrator",
        "health",
        authorized=False,
        public_reason="The health check is public by design (uptime probes carry no token); it returns "
        "dependency status only, no user data, and spends no provider tokens.",
    ),
    HttpRoute("GET", "/api/admin/feature-flags", "admin_flags", admin=True),
    HttpRoute(
        "GET",
        "/api/openapi.json",
        "openapi",
        authorized=False,
        public_reason="The API's OpenAPI document: the published contract, generated from code, no user data.",
    ),
    HttpRoute(
        "GET",
        "/dashboard",
        "dashboard",
        authorized=False,
        public_reason="The dashboard's static page: it holds no data, the figures come from the API's token routes "
        "with the bearer token the person pastes into it.",
    ),
    HttpRoute(
        "GET",
        "/dashboard/{asset}",
        "dashboard",
        authorized=False,
        public_reason="The dashboard page's own script, style sheet and chart library (a fixed list of files).",
    ),
    HttpRoute(
        "GET",
        "/api/docs",
        "openapi",
        authorized=False,
        public_reason="A Swagger page over the public OpenAPI document; calls it makes still need a token.",
    ),
)
