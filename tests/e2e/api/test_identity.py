"""Who the caller is, over HTTP: admin only from the admin scope; reserved or key-like subjects refused.

Every authorized route of the table CDK deploys is tried, so a new route cannot skip the rule.
"""

from __future__ import annotations

import re

import pytest

from stacks.route_table import ROUTES
from tests.conftest import ApiClient

AUTHORIZED = [route for route in ROUTES if route.authorized]
REFUSED_SUBJECTS = ["ALL", "a#b", "USER#u1", "u1\n", "u\u0000x", " u1", "   "]


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "acct-identity", template)


@pytest.mark.parametrize("route", AUTHORIZED, ids=[f"{r.method} {r.path}" for r in AUTHORIZED])
def test_reserved_and_key_like_subjects_get_401_on_every_route(api: ApiClient, route) -> None:
    for sub in REFUSED_SUBJECTS:
        for admin in (False, True):
            reply = api.call(route.method, _path(route.path), body={}, token=api.token(sub, admin=admin))
            if route.admin and not admin:
                # API Gateway's scope gate answers before any handler: no scope, no way in at all.
                assert reply.status == 403, (sub, reply.status, reply.body)
                continue
            assert reply.status == 401, (sub, admin, reply.status, reply.body)
            assert reply.body["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "claims",
    [
        {"groups": ["admin"]},
        {"groups": ["billing admin"]},
        {"cognito:groups": ["admin"]},
        {"scope": "user,admin"},
        {"scope": "administrator"},
    ],
    ids=["groups", "group-with-space", "cognito-groups", "comma-scope", "administrator"],
)
def test_groups_and_near_spellings_do_not_open_admin_routes(api: ApiClient, claims) -> None:
    token = api.token("identity-user", **claims)
    reply = api.call("GET", "/api/admin/feature-flags?userId=identity-user", token=token)
    assert reply.status == 403, reply.body
    others = api.call("GET", "/api/v2/costs/stats?userId=someone-else", token=token)
    assert others.status == 403, others.body


def test_the_admin_scope_opens_admin_routes(api: ApiClient) -> None:
    for token in (api.token("identity-admin", admin=True), api.token("identity-admin", scope="", scp=["admin"])):
        reply = api.call("GET", "/api/admin/feature-flags?userId=identity-user", token=token)
        assert reply.status == 200, reply.body
