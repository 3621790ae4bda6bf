"""Budget enforcement needs no new resource: the campaign paths reserve and settle in the costs table they
already record to, with item-level actions on that table only (no new table, no wildcard, no table admin)."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import PREFIX_STAGE, Synth, _as_list, _statements, actions_on, named

# Reserve and settle are TransactWriteItems (authorized item by item: Update with a condition, Put, Delete);
# a refused reserve reads the budget and reservation items (GetItem); seeding is a conditional PutItem.
BUDGET_ACTIONS = {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem"}
# What grant_read_write_data gives: item reads and writes, nothing that changes or drops a table.
ITEM_ACTIONS = {
    *BUDGET_ACTIONS,
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
}


@pytest.mark.parametrize("function", ["campaign", "workflow_runner"])
def test_generation_paths_may_reserve_and_settle_on_the_costs_table_and_nothing_broader(
    synth: Synth, function: str
) -> None:
    statements = _statements(synth, function)
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    on_costs = actions_on(statements, table_id)
    assert BUDGET_ACTIONS <= on_costs <= ITEM_ACTIONS
    for statement in statements:
        actions = _as_list(statement["Action"])
        if not any(action.startswith("dynamodb:") for action in actions):
            continue
        assert set(actions) <= ITEM_ACTIONS  # never dynamodb:* nor a table-level action
        assert "*" not in _as_list(statement["Resource"])
        assert "Arn" in json.dumps(statement["Resource"])  # a named table's ARN (or its index), never a wildcard
