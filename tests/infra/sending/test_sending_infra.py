"""Sending infrastructure: queue consumers, visibility timeouts, DLQ alarms, and the three Redis set-ups.

The session synth (``redisUrl`` alone) has no VPC; two more synths here cover a created VPC with
ElastiCache Serverless for Valkey, and an imported VPC with an existing Redis.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks import constants as c
from stacks.app_builder import build_app
from stacks.config import StackConfig
from stacks.route_table import FUNCTIONS, consumer_of
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth, actions_on

SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
REDIS_SG = "sg-0a1b2c3d4e5f6000a"
IMPORTED = {
    "vpcId": "vpc-0a1b2c3d4e5f60000",
    "vpcSubnetIds": SUBNETS,
    "vpcAvailabilityZones": ["us-east-1a", "us-east-1b"],
    "vpcRouteTableIds": ["rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002"],
    "redisSecurityGroupId": REDIS_SG,
    "redisUrl": "rediss://cache.internal:6379/0",
    "redisClusterMode": "cluster",  # an existing cluster-mode ElastiCache with several shards
}
QUEUES = {"messages_queue": "rate-limited-messages", "workflows_queue": "workflows"}


def synth_with(tmp_path_factory: pytest.TempPathFactory, **context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    _app, stack = build_app({**TEST_CONTEXT, **context}, outdir=str(outdir))
    resources = Template.from_stack(stack).to_json()["Resources"]
    return resources, json.loads((outdir / "validation-report.json").read_text())


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    return synth_with(tmp_path_factory, redisUrl="")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    return synth_with(tmp_path_factory, **IMPORTED)


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def function(resources: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in of_type(resources, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == f"{PREFIX_STAGE}-{name}"
    ]
    return found


def queue_id(resources: dict[str, Any], suffix: str) -> str:
    (found,) = [
        k
        for k, v in of_type(resources, "AWS::SQS::Queue").items()
        if v["Properties"]["QueueName"] == f"{PREFIX_STAGE}-{suffix}"
    ]
    return found


def unacknowledged(report: dict[str, Any]) -> list[str]:
    return [v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]]


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_each_queue_is_drained_by_its_consumer_with_partial_batch_responses(synth: Synth, queue: str) -> None:
    spec = consumer_of(queue)
    assert spec is not None and spec.consumes is not None
    mappings = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id(synth.resources, QUEUES[queue]), "Arn"]}
    ]
    (mapping,) = mappings
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == spec.consumes.batch_size
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": spec.consumes.max_concurrency}
    function_id, _ = function(synth.resources, spec.name)
    target = json.dumps(mapping["FunctionName"])
    if spec.calls_providers:  # SnapStart: the mapping invokes the live alias, like API Gateway does
        assert "LiveAlias" in target and ":live" in target
    else:
        assert mapping["FunctionName"] == {"Ref": function_id}


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_visibility_timeout_is_six_times_the_consumer_timeout(synth: Synth, queue: str) -> None:
    spec = consumer_of(queue)
    props = synth.resources[queue_id(synth.resources, QUEUES[queue])]["Properties"]
    assert props["VisibilityTimeout"] == 6 * spec.timeout_s


def test_a_message_that_fails_three_receives_is_dead_lettered(synth: Synth) -> None:
    props = synth.resources[queue_id(synth.resources, "rate-limited-messages")]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == c.MESSAGES_MAX_RECEIVE_COUNT == 3
    environment = function(synth.resources, "message_sender")[1]["Environment"]["Variables"]
    assert environment["MESSAGES_MAX_RECEIVE_COUNT"] == "3"  # the drainer counts the last receive failed


def test_every_dlq_has_a_depth_alarm(synth: Synth) -> None:
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    watched = {
        dim["Value"]["Fn::GetAtt"][0]
        for alarm in alarms
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dim in alarm["Properties"]["Dimensions"]
    }
    dlqs = {queue_id(synth.resources, f"{suffix}-dlq") for suffix in (*QUEUES.values(), "cost-stream")}
    assert watched == dlqs
    for alarm in alarms:
        props = alarm["Properties"]
        if props.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_drainer_reads_only_the_gateway_key_and_the_campaign_paths_read_only_provider_keys(synth: Synth) -> None:
    secrets = {k: v["Properties"]["Name"] for k, v in synth.of_type("AWS::SecretsManager::Secret").items()}
    assert f"{PREFIX_STAGE}-sending-gateway-key" in secrets.values()
    for name in ("message_sender", "campaign", "workflow_runner"):
        role = function(synth.resources, name)[1]["Role"]["Fn::GetAtt"][0]
        read = {
            secrets[resource["Ref"]]
            for policy in synth.of_type("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "secretsmanager:GetSecretValue" in statement["Action"]
            for resource in (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
        }
        wanted = {"sending-gateway-key"} if name == "message_sender" else {"openai-api-key", "azure-openai-api-key"}
        assert read == {f"{PREFIX_STAGE}-{suffix}" for suffix in wanted}, name


def test_without_a_private_redis_nothing_runs_in_a_vpc(synth: Synth) -> None:
    assert not synth.of_type("AWS::EC2::VPC") and not synth.of_type("AWS::ElastiCache::ServerlessCache")
    for name in FUNCTIONS:
        props = function(synth.resources, name)[1]
        assert "VpcConfig" not in props
        assert ("REDIS_URL" in props["Environment"]["Variables"]) == ("redis" in FUNCTIONS[name].uses)


def test_created_network_has_isolated_subnets_no_nat_and_a_valkey_serverless_cache(created) -> None:
    resources, report = created
    assert unacknowledged(report) == []
    (vpc,) = of_type(resources, "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == c.VPC_CIDR
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert not of_type(resources, kind), kind
    subnets = of_type(resources, "AWS::EC2::Subnet").values()
    assert len(subnets) == c.VPC_AZ_COUNT
    assert all(not s["Properties"].get("MapPublicIpOnLaunch") for s in subnets)
    for route in of_type(resources, "AWS::EC2::Route").values():  # no route out of the VPC
        assert "GatewayId" not in route["Properties"] and "NatGatewayId" not in route["Properties"]
    (cache,) = of_type(resources, "AWS::ElastiCache::ServerlessCache").values()
    props = cache["Properties"]
    assert props["Engine"] == "valkey" and props["ServerlessCacheName"] == f"{PREFIX_STAGE}-limiter"
    assert props["CacheUsageLimits"]["DataStorage"] == {"Maximum": c.VALKEY_MAX_DATA_GB, "Unit": "GB"}
    assert of_type(resources, "AWS::EC2::FlowLog")


def test_created_network_endpoints_are_what_the_drainer_needs(created) -> None:
    resources, _ = created
    endpoints = [e["Properties"] for e in of_type(resources, "AWS::EC2::VPCEndpoint").values()]
    services = sorted(
        (json.dumps(e["ServiceName"]).split(".")[-1].strip('"]}'), e.get("VpcEndpointType", "Gateway"))
        for e in endpoints
    )
    assert services == [("dynamodb", "Gateway"), ("secretsmanager", "Interface"), ("sqs", "Interface")]
    assert all(e["PrivateDnsEnabled"] for e in endpoints if e.get("VpcEndpointType") == "Interface")


def test_only_redis_users_join_the_vpc_and_provider_callers_stay_out(created) -> None:
    resources, _ = created
    (cache_id,) = of_type(resources, "AWS::ElastiCache::ServerlessCache")
    for name, spec in FUNCTIONS.items():
        props = function(resources, name)[1]
        in_vpc = "redis" in spec.uses
        assert ("VpcConfig" in props) == in_vpc, name
        if spec.calls_providers:
            assert not in_vpc, name
        if in_vpc:
            url = json.dumps(props["Environment"]["Variables"]["REDIS_URL"])
            assert "rediss://" in url and cache_id in url
            role = props["Role"]["Fn::GetAtt"][0]
            actions = {
                a
                for p in of_type(resources, "AWS::IAM::Policy").values()
                if {"Ref": role} in p["Properties"]["Roles"]
                for s in p["Properties"]["PolicyDocument"]["Statement"]
                for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            }
            assert set(c.VPC_ENI_ACTIONS) <= actions
    message_sender = function(resources, "message_sender")[1]
    assert message_sender["VpcConfig"]["SubnetIds"]


def test_imported_redis_and_vpc_are_used_not_created(imported) -> None:
    resources, report = imported
    assert unacknowledged(report) == []
    assert not of_type(resources, "AWS::EC2::VPC") and not of_type(resources, "AWS::ElastiCache::ServerlessCache")
    (ingress,) = [
        i["Properties"]
        for i in of_type(resources, "AWS::EC2::SecurityGroupIngress").values()
        if i["Properties"]["GroupId"] == REDIS_SG
    ]
    assert (ingress["FromPort"], ingress["ToPort"]) == (6379, 6379)
    props = function(resources, "message_sender")[1]
    assert sorted(props["VpcConfig"]["SubnetIds"]) == SUBNETS
    assert props["Environment"]["Variables"]["REDIS_URL"] == IMPORTED["redisUrl"]
    assert len(of_type(resources, "AWS::EC2::VPCEndpoint")) == 3


@pytest.mark.parametrize(
    "context",
    [
        {"vpcId": "vpc-1"},
        {**IMPORTED, "redisSecurityGroupId": ""},
        {**IMPORTED, "vpcSubnetIds": [*SUBNETS, "subnet-0a1b2c3d4e5f60003"]},
        {**IMPORTED, "vpcId": "my-vpc"},
        {**IMPORTED, "vpcRouteTableIds": []},
        {**IMPORTED, "redisClusterMode": "sharded"},
    ],
)
def test_an_incomplete_imported_network_fails_the_synth(context) -> None:
    with pytest.raises(ValueError):
        StackConfig.from_context({**TEST_CONTEXT, **context})


def test_no_vpc_endpoints_when_the_imported_vpc_has_them(tmp_path_factory) -> None:
    resources, _ = synth_with(tmp_path_factory, **IMPORTED, createVpcEndpoints="false")
    assert not of_type(resources, "AWS::EC2::VPCEndpoint")


def redis_modes(resources: dict[str, Any]) -> dict[str, str | None]:
    """REDIS_CLUSTER_MODE of every function that has a REDIS_URL."""
    found = {}
    for name in FUNCTIONS:
        variables = function(resources, name)[1]["Environment"]["Variables"]
        if "REDIS_URL" in variables:
            found[name] = variables.get("REDIS_CLUSTER_MODE")
    return found


def test_the_redis_client_mode_reaches_every_redis_user(synth: Synth, created, imported) -> None:
    users = {name for name, spec in FUNCTIONS.items() if "redis" in spec.uses}
    # ElastiCache Serverless is cluster mode only: the functions use the cluster client without asking.
    assert redis_modes(created[0]) == dict.fromkeys(users, "cluster")
    # An imported Redis: what the context says (here a cluster), else "auto" (the client asks the server).
    assert redis_modes(imported[0]) == dict.fromkeys(users, "cluster")
    assert redis_modes(synth.resources) == dict.fromkeys(users, "auto")


@pytest.mark.parametrize("setup", ["session", "created"])
def test_the_sender_keeps_its_once_guard_in_redis_not_in_the_idempotency_table(synth: Synth, created, setup) -> None:
    """The drainer's role has no action on the idempotency table and it has Redis's address; the workflow runner,
    whose guard stays in DynamoDB, keeps its access."""
    resources = synth.resources if setup == "session" else created[0]
    (table_id,) = [
        k
        for k, v in of_type(resources, "AWS::DynamoDB::Table").items()
        if v["Properties"]["TableName"] == f"{PREFIX_STAGE}-idempotency"
    ]

    def actions_on_table(name: str) -> set[str]:
        role = function(resources, name)[1]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in of_type(resources, "AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        return actions_on(statements, table_id)

    assert actions_on_table("message_sender") == set()
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= actions_on_table("workflow_runner")
    environment = function(resources, "message_sender")[1]["Environment"]["Variables"]
    if setup == "session":
        assert environment["REDIS_URL"] == TEST_CONTEXT["redisUrl"] and environment["REDIS_CLUSTER_MODE"] == "auto"
    else:  # the created Serverless cache: TLS, cluster mode only
        assert "rediss://" in json.dumps(environment["REDIS_URL"]) and environment["REDIS_CLUSTER_MODE"] == "cluster"
