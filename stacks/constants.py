"""Every number and fixed string the CDK stacks use, in one place so a reviewer finds them at once."""

from __future__ import annotations

from pathlib import Path

# Repository layout: assets are resolved from here so synth works from any working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"
REQUIREMENTS_FILE = REPO_ROOT / "requirements.txt"
SHARED_PACKAGE_DIR = REPO_ROOT / "shared"
BUILD_DIR = REPO_ROOT / ".build" / "layers"

# Stages whose data may be thrown away with the stack; every other stage retains it.
EPHEMERAL_STAGES = frozenset({"local", "dev"})

# Lambda runtime, shared by every function and both layers.
PYTHON_VERSION = "3.12"
LAYER_PLATFORM = "manylinux2014_x86_64"
LAYER_IMPLEMENTATION = "cp"
# Already in the Lambda Python runtime: shipping them again only adds megabytes and cold start.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath")
# The boto3/botocore version the python3.12 runtime ships: the last one AWS's "Runtime-included SDK
# versions" table listed for it (the page now says it varies by region and runtime release). The
# artifact tier and the bench import the deployed code against exactly this (layers/runtime.py).
LAMBDA_RUNTIME_BOTO3_VERSION = "1.34.145"
LOG_RETENTION = "ONE_MONTH"  # a name of aws_logs.RetentionDays
# Deployed, the functions that route (campaign, workflow_runner) call providers and so run outside Redis's VPC:
# they cannot check the overrides' version in Redis, so they trust the routing overrides they read for this long
# (ROUTING_OVERRIDES_CACHE_S): one GetItem per container and second instead of one per call; an applied change is
# in effect everywhere within it, which the apply answer's effectiveWithinS says (every function gets the value).
ROUTING_OVERRIDES_CACHE_S_WITHOUT_REDIS = "1"

# Powertools configuration every function receives.
POWERTOOLS_SERVICE_NAME = "hybrid-orchestrator"
POWERTOOLS_METRICS_NAMESPACE = "HybridOrchestrator"
POWERTOOLS_LOG_LEVEL = "INFO"

# SnapStart applies to published versions only; API Gateway invokes this alias of them.
LIVE_ALIAS_NAME = "live"

# SQS. AWS guidance: visibility timeout at least 6x the consumer Lambda's timeout; a queue without a
# consumer function keeps QUEUE_VISIBILITY_TIMEOUT_S.
QUEUE_VISIBILITY_TIMEOUT_S = 180
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_MAX_RECEIVE_COUNT = 5
# The rate-limited queue: a send that failed on 3 receives goes to the DLQ (and counts as failed).
MESSAGES_MAX_RECEIVE_COUNT = 3
# DLQ depth alarm: any message in a DLQ, averaged over this period.
DLQ_ALARM_PERIOD_MINUTES = 5
QUEUE_RETENTION_DAYS = 4
DLQ_RETENTION_DAYS = 14
DLQ_SUFFIX = "-dlq"
# The costs table's stream mapping sends what exhausted its retries here (a queue of its own, no consumer).
COST_STREAM_DLQ_SUFFIX = "cost-stream-dlq"

# SNS: server-side encryption under the AWS-managed key.
SNS_MANAGED_KEY_ALIAS = "alias/aws/sns"

# API Gateway default stage throttling (requests per second, and burst).
API_THROTTLE_RATE_LIMIT = 50
API_THROTTLE_BURST_LIMIT = 100
# Per-route throttles on that stage, (rate per second, burst) by route key; context ``routeThrottles``
# overrides them one route at a time. The token-free routes need a few requests a second (uptime probes,
# a docs page) and get no more, so nobody can spend the stage's budget, or the health check's dependency
# calls, without a token; the campaign route, where each request is provider calls and money, has its own
# budget, sized to the campaign function's reserved concurrency (20/s at ~2.5 s a request is 50 running).
# Every other route keeps the stage default.
DEFAULT_ROUTE_THROTTLES: dict[str, tuple[float, int]] = {
    "GET /api/health/hybrid-orchestrator": (5, 10),
    "GET /api/openapi.json": (5, 10),
    "GET /api/docs": (5, 10),
    "GET /dashboard": (5, 10),
    "GET /dashboard/{asset}": (10, 20),
    "POST /api/v2/campaigns/hybrid": (20, 40),
}
# Lambda reserved concurrency of the campaign function (context ``campaignReservedConcurrency``, "none" for
# no reservation, e.g. in an account whose concurrency quota is still the default 10): campaigns cannot
# starve the other functions of the account's concurrency, nor scale past what this bounds.
DEFAULT_CAMPAIGN_RESERVED_CONCURRENCY = 50
API_NAME_SUFFIX = "api"

# Secrets Manager placeholder values: ops replace them with the real provider keys.
SECRET_PLACEHOLDER_LENGTH = 32

# DynamoDB key schemas (fixed: the runtime code and Powertools rely on them).
WORKFLOWS_PARTITION_KEY = "workflowId"
WORKFLOWS_TTL_ATTRIBUTE = "expiresAt"
COSTS_PARTITION_KEY = "pk"
COSTS_SORT_KEY = "sk"
COSTS_TTL_ATTRIBUTE = "expiresAt"
# Item writes, each also how DynamoDB authorizes the Put/Update/Delete items of a TransactWriteItems: an
# IAM condition on them (dynamodb:LeadingKeys) holds inside transactions too.
DYNAMODB_ITEM_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
CREATOR_ACCOUNTS_PARTITION_KEY = "pk"
CREATOR_ACCOUNTS_SORT_KEY = "sk"
POWERTOOLS_PARTITION_KEY = "id"  # circuit breaker and idempotency layouts
POWERTOOLS_TTL_ATTRIBUTE = "expiration"

# Context keys read from cdk.json (or -c on the command line).
CTX_STAGE = "stage"
CTX_PREFIX = "resourcePrefix"
CTX_JWT_ISSUER = "jwtIssuer"
CTX_JWT_AUDIENCE = "jwtAudience"
CTX_ALERT_EMAILS = "alertEmails"
CTX_DAILY_THRESHOLD = "dailyCostThresholdUsd"
CTX_MONTHLY_THRESHOLD = "monthlyCostThresholdUsd"
CTX_AZURE_ENDPOINT = "azureOpenAiEndpoint"
CTX_REDIS_URL = "redisUrl"
CTX_REDIS_CLUSTER_MODE = "redisClusterMode"  # auto | standalone | cluster, for an imported Redis
CTX_VPC_ID = "vpcId"
CTX_VPC_SUBNET_IDS = "vpcSubnetIds"
CTX_VPC_AZS = "vpcAvailabilityZones"
CTX_VPC_ROUTE_TABLE_IDS = "vpcRouteTableIds"
CTX_REDIS_SECURITY_GROUP = "redisSecurityGroupId"
CTX_CREATE_VPC_ENDPOINTS = "createVpcEndpoints"
CTX_GATEWAY_URL = "sendingGatewayUrl"
CTX_PUBLIC_BASE_URL = "publicBaseUrl"  # https://<api>: alert messages link to its /dashboard
CTX_ROUTE_THROTTLES = "routeThrottles"
CTX_CAMPAIGN_RESERVED_CONCURRENCY = "campaignReservedConcurrency"

# The created network (when no redisUrl is given): isolated subnets only, no NAT gateway.
VPC_CIDR = "10.42.0.0/16"
VPC_AZ_COUNT = 2  # ElastiCache Serverless wants subnets in at least two AZs
VPC_SUBNET_MASK = 24
REDIS_PORT = 6379
REDIS_CLUSTER_MODES = ("auto", "standalone", "cluster")  # shared/config/settings.py redis_cluster_mode
# What a function needs to run in a VPC (the actions of AWSLambdaVPCAccessExecutionRole, granted inline).
VPC_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
VALKEY_MAJOR_VERSION = "8"
# Caps on the serverless cache's bill: the limiter's logs need kilobytes and a few ECPUs per send.
VALKEY_MAX_DATA_GB = 1
VALKEY_MAX_ECPU_S = 5000

# Observability (stacks/observability.py): the ops alarm topic, the dashboard and the alarms.
OPS_TOPIC_SUFFIX = "ops-alarms"
DASHBOARD_SUFFIX = "overview"
# Spend-rate alarm: one hour's spend reaching this share of the daily threshold (a quarter of a day's
# budget in an hour means the day is on pace for four times its threshold).
SPEND_RATE_SHARE_OF_DAILY = 0.25
API_5XX_ALARM_THRESHOLD = 5  # 5xx answers in ALARM_PERIOD_MINUTES
ALARM_PERIOD_MINUTES = 5
# The cost aggregator's lag: its oldest record's age (IteratorAge, maximum) this long means the counters,
# the stats and the alerts trail by that much; records wait in the stream for 24 h, so this fires long before.
STREAM_ITERATOR_AGE_ALARM_S = 300
