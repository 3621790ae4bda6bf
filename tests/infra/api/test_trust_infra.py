"""Throttles where they matter, reserved concurrency, the admin routes' scope gate, and least privilege
inside the costs table (dynamodb:LeadingKeys) and on the ops alarm key (aws:SourceAccount)."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from shared.alerts.thresholds import THRESHOLD_PK_PREFIX
from shared.api.auth import ADMIN, TENANT_ADMIN
from shared.billing.statements import statement_key
from shared.experiments.store import RECORDS_PK
from shared.ledger.keys import (
    AGGREGATOR_WRITE_PREFIXES,
    EVERYONE,
    EXPERIMENT_WRITE_PREFIXES,
    OPTIMIZATION_WRITE_PREFIXES,
    OUTCOME_WRITE_PREFIXES,
    RECORDING_WRITE_PREFIXES,
    STATEMENT_WRITE_PREFIXES,
    THRESHOLD_WRITE_PREFIXES,
    alert_key,
    counter_key,
    event_key,
    experiment_scope,
)
from shared.routing.overrides import CHANGES_PK, CURRENT_KEY
from stacks import constants as c
from stacks.config import RouteThrottle, StackConfig
from stacks.route_table import ADMIN_SCOPE, FUNCTIONS, ROUTES, TENANT_ADMIN_SCOPE
from tests.support.infra import PREFIX_STAGE, Synth, _as_list, _statements, named

THROTTLED = {
    "GET /api/health/hybrid-orchestrator": (5, 10),
    "GET /api/openapi.json": (5, 10),
    "GET /api/docs": (5, 10),
    "GET /dashboard": (5, 10),
    "GET /dashboard/{asset}": (10, 20),  # the page's three files at once
    "POST /api/v2/campaigns/hybrid": (20, 40),
}
ADMIN_ROUTES = {
    "GET /api/admin/feature-flags",
    "GET /api/v2/costs/optimization",
    "POST /api/v2/costs/optimization/apply",
    "GET /api/v2/costs/optimize",
    "PUT /api/v2/creator-accounts/{accountId}",
    "DELETE /api/v2/creator-accounts/{accountId}",
    "POST /api/v2/experiments",
    "GET /api/v2/experiments",
    "GET /api/v2/experiments/{experimentId}",
    "POST /api/v2/experiments/{experimentId}/stop",
    "POST /api/v2/experiments/{experimentId}/promote",
    "POST /api/v2/costs/optimization/recommendations/{recommendationId}/experiment",
}
# Admin routes a tenant admin manages too (their own tenant's items, checked in the handler).
TENANT_ADMIN_ROUTES = {"PUT /api/v2/creator-accounts/{accountId}", "DELETE /api/v2/creator-accounts/{accountId}"}
WRITES = set(c.DYNAMODB_ITEM_WRITE_ACTIONS)
RECORDERS = ("campaign", "workflow_runner")
# Partition keys the recorders must not write: a threshold or hard cap, an alert rule (beside its threshold),
# the applied routing and its audit log.
FORBIDDEN_KEYS = (f"{THRESHOLD_PK_PREFIX}u1", f"{THRESHOLD_PK_PREFIX}ALL", CURRENT_KEY[0], CHANGES_PK)


def _stage(synth: Synth) -> dict[str, Any]:
    (stage,) = synth.of_type("AWS::ApiGatewayV2::Stage").values()
    return stage


def _routes_by_key(synth: Synth) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        r["Properties"]["RouteKey"]: (k, r["Properties"]) for k, r in synth.of_type("AWS::ApiGatewayV2::Route").items()
    }


def test_public_routes_and_the_campaign_route_have_their_own_throttles(synth: Synth) -> None:
    settings = _stage(synth)["Properties"]["RouteSettings"]
    assert {key: (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"]) for key, s in settings.items()} == THROTTLED
    assert THROTTLED == c.DEFAULT_ROUTE_THROTTLES  # cdk.json states the defaults, for ops to see and tune
    default = _stage(synth)["Properties"]["DefaultRouteSettings"]
    for rate, burst in THROTTLED.values():  # every own throttle is tighter than the stage's
        assert rate < default["ThrottlingRateLimit"] and burst < default["ThrottlingBurstLimit"]


def test_the_stage_is_created_after_the_routes_its_settings_name(synth: Synth) -> None:
    """API Gateway refuses RouteSettings for a route key it does not know yet."""
    routes = _routes_by_key(synth)
    depends_on = set(_stage(synth).get("DependsOn", []))
    assert {routes[key][0] for key in THROTTLED} <= depends_on


def test_route_throttles_come_from_context_one_route_at_a_time() -> None:
    base = {"stage": "dev", "resourcePrefix": "p", "jwtIssuer": "https://i/", "jwtAudience": "a"}
    override = {"GET /api/docs": None, "GET /api/v2/costs/stats": {"rateLimit": 2.5, "burstLimit": 3}}
    config = StackConfig.from_context({**base, c.CTX_ROUTE_THROTTLES: json.dumps(override)})  # as -c gives it
    assert {t.route_key: t for t in config.route_throttles} == {
        "GET /api/health/hybrid-orchestrator": RouteThrottle("GET /api/health/hybrid-orchestrator", 5, 10),
        "GET /api/openapi.json": RouteThrottle("GET /api/openapi.json", 5, 10),
        "GET /dashboard": RouteThrottle("GET /dashboard", 5, 10),
        "GET /dashboard/{asset}": RouteThrottle("GET /dashboard/{asset}", 10, 20),
        "GET /api/v2/costs/stats": RouteThrottle("GET /api/v2/costs/stats", 2.5, 3),
        "POST /api/v2/campaigns/hybrid": RouteThrottle("POST /api/v2/campaigns/hybrid", 20, 40),
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"GET /api/nothing": {"rateLimit": 1, "burstLimit": 1}}, "do not exist: GET /api/nothing"),
        ({"GET /api/docs": {"rateLimit": 1}}, "numeric rateLimit and burstLimit"),
        ({"GET /api/docs": {"rateLimit": "fast", "burstLimit": 1}}, "numeric rateLimit and burstLimit"),
        ({"GET /api/docs": {"rateLimit": 1, "burstLimit": 1.5}}, "integer burstLimit"),
        ({"GET /api/docs": {"rateLimit": -1, "burstLimit": 1}}, "rateLimit >= 0"),
        (["GET /api/docs"], "must map route keys"),
    ],
)
def test_bad_route_throttles_fail_the_synth(value: Any, message: str) -> None:
    base = {"stage": "dev", "resourcePrefix": "p", "jwtIssuer": "https://i/", "jwtAudience": "a"}
    with pytest.raises(ValueError, match=message):
        StackConfig.from_context({**base, c.CTX_ROUTE_THROTTLES: value})


def test_only_the_campaign_function_reserves_concurrency(synth: Synth) -> None:
    reserved = {
        fn["Properties"]["FunctionName"]: fn["Properties"]["ReservedConcurrentExecutions"]
        for fn in synth.of_type("AWS::Lambda::Function").values()
        if "ReservedConcurrentExecutions" in fn["Properties"]
    }
    assert (
        reserved
        == {f"{PREFIX_STAGE}-campaign": c.DEFAULT_CAMPAIGN_RESERVED_CONCURRENCY}
        == {f"{PREFIX_STAGE}-campaign": 50}
    )


@pytest.mark.parametrize(("value", "expected"), [(None, 50), ("12", 12), (7, 7), ("none", None), ("None", None)])
def test_reserved_concurrency_from_context(value: Any, expected: int | None) -> None:
    base = {"stage": "dev", "resourcePrefix": "p", "jwtIssuer": "https://i/", "jwtAudience": "a"}
    config = StackConfig.from_context({**base, c.CTX_CAMPAIGN_RESERVED_CONCURRENCY: value})
    assert config.campaign_reserved_concurrency == expected
    assert config.reserved_concurrency == ({} if expected is None else {"campaign": expected})


@pytest.mark.parametrize("value", ["0", -3, "lots"])
def test_reserved_concurrency_must_be_positive(value: Any) -> None:
    base = {"stage": "dev", "resourcePrefix": "p", "jwtIssuer": "https://i/", "jwtAudience": "a"}
    with pytest.raises(ValueError, match=c.CTX_CAMPAIGN_RESERVED_CONCURRENCY):
        StackConfig.from_context({**base, c.CTX_CAMPAIGN_RESERVED_CONCURRENCY: value})


def test_admin_routes_need_the_admin_scope_and_no_other_route_names_one(synth: Synth) -> None:
    assert {route.key for route in ROUTES if route.admin} == ADMIN_ROUTES
    assert {route.key for route in ROUTES if route.tenant_admin} == TENANT_ADMIN_ROUTES
    for key, (_, props) in _routes_by_key(synth).items():
        if key in TENANT_ADMIN_ROUTES:
            assert props["AuthorizationScopes"] == ["admin", "tenant_admin"], key
            assert props["AuthorizationType"] == "JWT", key
        elif key in ADMIN_ROUTES:
            assert props["AuthorizationScopes"] == ["admin"] and props["AuthorizationType"] == "JWT", key
        else:
            assert "AuthorizationScopes" not in props, key


def test_the_gate_scope_is_the_one_the_handlers_check() -> None:
    assert ADMIN_SCOPE == ADMIN
    assert TENANT_ADMIN_SCOPE == TENANT_ADMIN


AGGREGATED_KEYS = [
    counter_key(EVERYONE, "total", "DAY#2026-01-02")[0],
    alert_key("daily", 50_000_000, "DAY#2026-01-02")[0],
    "RULEMARK#CROSSED#th_1",
    "RULEMARK#ar_1",
    "ALERTLOG#u1",
    "FORECAST#ALL#settings#1000",
]


def _cost_writes(synth: Synth, function: str) -> list[dict[str, Any]]:
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    return [
        s
        for s in _statements(synth, function)
        if table_id in json.dumps(s["Resource"]) and WRITES & set(_as_list(s["Action"]))
    ]


def _allowed(statement: dict[str, Any], partition_key: str) -> bool:
    """Whether the statement allows writing an item of this partition key (IAM's StringLike is fnmatch's ``*``)."""
    condition = statement.get("Condition")
    if condition is None:
        return True
    patterns = condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    return any(fnmatchcase(partition_key, pattern) for pattern in patterns)


def _held_to(synth: Synth, function: str, prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The function's one costs-table write statement: every item write, conditioned on those key prefixes."""
    (statement,) = _cost_writes(synth, function)
    assert set(_as_list(statement["Action"])) == WRITES
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{p}*" for p in prefixes]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    return statement


@pytest.mark.parametrize("function", RECORDERS)
def test_recorders_write_only_the_recording_prefixes_of_the_costs_table(synth: Synth, function: str) -> None:
    statement = _held_to(synth, function, RECORDING_WRITE_PREFIXES)
    recorded = [event_key("wf_1#generate#0")[0], "BUDGET#USER#u1", "BUDGET#RES#wf_1#generate#0"]
    assert all(_allowed(statement, key) for key in recorded)
    assert not any(_allowed(statement, key) for key in [*FORBIDDEN_KEYS, *AGGREGATED_KEYS])  # counters: the stream's


def test_the_aggregator_writes_only_counters_markers_and_alert_history(synth: Synth) -> None:
    statement = _held_to(synth, "cost_aggregator", AGGREGATOR_WRITE_PREFIXES)
    assert all(_allowed(statement, key) for key in AGGREGATED_KEYS)
    assert not any(_allowed(statement, key) for key in [*FORBIDDEN_KEYS, event_key("wf_1#generate#0")[0]])


def test_the_outcomes_function_writes_only_outcome_items(synth: Synth) -> None:
    statement = _held_to(synth, "campaign_outcomes", OUTCOME_WRITE_PREFIXES)
    assert all(_allowed(statement, key) for key in ["OUTCOME#wf_1", "OUTCOMEVAR#exp_1"])
    recorded = [event_key("wf_1#generate#0")[0], "BUDGET#USER#u1"]
    assert not any(_allowed(statement, key) for key in [*FORBIDDEN_KEYS, *AGGREGATED_KEYS, *recorded])
    workflows_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-workflows")
    workflow_actions = {
        a
        for st in _statements(synth, "campaign_outcomes")
        if workflows_id in json.dumps(st["Resource"])
        for a in _as_list(st["Action"])
    }
    assert "dynamodb:GetItem" in workflow_actions and not WRITES & workflow_actions  # reads the workflow only


@pytest.mark.parametrize("function", RECORDERS)
def test_recorders_still_read_the_whole_costs_table(synth: Synth, function: str) -> None:
    table_id, _ = named(synth, "AWS::DynamoDB::Table", "TableName", f"{PREFIX_STAGE}-costs")
    reads = {
        a
        for s in _statements(synth, function)
        if table_id in json.dumps(s["Resource"]) and "Condition" not in s
        for a in _as_list(s["Action"])
    }
    assert {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"} <= reads
    assert not reads & WRITES


def test_every_function_writing_the_costs_table_is_held_to_its_prefixes(synth: Synth) -> None:
    writers = {name: _cost_writes(synth, name) for name in FUNCTIONS}
    assert not [name for name, statements in writers.items() if any("Condition" not in s for s in statements)]
    conditioned = {*RECORDERS, "cost_aggregator", "billing_statements", "campaign_outcomes", "experiments"}
    owner_routes = {"cost_thresholds", "cost_alerts", "cost_optimization"}
    assert {name for name, statements in writers.items() if statements} == conditioned | owner_routes


@pytest.mark.parametrize("function", ["cost_thresholds", "cost_alerts"])
def test_the_threshold_and_rule_routes_write_only_thresholds_and_their_rules(synth: Synth, function: str) -> None:
    statement = _held_to(synth, function, THRESHOLD_WRITE_PREFIXES)
    assert all(_allowed(statement, key) for key in (f"{THRESHOLD_PK_PREFIX}u1", f"{THRESHOLD_PK_PREFIX}ALL"))
    others = [*AGGREGATED_KEYS, CURRENT_KEY[0], CHANGES_PK, RECORDS_PK, event_key("wf_1#g#0")[0], "BUDGET#USER#u1"]
    assert not any(_allowed(statement, key) for key in others)


def test_the_optimization_route_writes_only_the_routing_overrides_and_their_audit_log(synth: Synth) -> None:
    statement = _held_to(synth, "cost_optimization", OPTIMIZATION_WRITE_PREFIXES)
    assert all(_allowed(statement, key) for key in (CURRENT_KEY[0], CHANGES_PK))
    others = [*AGGREGATED_KEYS, f"{THRESHOLD_PK_PREFIX}u1", RECORDS_PK, event_key("wf_1#g#0")[0], "BUDGET#USER#u1"]
    assert not any(_allowed(statement, key) for key in others)


def test_the_statements_route_writes_only_frozen_statements(synth: Synth) -> None:
    statement = _held_to(synth, "billing_statements", STATEMENT_WRITE_PREFIXES)
    assert _allowed(statement, statement_key("acme", "2026-02")[0])
    assert not any(_allowed(statement, key) for key in [*FORBIDDEN_KEYS, *AGGREGATED_KEYS, event_key("wf_1#g#0")[0]])


def test_the_experiments_function_writes_only_its_records_and_the_routing_overrides(synth: Synth) -> None:
    statement = _held_to(synth, "experiments", EXPERIMENT_WRITE_PREFIXES)
    # A start or stop: the overrides' current item and the record; a promotion adds the audited change.
    assert all(_allowed(statement, key) for key in (CURRENT_KEY[0], RECORDS_PK, CHANGES_PK))
    others = [
        f"{THRESHOLD_PK_PREFIX}u1",
        f"{THRESHOLD_PK_PREFIX}ALL",
        *AGGREGATED_KEYS,
        counter_key(experiment_scope("exp_1"), "variant", "DAY#2026-01-02")[0],  # the aggregator's, not its own
        event_key("wf_1#g#0")[0],
        statement_key("acme", "2026-02")[0],
        *RECORDING_WRITE_PREFIXES,
    ]
    assert not any(_allowed(statement, key) for key in others)


def test_the_ops_alarm_key_serves_cloudwatch_for_this_account_only(synth: Synth) -> None:
    (key,) = synth.of_type("AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    service_grants = [s for s in statements if "Service" in s.get("Principal", {})]
    assert [s["Principal"]["Service"] for s in service_grants] == ["cloudwatch.amazonaws.com"]
    for statement in service_grants:
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
