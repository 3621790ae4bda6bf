"""One Lambda function per ``route_table.FUNCTIONS`` entry, with least-privilege grants from its ``uses``."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.core.naming import OWNER_ALERT_TOPIC_INFIX, QUEUE_SUFFIXES, SECRET_SUFFIXES, TABLE_SUFFIXES, TOPIC_SUFFIX
from shared.ledger.keys import (
    AGGREGATOR_WRITE_PREFIXES,
    EXPERIMENT_WRITE_PREFIXES,
    OPTIMIZATION_WRITE_PREFIXES,
    OUTCOME_WRITE_PREFIXES,
    RECORDING_WRITE_PREFIXES,
    STATEMENT_WRITE_PREFIXES,
    THRESHOLD_WRITE_PREFIXES,
)
from stacks import constants as c
from stacks.config import StackConfig
from stacks.data import DataStore
from stacks.flags import FLAG_PROFILE_NAME, FeatureFlagConfig, flag_application_name
from stacks.layers import ARCHITECTURE, RUNTIME, Layers
from stacks.messaging import Messaging
from stacks.nag import acknowledge
from stacks.network import SendingNetwork
from stacks.route_table import FUNCTIONS, FunctionSpec
from stacks.secrets import ProviderSecrets

_CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "tests"]


def pascal_case(name: str) -> str:
    """``fan-messages`` → ``FanMessages``: construct ids from function names."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def function_name(config: StackConfig, spec: FunctionSpec) -> str:
    """Physical function name, e.g. ``hybrid-orch-dev-campaign``."""
    return config.name(spec.name)


def base_environment(config: StackConfig) -> dict[str, str]:
    """The environment every function gets: ``shared.config.settings.Settings`` field names in upper case.

    Only names and plain settings: provider keys stay in Secrets Manager, read at run time.
    """
    env = {
        "STAGE": config.stage,
        "RESOURCE_PREFIX": config.resource_prefix,
        "WORKFLOWS_TABLE_NAME": config.name(TABLE_SUFFIXES["workflows"]),
        "COST_TABLE_NAME": config.name(TABLE_SUFFIXES["costs"]),
        "CIRCUIT_TABLE_NAME": config.name(TABLE_SUFFIXES["circuits"]),
        "IDEMPOTENCY_TABLE_NAME": config.name(TABLE_SUFFIXES["idempotency"]),
        "CREATOR_ACCOUNTS_TABLE_NAME": config.name(TABLE_SUFFIXES["creator_accounts"]),
        "WORKFLOWS_QUEUE_NAME": config.name(QUEUE_SUFFIXES["workflows"]),
        "MESSAGES_QUEUE_NAME": config.name(QUEUE_SUFFIXES["messages"]),
        "COST_ALERT_TOPIC_NAME": config.name(TOPIC_SUFFIX),
        "DEPLOYMENT_ACCOUNT_ID": Aws.ACCOUNT_ID,  # owners' alert topics must be in this account
        "OPENAI_API_KEY_SECRET_NAME": config.name(SECRET_SUFFIXES["openai"]),
        "AZURE_OPENAI_API_KEY_SECRET_NAME": config.name(SECRET_SUFFIXES["azure"]),
        "GATEWAY_API_KEY_SECRET_NAME": config.name(SECRET_SUFFIXES["gateway"]),
        "GATEWAY_URL": config.sending_gateway_url,
        "PUBLIC_BASE_URL": config.public_base_url,  # no SLACK_WEBHOOK_LOCAL_BASE: deployed, Slack's host only
        "MESSAGES_MAX_RECEIVE_COUNT": str(c.MESSAGES_MAX_RECEIVE_COUNT),
        "ROUTING_OVERRIDES_CACHE_S": c.ROUTING_OVERRIDES_CACHE_S_WITHOUT_REDIS,
        "AZURE_OPENAI_ENDPOINT": config.azure_openai_endpoint,
        "DAILY_COST_THRESHOLD_USD": str(config.daily_cost_threshold_usd),
        "MONTHLY_COST_THRESHOLD_USD": str(config.monthly_cost_threshold_usd),
        "APPCONFIG_APPLICATION": flag_application_name(config),
        "APPCONFIG_ENVIRONMENT": config.stage,
        "APPCONFIG_PROFILE": FLAG_PROFILE_NAME,
        "POWERTOOLS_SERVICE_NAME": c.POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": c.POWERTOOLS_METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": c.POWERTOOLS_LOG_LEVEL,
    }
    return env


class OrchestratorFunctions(Construct):
    """Builds the functions; ``entrypoints`` is what API Gateway must invoke (the live alias under SnapStart)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        data: DataStore,
        messaging: Messaging,
        secrets: ProviderSecrets,
        layers: Layers,
        network: SendingNetwork,
        flags: FeatureFlagConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layers = layers
        self._network = network
        self._queues = messaging.queues
        self._failure_queues = messaging.failure_queues
        self._tables = data.tables
        self._grants = self._build_grant_table(data, messaging, secrets, flags)
        self._grants["owner_alert_topics"] = self._owner_alert_topics_grant()
        # Every function gets it, like the resource names: one environment, and the campaign paths publish.
        self._topic_environment = {"COST_ALERT_TOPIC_ARN": messaging.alert_topic.topic_arn}
        self.functions: dict[str, lambda_.Function] = {}
        self.entrypoints: dict[str, lambda_.IFunction] = {}
        for spec in FUNCTIONS.values():
            function = self._build_function(spec)
            self._grant(function, spec)
            self.functions[spec.name] = function
            self.entrypoints[spec.name] = self._build_entrypoint(function, spec)
            self._build_event_source(self.entrypoints[spec.name], spec)

    def _build_function(self, spec: FunctionSpec) -> lambda_.Function:
        construct_id = pascal_case(spec.name)
        name = function_name(self._config, spec)
        log_group = logs.LogGroup(
            self,
            f"{construct_id}LogGroup",
            log_group_name=f"/aws/lambda/{name}",
            retention=getattr(logs.RetentionDays, c.LOG_RETENTION),
            removal_policy=RemovalPolicy.DESTROY,
        )
        in_vpc = "redis" in spec.uses and self._network.in_vpc
        role = self._build_role(construct_id, log_group, in_vpc, streams=spec.streams is not None)
        function = lambda_.Function(
            self,
            f"{construct_id}Function",
            function_name=name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(c.REPO_ROOT / spec.source_dir), exclude=_CODE_EXCLUDES),
            layers=self._layers.all,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={**base_environment(self._config), **self._topic_environment, **self._redis_environment(spec)},
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if spec.calls_providers else None,
            reserved_concurrent_executions=self._config.reserved_concurrency.get(spec.name),
            role=role,
            **(self._network.placement() if in_vpc else {}),
        )
        acknowledge(
            function,
            "L1",
            f"Python {c.PYTHON_VERSION} on purpose: the layers' wheels are resolved for it and SnapStart supports "
            "it; moving to a newer runtime is a deliberate change (constants.PYTHON_VERSION + RUNTIME).",
        )
        return function

    def _redis_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """REDIS_URL and its client mode, for the functions that use Redis only.

        A created cache's endpoint is a deploy-time value.
        """
        if "redis" not in spec.uses:
            return {}
        return {"REDIS_URL": self._network.redis_url, "REDIS_CLUSTER_MODE": self._network.cluster_mode}

    def _build_event_source(self, entrypoint: lambda_.IFunction, spec: FunctionSpec) -> None:
        """Drain the spec's queue: partial batch responses, bounded concurrency (what throttles the gateway);
        or consume its table's stream (:meth:`_build_stream_source`)."""
        if spec.streams is not None:
            self._build_stream_source(entrypoint, spec)
        if spec.consumes is None:
            return
        entrypoint.add_event_source(
            event_sources.SqsEventSource(
                self._queues[spec.consumes.queue],
                batch_size=spec.consumes.batch_size,
                max_concurrency=spec.consumes.max_concurrency,
                report_batch_item_failures=True,
            )
        )

    def _build_stream_source(self, entrypoint: lambda_.IFunction, spec: FunctionSpec) -> None:
        """The stream mapping of ``spec.streams``: filtered to inserted cost events, batched, partial batch
        responses, bisect on error, bounded retries and record age, an on-failure queue, and one batch per shard
        at a time (parallelization factor 1, which the aggregator's exactly-once marks rely on)."""
        source = spec.streams
        assert source is not None and source.parallelization_factor == 1
        table = self._tables[source.table]
        pattern = source.filter_pattern
        entrypoint.add_event_source(
            event_sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=source.batch_size,
                max_batching_window=Duration.seconds(source.max_batching_window_s),
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=source.retry_attempts,
                max_record_age=Duration.seconds(source.max_record_age_s),
                parallelization_factor=source.parallelization_factor,
                on_failure=event_sources.SqsDlq(self._failure_queues[source.on_failure_queue]),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal(pattern["eventName"][0]),
                            "dynamodb": {
                                "NewImage": {"pk": {"S": lambda_.FilterRule.begins_with(source.event_prefix)}}
                            },
                        }
                    )
                ],
            )
        )

    def _build_role(self, construct_id: str, log_group: logs.LogGroup, in_vpc: bool, streams: bool) -> iam.Role:
        """An execution role that may write to its own log group only (instead of AWSLambdaBasicExecutionRole),
        plus, in a VPC, the network-interface actions of AWSLambdaVPCAccessExecutionRole, inline."""
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {construct_id} function",
        )
        log_group.grant_write(role)
        reason = (
            "Only the statement CDK adds for active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
            "support no resource-level permissions, so their resource must be '*'."
        )
        if in_vpc:
            role.add_to_policy(iam.PolicyStatement(actions=list(c.VPC_ENI_ACTIONS), resources=["*"]))
            reason += (
                " And the network-interface actions Lambda needs to run in a VPC (those of the AWS-managed "
                "AWSLambdaVPCAccessExecutionRole): Lambda checks them against '*' when it creates the function."
            )
        if streams:
            reason += (
                " And dynamodb:ListStreams, which the DynamoDB event source adds for a stream consumer: the action "
                "has no resource-level permissions (it lists stream ARNs, no data)."
            )
        acknowledge(role, "IAM5[Resource::*]", reason + " Tests assert no other statement uses '*'.")
        return role

    def _build_entrypoint(self, function: lambda_.Function, spec: FunctionSpec) -> lambda_.IFunction:
        # SnapStart snapshots published versions only: invoking $LATEST would cold-start as usual.
        if not spec.calls_providers:
            return function
        return lambda_.Alias(
            self,
            f"{pascal_case(spec.name)}LiveAlias",
            alias_name=c.LIVE_ALIAS_NAME,
            version=function.current_version,
        )

    def _owner_alert_topics_grant(self) -> Callable[[iam.IGrantable], object]:
        """sns:Publish on ``<prefix>-<stage>-alerts-*`` in this account and region: the owners' own alert topics,
        and nothing else.

        Each owner may use exactly one of them (``…-alerts-<owner id>-<hash of it>``, checked by the API and
        derived again when sending), but which one is runtime data IAM cannot see, so this pattern stays the
        narrowest grant: tightening it to the name's shape (``…-alerts-*-????????????????``) would rule out
        no topic the code could ever publish to."""
        topics = Stack.of(self).format_arn(
            service="sns",
            resource=self._config.name(f"{OWNER_ALERT_TOPIC_INFIX}*"),
            arn_format=ArnFormat.NO_RESOURCE_NAME,
        )

        def grant(grantee: iam.IGrantable) -> object:
            grant = iam.Grant.add_to_principal(grantee=grantee, actions=["sns:Publish"], resource_arns=[topics])
            acknowledge(
                grantee.grant_principal,  # type: ignore[arg-type]  # the function's role, a construct
                f"IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:"
                f"{self._config.name(OWNER_ALERT_TOPIC_INFIX)}*]",
                "Owners create their own alert topics after deploy; the wildcard is bounded to this deployment's "
                "name prefix in this account and region, and the code publishes only to the one topic named after "
                "each rule's owner.",
            )
            return grant

        return grant

    @staticmethod
    def _build_grant_table(
        data: DataStore, messaging: Messaging, secrets: ProviderSecrets, flags: FeatureFlagConfig
    ) -> dict[str, Callable[[iam.IGrantable], object]]:
        """Grant by ``uses`` key; a ``:read`` suffix grants reading only (what a health check needs)."""
        grants: dict[str, Callable[[iam.IGrantable], object]] = {}
        for key, table in data.tables.items():
            grants[key] = table.grant_read_write_data
            grants[f"{key}:read"] = table.grant_read_data
        grants["costs_table:record"] = _prefix_writer(data.costs_table, RECORDING_WRITE_PREFIXES)
        grants["costs_table:aggregate"] = _prefix_writer(data.costs_table, AGGREGATOR_WRITE_PREFIXES)
        grants["costs_table:statements"] = _prefix_writer(data.costs_table, STATEMENT_WRITE_PREFIXES)
        grants["costs_table:outcomes"] = _prefix_writer(data.costs_table, OUTCOME_WRITE_PREFIXES)
        grants["costs_table:experiments"] = _prefix_writer(data.costs_table, EXPERIMENT_WRITE_PREFIXES)
        grants["costs_table:thresholds"] = _prefix_writer(data.costs_table, THRESHOLD_WRITE_PREFIXES)
        grants["costs_table:optimization"] = _prefix_writer(data.costs_table, OPTIMIZATION_WRITE_PREFIXES)
        for key, queue in messaging.queues.items():
            grants[key] = queue.grant_send_messages
            grants[f"{key}:read"] = _queue_reader(queue)
        grants["alert_topic"] = messaging.alert_topic.grant_publish
        grants["provider_secrets"] = lambda grantee: [secret.grant_read(grantee) for secret in secrets.all]
        grants["gateway_secret"] = secrets.gateway_key.grant_read
        grants["feature_flags"] = flags.grant_read
        grants["redis"] = lambda grantee: None  # network access only; nothing to grant in IAM
        return grants

    def _grant(self, function: lambda_.Function, spec: FunctionSpec) -> None:
        unknown = sorted(set(spec.uses) - set(self._grants))
        if unknown:
            raise ValueError(f"function {spec.name!r} uses unknown resources: {', '.join(unknown)}")
        for key in spec.uses:
            self._grants[key](function)


def _prefix_writer(table: dynamodb.Table, prefixes: tuple[str, ...]) -> Callable[[iam.IGrantable], object]:
    """Read the costs table; write only items whose partition key starts with one of ``prefixes`` (what
    recording a billed call writes, ``RECORDING_WRITE_PREFIXES``; what the aggregator writes, its own list).

    ``ForAllValues`` checks every partition key a request names (each item of a batch or a transaction);
    the ``Null`` condition refuses a request naming none, which ``ForAllValues`` alone would let through.
    """

    def grant(grantee: iam.IGrantable) -> object:
        table.grant_read_data(grantee)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(c.DYNAMODB_ITEM_WRITE_ACTIONS),
            resource_arns=[table.table_arn],
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{p}*" for p in prefixes]},
                "Null": {"dynamodb:LeadingKeys": "false"},
            },
        )

    return grant


def _queue_reader(queue: sqs.IQueue) -> Callable[[iam.IGrantable], object]:
    """Look up the queue and read its attributes, without sending or receiving."""
    return lambda grantee: queue.grant(grantee, "sqs:GetQueueUrl", "sqs:GetQueueAttributes")
