"""Stack-wide promises: names carry prefix and stage, outputs exist, cdk-nag reports nothing unacknowledged."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import StackConfig
from stacks.route_table import FUNCTIONS, ROUTES
from tests.support.infra import PREFIX_STAGE, TEST_CONTEXT, Synth

NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::ApiGatewayV2::Api": "Name",
    "AWS::ApiGatewayV2::Authorizer": "Name",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


def test_stack_name_carries_prefix_and_stage(synth: Synth) -> None:
    assert synth.stack.stack_name == PREFIX_STAGE


def test_every_named_resource_carries_prefix_and_stage(synth: Synth) -> None:
    checked = 0
    for logical_id, resource in synth.resources.items():
        name_property = NAME_PROPERTIES.get(resource["Type"])
        if name_property:
            assert resource["Properties"][name_property].startswith(f"{PREFIX_STAGE}-"), logical_id
            checked += 1
    # tables, queues (two, their DLQs, the cost stream's on-failure queue), topics (cost alerts, ops alarms),
    # secrets, functions, layers, API, authorizer, dashboard, alarms (spend rate, 5xx, unrecorded costs,
    # cost stream lag, three DLQs)
    assert checked == 5 + 5 + 2 + 3 + len(FUNCTIONS) + 2 + 1 + 1 + 1 + 7
    for log_group in synth.of_type("AWS::Logs::LogGroup").values():
        assert f"/{PREFIX_STAGE}-" in log_group["Properties"]["LogGroupName"]


def test_outputs_name_the_api_tables_queues_and_topic(synth: Synth) -> None:
    assert set(synth.outputs) == {
        "ApiUrl",
        "WorkflowsTableName",
        "CostsTableName",
        "CircuitStateTableName",
        "IdempotencyTableName",
        "CreatorAccountsTableName",
        "WorkflowsQueueUrl",
        "WorkflowsDeadLetterQueueUrl",
        "MessagesQueueUrl",
        "MessagesDeadLetterQueueUrl",
        "CostAlertTopicArn",
        "OpsAlarmTopicArn",
        "DashboardName",
    }


def test_cdk_nag_reports_nothing_unacknowledged(validation_report: dict[str, Any]) -> None:
    (report,) = [r for r in validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledgment_says_why(validation_report: dict[str, Any]) -> None:
    (report,) = [r for r in validation_report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    acknowledged = report["suppressedViolations"]
    assert {v["ruleName"] for v in acknowledged} == {
        "AwsSolutions-SMG4",
        "AwsSolutions-L1",
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:{PREFIX_STAGE}-alerts-*]",
        "AwsSolutions-APIG4",
        "AwsSolutions-SQS3",  # the cost stream's on-failure queue is a DLQ cdk-nag does not recognize as one
    }
    for violation in acknowledged:
        assert len(violation["reason"]) > 40, violation["acknowledgedId"]
    apig4 = [v for v in acknowledged if v["ruleName"] == "AwsSolutions-APIG4"]
    public = sorted(
        f"{PREFIX_STAGE}/Api/HttpApi/{r.method}{r.path.replace('/', '--')}/Resource" for r in ROUTES if not r.authorized
    )
    assert sorted(c["constructPath"] for v in apig4 for c in v["violatingConstructs"]) == public
    assert len(public) == 5  # health, the OpenAPI document, Swagger, the dashboard page and its files


def test_config_from_context_parses_lists_and_numbers() -> None:
    config = StackConfig.from_context({**TEST_CONTEXT, "alertEmails": "a@x.io, b@y.io", "jwtAudience": "aud"})
    assert config.alert_emails == ("a@x.io", "b@y.io")
    assert config.jwt_audience == ("aud",)
    assert str(config.daily_cost_threshold_usd) == "12.5"
    assert config.stack_name == PREFIX_STAGE
    assert config.retain_data is True
    assert StackConfig.from_context({**TEST_CONTEXT, "stage": "dev"}).retain_data is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"stage": "Prod!"}, "stage"),
        ({"jwtIssuer": "http://insecure.example"}, "jwtIssuer"),
        ({"jwtAudience": []}, "jwtAudience"),
        ({"alertEmails": ["not-an-address"]}, "alertEmails"),
        ({"dailyCostThresholdUsd": "lots"}, "dailyCostThresholdUsd"),
    ],
)
def test_config_rejects_bad_context(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StackConfig.from_context({**TEST_CONTEXT, **override})
