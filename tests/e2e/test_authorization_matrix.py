"""Every route by every kind of caller, over HTTP: who gets in, who gets 401, 403 or 404.

The table of routes is the one CDK deploys (``stacks.route_table.ROUTES``); a route without a
sample request below fails the test, so a new route cannot skip the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from stacks.route_table import ROUTES
from tests.conftest import ApiClient

OWNER, INTRUDER, ADMIN = "matrix-owner", "matrix-intruder", "matrix-admin"


@dataclass(frozen=True)
class Sample:
    """A request that succeeds for its rightful caller; ``query`` may depend on set-up state."""

    body: Any = None
    query: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda state: {})
    owner_scoped: bool = False  # reads one owner's resource: anyone else gets 404
    admin_only: bool = False  # non-admins get 403


CAMPAIGN = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "matrix"}}
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
    ("GET", "/api/admin/feature-flags"): Sample(query=lambda state: {"userId": OWNER}, admin_only=True),
}

CALLERS: dict[str, Callable[[ApiClient], str | None]] = {
    "no token": lambda api: None,
    "expired": lambda api: api.token(OWNER, exp=1),
    "wrong signature": lambda api: api.token(OWNER, secret="not-the-secret"),
    "other user": lambda api: api.token(INTRUDER),
    "non-admin owner": lambda api: api.token(OWNER),
    "admin": lambda api: api.token(ADMIN, admin=True),
}


def expected_status(route_authorized: bool, sample: Sample, caller: str) -> set[int]:
    """What each caller must get; public routes answer everyone."""
    if not route_authorized:
        return {200}
    if caller in ("no token", "expired", "wrong signature"):
        return {401}
    if sample.admin_only and caller != "admin":
        return {403}
    if sample.owner_scoped and caller == "other user":
        return {404}
    return {200, 202}


@pytest.fixture(scope="module")
def state(api: ApiClient) -> dict[str, str]:
    """Something owned by OWNER for the owner-scoped routes."""
    reply = api.call("POST", "/api/v2/campaigns/hybrid", CAMPAIGN, token=api.token(OWNER))
    assert reply.status == 200, reply.body
    return {"workflowId": reply.body["data"]["workflowId"]}


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
    path = route.path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    reply = api.call(route.method, path, sample.body, token=CALLERS[caller](api))
    assert reply.status in expected_status(route.authorized, sample, caller), (caller, reply.status, reply.body)
    if reply.status in (401, 403, 404):
        assert reply.body["success"] is False and reply.body["error"]["code"]
