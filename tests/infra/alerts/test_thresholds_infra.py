"""Thresholds and alert rules in the template: their routes behind the authorizer, their grants, and the
one owner-topic pattern the cost-recording functions may publish to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.route_table import FUNCTIONS, GENERATION_USES
from tests.support.infra import PREFIX_STAGE, Synth, _statements, actions_on, named

OWNER_TOPICS = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":sns:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            f":{PREFIX_STAGE}-alerts-*",
        ],
    ]
}


def _publish_resources(statements: list[dict[str, Any]]) -> list[Any]:
    return [
        statement["Resource"]
        for statement in statements
        if "sns:Publish" in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    ]


@pytest.mark.parametrize(
    ("method", "path", "function"),
    [
        ("GET", "/api/v2/costs/thresholds", "cost_thresholds"),
        ("POST", "/api/v2/costs/thresholds", "cost_thresholds"),
        ("GET", "/api/v2/costs/alerts", "cost_alerts"),
        ("POST", "/api/v2/costs/alerts", "cost_alerts"),
        ("PUT", "/api/v2/costs/alerts", "cost_alerts"),
    ],
)
def test_threshold_and_alert_routes_exist_behind_the_jwt_authorizer(
    synth: Synth, method: str, path: str, function: str
) -> None:
    (route,) = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == f"{method} {path}"
    ]
    assert route["AuthorizationType"] == "JWT" and "AuthorizerId" in route
    assert function in FUNCTIONS


def test_the_aggregator_may_publish_to_owner_alert_topics_of_this_deployment_only(synth: Synth) -> None:
    """Alerts are sent where the totals change: the stream's aggregator, not the campaign functions."""
    assert "owner_alert_topics" not in GENERATION_USES and "alert_topic" not in GENERATION_USES
    topic_id, _ = named(synth, "AWS::SNS::Topic", "TopicName", f"{PREFIX_STAGE}-cost-alerts")
    resources = _publish_resources(_statements(synth, "cost_aggregator"))
    assert sorted(map(json.dumps, resources)) == sorted(map(json.dumps, [{"Ref": topic_id}, OWNER_TOPICS]))


def test_no_other_function_may_publish_to_owner_topics(synth: Synth) -> None:
    for name in FUNCTIONS:
        if name == "cost_aggregator":
            continue
        assert OWNER_TOPICS not in _publish_resources(_statements(synth, name)), name


def test_threshold_routes_write_the_costs_table_and_only_read_workflows(synth: Synth) -> None:
    costs_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    workflows_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-workflows")
    thresholds = _statements(synth, "cost_thresholds")
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"} <= actions_on(
        thresholds, costs_id
    )
    on_workflows = actions_on(thresholds, workflows_id)
    assert "dynamodb:GetItem" in on_workflows
    assert not {a for a in on_workflows if a.split(":")[1].startswith(("Put", "Update", "Delete", "BatchWrite"))}
    alerts = _statements(synth, "cost_alerts")
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"} <= actions_on(alerts, costs_id)
    assert actions_on(alerts, workflows_id) == set()
    assert _publish_resources(thresholds) == _publish_resources(alerts) == []


def test_functions_know_the_deployment_account_for_owner_topic_checks(synth: Synth) -> None:
    for fn in synth.of_type("AWS::Lambda::Function").values():
        assert fn["Properties"]["Environment"]["Variables"]["DEPLOYMENT_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
