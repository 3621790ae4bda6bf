"""Every route by every kind of caller, over HTTP: who gets in, who gets 401, 403 or 404.

The table of routes is the one CDK deploys (``stacks.route_table.ROUTES``); a route without a
sample request below fails the test, so a new route cannot skip the matrix.

Tenants: the owner works under tenant A, so their workflow, threshold, rule and the creator account
the set-up makes carry A. A tenant admin of A reaches them; a user and a tenant admin of tenant B get
what any other user gets (404 for the owner's items, 403 on admin routes, their own spend elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from stacks.route_table import ROUTES
from tests.conftest import ApiClient

OWNER, INTRUDER, ADMIN = "matrix-owner", "matrix-intruder", "matrix-admin"
TENANT_A, TENANT_B = "matrix-tenant-a", "matrix-tenant-b"
TENANT_ADMIN_SCOPES = ("tenant_admin",)


@dataclass(frozen=True)
class Sample:
    """A request that succeeds for its rightful caller; ``query`` may depend on set-up state."""

    body: Any = None  # or a function of the set-up state
    query: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda state: {})
    owner_scoped: bool = False  # reads one owner's resource: anyone else gets 404
    admin_only: bool = False  # non-admins get 403
    tenant_admins_too: bool = False  # with admin_only: a tenant admin gets past the gate (their tenant's items)
    tenant_scoped: bool = False  # acts on tenant A's item: another tenant's admin gets 404
    # With owner_scoped: the owner or a platform admin only, so the tenant admin of the owner's tenant gets 404 too.
    owner_or_admin: bool = False
    # What the rightful caller gets: 200/202, or a 404 that only a caller past authorization can reach
    # (an admin applying a recommendation id that does not exist).
    ok_status: frozenset[int] = frozenset({200, 202})


CAMPAIGN = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "matrix"}}
MATRIX_ACCOUNT = "matrix_creator"
MINI = [{"provider": "openai", "model": "gpt-4o-mini"}]
BAD_EXPERIMENT = {
    "name": "matrix",
    "campaignType": "caption",
    "variants": [{"name": "A", "route": MINI}, {"name": "B", "route": MINI}],
    "split": [60, 50],
}
SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v2/campaigns/hybrid"): Sample(body=CAMPAIGN),
    ("GET", "/api/v2/campaigns/status"): Sample(
        query=lambda state: {"workflowId": state["workflowId"]}, owner_scoped=True
    ),
    ("GET", "/api/health/hybrid-orchestrator"): Sample(),
    ("GET", "/api/openapi.json"): Sample(),
    ("GET", "/api/docs"): Sample(),
    ("GET", "/api/v2/costs/stats"): Sample(),
    ("GET", "/api/v2/costs/breakdown"): Sample(query=lambda state: {"groupBy": "provider"}),
    ("GET", "/api/v2/campaigns/costs"): Sample(query=lambda state: {"sortBy": "calls", "order": "asc"}),
    # The owner's report is the first write (201); the admin's, the same body, a replay (200). Only the
    # workflow's owner or an admin may report (issue 17), a tenant admin of the owner's tenant no more than others.
    ("POST", "/api/v2/campaigns/outcomes"): Sample(
        body=lambda state: {"workflowId": state["workflowId"], "outcomeId": "matrix-sale", "revenueUsd": 1.5},
        owner_scoped=True,
        owner_or_admin=True,
        ok_status=frozenset({200, 201}),
    ),
    ("GET", "/api/v2/costs/compare"): Sample(query=lambda state: {"period": "week"}),
    ("GET", "/api/v2/costs/export"): Sample(query=lambda state: {"groupBy": "model", "format": "csv"}),
    # Admins and tenant A's admin (another tenant's: 404); a platform admin without a tenant claim names the tenant.
    ("GET", "/api/v2/billing/statements"): Sample(
        query=lambda state: {"tenant": TENANT_A}, admin_only=True, tenant_admins_too=True, tenant_scoped=True
    ),
    ("GET", "/dashboard"): Sample(),
    ("GET", "/dashboard/{asset}"): Sample(),
    ("GET", "/api/v2/costs/forecast"): Sample(),
    ("GET", "/api/admin/feature-flags"): Sample(query=lambda state: {"userId": OWNER}, admin_only=True),
    ("GET", "/api/v2/costs/thresholds"): Sample(),
    ("POST", "/api/v2/costs/thresholds"): Sample(
        body={"scope": "user", "period": "monthly", "amountUsd": 1000}, ok_status=frozenset({201})
    ),
    ("GET", "/api/v2/costs/alerts"): Sample(query=lambda state: {"view": "history", "limit": "5"}),
    # An admin names the owner (userId); for the owner it is their own anyway, for anyone else a 404.
    ("POST", "/api/v2/costs/alerts"): Sample(
        body=lambda state: {"thresholdId": state["thresholdId"], "channel": {"type": "email"}, "userId": OWNER},
        owner_scoped=True,
        ok_status=frozenset({201}),
    ),
    ("PUT", "/api/v2/costs/alerts"): Sample(
        body=lambda state: {"ruleId": state["ruleId"], "enabled": True, "userId": OWNER}, owner_scoped=True
    ),
    ("GET", "/api/v2/costs/optimization"): Sample(admin_only=True),
    ("GET", "/api/v2/costs/optimize"): Sample(admin_only=True),
    ("POST", "/api/v2/costs/optimization/apply"): Sample(
        body={"recommendationId": "rec_" + "0" * 20}, admin_only=True, ok_status=frozenset({404})
    ),
    # Experiments: an admin gets past authorization to an answer that changes no routing (a split that does
    # not add up, ids that do not exist), so the matrix never starts an experiment other tests would meet.
    ("POST", "/api/v2/experiments"): Sample(body=BAD_EXPERIMENT, admin_only=True, ok_status=frozenset({422})),
    ("GET", "/api/v2/experiments"): Sample(admin_only=True),
    ("GET", "/api/v2/experiments/{experimentId}"): Sample(admin_only=True, ok_status=frozenset({404})),
    ("POST", "/api/v2/experiments/{experimentId}/stop"): Sample(admin_only=True, ok_status=frozenset({404})),
    ("POST", "/api/v2/experiments/{experimentId}/promote"): Sample(
        body={"variant": "B"}, admin_only=True, ok_status=frozenset({404})
    ),
    ("POST", "/api/v2/costs/optimization/recommendations/{recommendationId}/experiment"): Sample(
        admin_only=True, ok_status=frozenset({404})
    ),
    ("GET", "/api/v2/creator-accounts"): Sample(),
    # The path's template: the matrix fills {accountId} in (see _path).
    # Tenant A's account (made by A's tenant admin in the set-up): admins and A's tenant admin change it.
    ("PUT", "/api/v2/creator-accounts/{accountId}"): Sample(
        body={"userIds": [OWNER]}, admin_only=True, tenant_admins_too=True, tenant_scoped=True
    ),
    # An admin deleting an account that does not exist: past authorization, a 404 (the matrix keeps its own).
    ("DELETE", "/api/v2/creator-accounts/{accountId}"): Sample(
        admin_only=True, tenant_admins_too=True, ok_status=frozenset({404})
    ),
}
PATH_VALUES = {
    "{accountId}": MATRIX_ACCOUNT,
    "{asset}": "dashboard.js",
    "{experimentId}": "exp_0000000000000deadbeef",
    "{recommendationId}": "rec_" + "0" * 20,
}

CALLERS: dict[str, Callable[[ApiClient], str | None]] = {
    "no token": lambda api: None,
    "expired": lambda api: api.token(OWNER, exp=1),
    "wrong signature": lambda api: api.token(OWNER, secret="not-the-secret"),
    "other user": lambda api: api.token(INTRUDER),
    "non-admin owner": lambda api: api.token(OWNER, tenant=TENANT_A),
    "admin": lambda api: api.token(ADMIN, admin=True),
    "tenant admin": lambda api: api.token("matrix-tenant-admin-a", tenant=TENANT_A, scopes=TENANT_ADMIN_SCOPES),
    "other tenant user": lambda api: api.token("matrix-user-b", tenant=TENANT_B),
    "other tenant admin": lambda api: api.token("matrix-tenant-admin-b", tenant=TENANT_B, scopes=TENANT_ADMIN_SCOPES),
    # The scope without a tenant claim grants nothing: a user like any other.
    "tenant admin without tenant": lambda api: api.token("matrix-untenanted", scopes=TENANT_ADMIN_SCOPES),
}
TENANT_ADMINS = ("tenant admin", "other tenant admin")
OUTSIDERS = ("other user", "other tenant user", "other tenant admin", "tenant admin without tenant")


def expected_status(route_authorized: bool, sample: Sample, caller: str) -> set[int]:
    """What each caller must get; public routes answer everyone."""
    if not route_authorized:
        return {200}
    if caller in ("no token", "expired", "wrong signature"):
        return {401}
    if sample.admin_only and caller != "admin" and not (sample.tenant_admins_too and caller in TENANT_ADMINS):
        return {403}
    if sample.owner_scoped and (caller in OUTSIDERS or (sample.owner_or_admin and caller == "tenant admin")):
        return {404}
    if sample.tenant_scoped and caller == "other tenant admin":
        return {404}
    return set(sample.ok_status)


@pytest.fixture(scope="module")
def state(api: ApiClient) -> dict[str, str]:
    """Something owned by OWNER, under tenant A, for the owner-scoped routes; tenant A's creator account."""
    owner = api.token(OWNER, tenant=TENANT_A)
    reply = api.call("POST", "/api/v2/campaigns/hybrid", CAMPAIGN, token=owner)
    assert reply.status == 200, reply.body
    threshold = api.call(
        "POST",
        "/api/v2/costs/thresholds",
        {"scope": "user", "period": "monthly", "amountUsd": 1000},
        token=owner,
    )
    assert threshold.status == 201, threshold.body
    threshold_id = threshold.body["data"]["thresholdId"]
    rule = api.call(
        "POST",
        "/api/v2/costs/alerts",
        {"thresholdId": threshold_id, "channel": {"type": "email"}},
        token=owner,
    )
    assert rule.status == 201, rule.body
    account = api.call(
        "PUT",
        f"/api/v2/creator-accounts/{MATRIX_ACCOUNT}",
        {"userIds": [OWNER]},
        token=CALLERS["tenant admin"](api),
    )
    assert account.status == 200 and account.body["data"]["tenant"] == TENANT_A, account.body
    return {
        "workflowId": reply.body["data"]["workflowId"],
        "thresholdId": threshold_id,
        "ruleId": rule.body["data"]["ruleId"],
    }


def test_every_route_has_a_sample() -> None:
    missing = [f"{r.method} {r.path}" for r in ROUTES if (r.method, r.path) not in SAMPLES]
    assert not missing, f"add these routes to the authorization matrix: {missing}"


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_authorization_matrix(api: ApiClient, state: dict[str, str], route: Any, caller: str) -> None:
    sample = SAMPLES.get((route.method, route.path))
    if sample is None:
        pytest.fail(f"no sample request for {route.method} {route.path}")
    query = sample.query(state)
    path = _path(route.path, route.method) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    body = sample.body(state) if callable(sample.body) else sample.body
    reply = api.call(route.method, path, body, token=CALLERS[caller](api))
    assert reply.status in expected_status(route.authorized, sample, caller), (caller, reply.status, reply.body)
    if reply.status in (401, 403, 404):
        assert reply.body["success"] is False and reply.body["error"]["code"]


def _path(template: str, method: str) -> str:
    """The route's path with its variables filled in; DELETE aims at an account nobody registered."""
    for variable, value in PATH_VALUES.items():
        template = template.replace(variable, f"{value}_gone" if method == "DELETE" else value)
    return template
