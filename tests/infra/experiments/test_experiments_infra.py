"""Experiments infrastructure: their routes behind the JWT authorizer with the admin scope, on one function
that may read and write the costs table (experiments, the routing overrides, variant counters) and nothing else."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import PREFIX_STAGE, Synth, _function, _statements, actions_on, named

ROUTE_KEYS = (
    "POST /api/v2/experiments",
    "GET /api/v2/experiments",
    "GET /api/v2/experiments/{experimentId}",
    "POST /api/v2/experiments/{experimentId}/stop",
    "POST /api/v2/experiments/{experimentId}/promote",
    "POST /api/v2/costs/optimization/recommendations/{recommendationId}/experiment",
)


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_experiment_routes_are_admin_scoped_and_served_by_the_experiments_function(
    synth: Synth, route_key: str
) -> None:
    (route,) = [
        r for r in synth.of_type("AWS::ApiGatewayV2::Route").values() if r["Properties"]["RouteKey"] == route_key
    ]
    assert route["Properties"]["AuthorizationType"] == "JWT"
    assert route["Properties"]["AuthorizationScopes"] == ["admin"]
    integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    uri = synth.resources[integration_id]["Properties"]["IntegrationUri"]
    function_id, _ = _function(synth, "experiments")
    assert uri == {"Fn::GetAtt": [function_id, "Arn"]}


def test_the_experiments_function_touches_the_costs_table_only(synth: Synth) -> None:
    statements = _statements(synth, "experiments")
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    # TransactWriteItems (the overrides' current item, the record, an audit item) is authorized per item.
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions_on(
        statements, table_id
    )
    touched = {json.dumps(s["Resource"]) for s in statements if "xray" not in json.dumps(s["Action"])}
    assert all(table_id in resource or "LogGroup" in resource for resource in touched)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.startswith(("secretsmanager:", "sns:", "sqs:", "kms:")) for a in actions)
