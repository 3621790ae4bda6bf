"""Campaign analytics and forecast in the template: routes behind the authorizer, read-only grants, and what
the recording path needs for the forecast's early warning."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import PREFIX_STAGE, Synth, _authorizer_id, _statements, actions_on, named

READ_ROUTES = {"/api/v2/campaigns/costs": "campaign_costs", "/api/v2/costs/forecast": "cost_forecast"}


@pytest.mark.parametrize("path", list(READ_ROUTES))
def test_analytics_routes_exist_behind_the_jwt_authorizer(synth: Synth, path: str) -> None:
    (route,) = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == f"GET {path}"
    ]
    assert route["AuthorizationType"] == "JWT" and route["AuthorizerId"] == {"Ref": _authorizer_id(synth)}


@pytest.mark.parametrize("function", list(READ_ROUTES.values()))
def test_analytics_functions_only_read_the_costs_table(synth: Synth, function: str) -> None:
    statements = _statements(synth, function)
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    on_table = actions_on(statements, table_id)
    assert {"dynamodb:Query", "dynamodb:GetItem"} <= on_table  # counters, thresholds (grant_read_data; no Scan used)
    assert not {a for a in on_table if a.split(":")[1].startswith(("Put", "Update", "Delete", "BatchWrite"))}
    touched = {json.dumps(s["Resource"]) for s in statements if "xray" not in json.dumps(s["Action"])}
    assert all(table_id in resource or "LogGroup" in resource for resource in touched)
    assert not any("sns:" in json.dumps(s["Action"]) for s in statements)


@pytest.mark.parametrize("function", ["campaign", "workflow_runner"])
def test_the_recording_path_may_claim_and_release_forecast_markers(synth: Synth, function: str) -> None:
    """The early warning reads the daily totals (Query), claims its marker (PutItem) and frees it if SNS fails."""
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    assert {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= actions_on(
        _statements(synth, function), table_id
    )
