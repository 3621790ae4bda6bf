"""DynamoDB tables: fixed key schemas, on demand, PITR, TTL, encryption, retained outside dev."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.infra import PREFIX_STAGE, Synth

EXPECTED_TABLES = {
    "workflows": ([("workflowId", "HASH")], "expiresAt"),
    "costs": ([("pk", "HASH"), ("sk", "RANGE")], "expiresAt"),
    "circuit-state": ([("id", "HASH")], "expiration"),
    "idempotency": ([("id", "HASH")], "expiration"),
    "creator-accounts": ([("pk", "HASH"), ("sk", "RANGE")], None),  # records live until an admin removes them
}


def _table(synth: Synth, name: str) -> dict[str, Any]:
    (table,) = [t for t in synth.of_type("AWS::DynamoDB::Table").values() if t["Properties"]["TableName"] == name]
    return table


def test_exactly_the_five_tables_and_no_global_tables(synth: Synth) -> None:
    names = sorted(t["Properties"]["TableName"] for t in synth.of_type("AWS::DynamoDB::Table").values())
    assert names == sorted(f"{PREFIX_STAGE}-{suffix}" for suffix in EXPECTED_TABLES)
    assert not synth.of_type("AWS::DynamoDB::GlobalTable")  # moto's CloudFormation skips those


@pytest.mark.parametrize("suffix", sorted(EXPECTED_TABLES))
def test_table_schema_billing_pitr_ttl_and_encryption(synth: Synth, suffix: str) -> None:
    keys, ttl_attribute = EXPECTED_TABLES[suffix]
    table = _table(synth, f"{PREFIX_STAGE}-{suffix}")
    props = table["Properties"]
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == keys
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]) == sorted(
        (name, "S") for name, _ in keys
    )
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if ttl_attribute is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attribute, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("suffix", sorted(EXPECTED_TABLES))
def test_tables_are_retained_outside_dev_stages(synth: Synth, suffix: str) -> None:
    table = _table(synth, f"{PREFIX_STAGE}-{suffix}")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
