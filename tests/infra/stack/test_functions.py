"""Lambda functions: one per FUNCTIONS entry, runtime and sizing, environment, SnapStart, least privilege."""

from __future__ import annotations

import pytest

from stacks import constants as c
from stacks.route_table import FUNCTIONS
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth, _as_list, _function, _statements

EXPECTED_ENVIRONMENT = {
    "STAGE": "test",
    "RESOURCE_PREFIX": "ho-infra",
    "WORKFLOWS_TABLE_NAME": f"{PREFIX_STAGE}-workflows",
    "COST_TABLE_NAME": f"{PREFIX_STAGE}-costs",
    "CIRCUIT_TABLE_NAME": f"{PREFIX_STAGE}-circuit-state",
    "IDEMPOTENCY_TABLE_NAME": f"{PREFIX_STAGE}-idempotency",
    "CREATOR_ACCOUNTS_TABLE_NAME": f"{PREFIX_STAGE}-creator-accounts",
    "WORKFLOWS_QUEUE_NAME": f"{PREFIX_STAGE}-workflows",
    "MESSAGES_QUEUE_NAME": f"{PREFIX_STAGE}-rate-limited-messages",
    "COST_ALERT_TOPIC_NAME": f"{PREFIX_STAGE}-cost-alerts",
    "DEPLOYMENT_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
    "OPENAI_API_KEY_SECRET_NAME": f"{PREFIX_STAGE}-openai-api-key",
    "AZURE_OPENAI_API_KEY_SECRET_NAME": f"{PREFIX_STAGE}-azure-openai-api-key",
    "AZURE_OPENAI_ENDPOINT": TEST_CONTEXT["azureOpenAiEndpoint"],
    "DAILY_COST_THRESHOLD_USD": "12.5",
    "MONTHLY_COST_THRESHOLD_USD": "300",
    "GATEWAY_API_KEY_SECRET_NAME": f"{PREFIX_STAGE}-sending-gateway-key",
    "GATEWAY_URL": "",
    "PUBLIC_BASE_URL": "https://api.example.test",  # and no SLACK_WEBHOOK_LOCAL_BASE: Slack's own host only
    "MESSAGES_MAX_RECEIVE_COUNT": "3",
    "ROUTING_OVERRIDES_CACHE_S": "1",  # the routing functions have no Redis to check the overrides' version in
    "APPCONFIG_APPLICATION": f"{PREFIX_STAGE}-flags",
    "APPCONFIG_ENVIRONMENT": "test",
    "APPCONFIG_PROFILE": "feature-flags",
    "POWERTOOLS_SERVICE_NAME": "hybrid-orchestrator",
    "POWERTOOLS_METRICS_NAMESPACE": "HybridOrchestrator",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
# Grant keys → (the CloudFormation type of the resource, its physical name).
RESOURCES_BY_USE = {
    "workflows_table": f"{PREFIX_STAGE}-workflows",
    "costs_table": f"{PREFIX_STAGE}-costs",
    "circuits_table": f"{PREFIX_STAGE}-circuit-state",
    "idempotency_table": f"{PREFIX_STAGE}-idempotency",
    "creator_accounts_table": f"{PREFIX_STAGE}-creator-accounts",
    "workflows_queue": f"{PREFIX_STAGE}-workflows",
    "messages_queue": f"{PREFIX_STAGE}-rate-limited-messages",
    "alert_topic": f"{PREFIX_STAGE}-cost-alerts",
    "owner_alert_topics": f"{PREFIX_STAGE}-alerts-*",  # a name pattern in this account and region
}


def _physical_names_granted(synth: Synth, function_name: str, service: str) -> set[str]:
    """Names of the resources (tables, queues, topics) the function has ``service:`` actions on."""
    names = {"AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName"}
    granted = set()
    for statement in _statements(synth, function_name):
        if not any(action.startswith(f"{service}:") for action in _as_list(statement["Action"])):
            continue
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                continue  # dynamodb:ListStreams, no resource (test_no_wildcard_actions_and_no_data_actions...)
            if "Fn::Join" in resource:  # an ARN built from a name pattern: its last part ends in the name
                granted.add(resource["Fn::Join"][1][-1].rsplit(":", 1)[-1])
                continue
            logical_id = resource.get("Ref") or resource.get("Fn::GetAtt", [None])[0]
            target = synth.resources[logical_id]
            granted.add(target["Properties"][names[target["Type"]]])
    return granted


def test_one_function_per_spec(synth: Synth) -> None:
    names = sorted(f["Properties"]["FunctionName"] for f in synth.of_type("AWS::Lambda::Function").values())
    assert names == sorted(f"{PREFIX_STAGE}-{name}" for name in FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runtime_sizing_tracing_and_layers(synth: Synth, name: str) -> None:
    spec = FUNCTIONS[name]
    _, function = _function(synth, name)
    props = function["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == spec.handler
    assert props["Handler"] == ("openapi.app.lambda_handler" if spec.ships_all_functions else "app.lambda_handler")
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert props["TracingConfig"] == {"Mode": "Active"}
    layer_ids = [layer["Ref"] for layer in props["Layers"]]
    assert sorted(synth.resources[i]["Properties"]["LayerName"] for i in layer_ids) == [
        f"{PREFIX_STAGE}-deps",
        f"{PREFIX_STAGE}-shared",
    ]
    log_group = synth.resources[props["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{PREFIX_STAGE}-{name}"
    assert log_group["RetentionInDays"] == 30


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_environment_is_the_settings_names_and_no_secrets(synth: Synth, name: str) -> None:
    _, function = _function(synth, name)
    # Redis's URL only where Redis is used (a created cache's endpoint ties the function to it).
    redis = (
        {"REDIS_URL": TEST_CONTEXT["redisUrl"], "REDIS_CLUSTER_MODE": "auto"} if "redis" in FUNCTIONS[name].uses else {}
    )
    (topic_id,) = [k for k, v in synth.of_type("AWS::SNS::Topic").items() if "cost-alerts" in str(v)]
    expected = {**EXPECTED_ENVIRONMENT, **redis, "COST_ALERT_TOPIC_ARN": {"Ref": topic_id}}
    assert function["Properties"]["Environment"]["Variables"] == expected
    assert not any(key in EXPECTED_ENVIRONMENT for key in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"))


def test_snap_start_on_the_provider_calling_function_through_a_live_alias(synth: Synth) -> None:
    for name, spec in FUNCTIONS.items():
        _, function = _function(synth, name)
        if spec.calls_providers:
            assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        else:
            assert "SnapStart" not in function["Properties"]
    aliased = {
        alias["Properties"]["FunctionName"]["Ref"]: alias for alias in synth.of_type("AWS::Lambda::Alias").values()
    }
    expected = {_function(synth, name)[0] for name, spec in FUNCTIONS.items() if spec.calls_providers}
    assert set(aliased) == expected
    for alias in aliased.values():
        assert alias["Properties"]["Name"] == "live"
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert synth.resources[version_id]["Type"] == "AWS::Lambda::Version"
    assert FUNCTIONS["campaign"].calls_providers


def test_no_wildcard_actions_and_no_data_actions_on_any_resource(synth: Synth) -> None:
    for policy_id, policy in synth.of_type("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = _as_list(statement["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in actions), (policy_id, actions)
            if "*" in _as_list(statement["Resource"]):
                # Only X-Ray's trace upload, and a stream consumer's dynamodb:ListStreams (which CDK's event
                # source adds): neither has resource-level permissions, and neither reads or writes data.
                assert sorted(actions) in (
                    ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                    ["dynamodb:ListStreams"],
                ), (policy_id, actions)
                assert not any(a.split(":")[0] in {"sqs", "sns", "secretsmanager"} for a in actions)


def test_roles_use_no_aws_managed_policies(synth: Synth) -> None:
    for role in synth.of_type("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_grants_follow_the_spec_uses_exactly(synth: Synth, name: str) -> None:
    uses = FUNCTIONS[name].uses
    expected = {service: set() for service in ("dynamodb", "sqs", "sns")}
    consumed = FUNCTIONS[name].consumes  # the event source mapping grants receiving from its queue
    streamed = FUNCTIONS[name].streams  # a stream mapping grants reading the stream and sending to its DLQ
    for use in (*uses, *([consumed.queue] if consumed else []), *([streamed.table] if streamed else [])):
        resource = use.split(":")[0]  # "costs_table:read" and "costs_table:record" name the costs table
        if resource in RESOURCES_BY_USE:
            service = "dynamodb" if resource.endswith("_table") else "sqs" if resource.endswith("_queue") else "sns"
            expected[service].add(RESOURCES_BY_USE[resource])
    if streamed:
        expected["sqs"].add(f"{PREFIX_STAGE}-{c.COST_STREAM_DLQ_SUFFIX}")
    for service, names in expected.items():
        assert _physical_names_granted(synth, name, service) == names, service
    secret_statements = [
        s for s in _statements(synth, name) if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))
    ]
    assert bool(secret_statements) == bool({"provider_secrets", "gateway_secret"} & set(uses))


@pytest.mark.parametrize("name", ["status", "health"])
def test_read_only_functions_cannot_write_or_send(synth: Synth, name: str) -> None:
    actions = {a for s in _statements(synth, name) for a in _as_list(s["Action"])}
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert not actions & writes
    assert "sqs:SendMessage" not in actions
    assert "dynamodb:GetItem" in actions


def test_status_function_cannot_read_provider_secrets(synth: Synth) -> None:
    actions = {a for s in _statements(synth, "status") for a in _as_list(s["Action"])}
    assert not any(a.startswith("secretsmanager:") or a.startswith("kms:") for a in actions)
    assert "dynamodb:GetItem" in actions


def test_campaign_function_reads_both_provider_secrets_only(synth: Synth) -> None:
    secret_ids = set(synth.of_type("AWS::SecretsManager::Secret"))
    statements = [
        s for s in _statements(synth, "campaign") if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))
    ]
    gateway = {
        k for k, v in synth.of_type("AWS::SecretsManager::Secret").items() if "gateway" in v["Properties"]["Name"]
    }
    assert {s["Resource"]["Ref"] for s in statements} == secret_ids - gateway
    for statement in statements:
        assert sorted(_as_list(statement["Action"])) == [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ]
