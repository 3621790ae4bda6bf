"""Cost optimization infrastructure: its three routes behind the JWT authorizer on one function, which may
read and write the costs table and nothing else; the campaign paths may read the routing overrides."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import PREFIX_STAGE, Synth, _function, _statements, actions_on, named

ROUTE_KEYS = (
    "GET /api/v2/costs/optimization",
    "POST /api/v2/costs/optimization/apply",
    "GET /api/v2/costs/optimize",
)


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_optimization_routes_are_behind_the_jwt_authorizer_and_served_by_cost_optimization(
    synth: Synth, route_key: str
) -> None:
    (route,) = [
        r for r in synth.of_type("AWS::ApiGatewayV2::Route").values() if r["Properties"]["RouteKey"] == route_key
    ]
    assert route["Properties"]["AuthorizationType"] == "JWT"
    integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    uri = synth.resources[integration_id]["Properties"]["IntegrationUri"]
    function_id, _ = _function(synth, "cost_optimization")
    assert uri == {"Fn::GetAtt": [function_id, "Arn"]}


def test_cost_optimization_reads_and_writes_the_costs_table_and_touches_nothing_else(synth: Synth) -> None:
    statements = _statements(synth, "cost_optimization")
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    on_table = actions_on(statements, table_id)
    # TransactWriteItems (an override and its audit item) is authorized as PutItem on the table.
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= on_table
    touched = {json.dumps(s["Resource"]) for s in statements if "xray" not in json.dumps(s["Action"])}
    assert all(table_id in resource or "LogGroup" in resource for resource in touched)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.startswith(("secretsmanager:", "sns:", "sqs:", "kms:")) for a in actions)


@pytest.mark.parametrize("function", ["campaign", "workflow_runner"])
def test_campaign_paths_may_read_the_routing_overrides(synth: Synth, function: str) -> None:
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    assert "dynamodb:GetItem" in actions_on(_statements(synth, function), table_id)
