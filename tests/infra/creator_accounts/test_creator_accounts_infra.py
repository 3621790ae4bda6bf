"""The creator-account registry in the template: its table, its function and routes, and who may touch it."""

from __future__ import annotations

import pytest

from stacks.route_table import FUNCTIONS
from tests.support.infra import PREFIX_STAGE, Synth, _function, _statements, actions_on, named

ROUTE_KEYS = (
    "GET /api/v2/creator-accounts",
    "PUT /api/v2/creator-accounts/{accountId}",
    "DELETE /api/v2/creator-accounts/{accountId}",
)
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _table_id(synth: Synth) -> str:
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-creator-accounts")
    return table_id


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_the_routes_exist_behind_the_jwt_authorizer_and_reach_the_creator_accounts_function(
    synth: Synth, route_key: str
) -> None:
    (route,) = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == route_key
    ]
    assert route["AuthorizationType"] == "JWT" and "AuthorizerId" in route
    integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
    integration = synth.resources[integration_id]["Properties"]
    function_id, _ = _function(synth, "creator_accounts")
    assert function_id in str(integration["IntegrationUri"])


def test_the_function_reads_and_writes_the_registry_and_nothing_else(synth: Synth) -> None:
    statements = _statements(synth, "creator_accounts")
    actions = actions_on(statements, _table_id(synth))
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem"} <= actions
    assert {"dynamodb:DeleteItem"} <= actions
    touched = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert not any(a.startswith(("sqs:", "sns:", "secretsmanager:")) for a in touched)
    assert FUNCTIONS["creator_accounts"].uses == ("creator_accounts_table",)


@pytest.mark.parametrize("name", ["campaign", "workflow_runner"])
def test_the_sending_functions_may_only_read_the_registry(synth: Synth, name: str) -> None:
    actions = actions_on(_statements(synth, name), _table_id(synth))
    assert "dynamodb:GetItem" in actions
    assert not actions & WRITES


def test_no_other_function_touches_the_registry(synth: Synth) -> None:
    table_id = _table_id(synth)
    for name in FUNCTIONS:
        if name in ("campaign", "workflow_runner", "creator_accounts"):
            continue
        assert not actions_on(_statements(synth, name), table_id), name
