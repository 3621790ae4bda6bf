"""Two tenants over HTTP, each with users, a tenant admin and a creator account: every answer stays inside the
caller's tenant, and platform admins see all (spend per tenant, ``groupBy=tenant``)."""

from __future__ import annotations

import csv
import io
import uuid
from urllib.parse import urlencode

import pytest

from tests.support.e2e import CAMPAIGN, CAPTION

TENANT_ADMIN = ("tenant_admin",)


class Tenant:
    """A tenant's people (two users and a tenant admin) and its tokens."""

    def __init__(self, api, name: str) -> None:
        self.name = name
        self.users = (f"{name}-u1", f"{name}-u2")
        self.admin = f"{name}-admin"
        self.account = f"{name.replace('-', '_')}_creator"
        self._api = api

    def user_token(self, index: int = 0) -> str:
        return self._api.token(self.users[index], tenant=self.name)

    def admin_token(self) -> str:
        return self._api.token(self.admin, tenant=self.name, scopes=TENANT_ADMIN)


def get(api, path: str, token: str, **params: str):
    return api.call("GET", f"{path}?{urlencode(params)}" if params else path, token=token)


@pytest.fixture(scope="module")
def tenants(api):
    """Tenants A and B: each user runs campaigns under their tenant; each tenant admin links its account."""
    run = uuid.uuid4().hex[:6]
    a, b = Tenant(api, f"acme-{run}"), Tenant(api, f"beta-{run}")
    spent: dict[str, dict[str, int]] = {}
    workflows: dict[str, list[str]] = {}
    for tenant, bodies in ((a, [CAMPAIGN, CAPTION]), (b, [CAPTION])):
        spent[tenant.name], workflows[tenant.name] = {}, []
        for index, user in enumerate(tenant.users):
            for body in bodies:
                reply = api.call("POST", "/api/v2/campaigns/hybrid", body, token=tenant.user_token(index))
                assert reply.status == 200, reply.body
                spent[tenant.name][user] = spent[tenant.name].get(user, 0) + reply.body["metrics"]["cost"]["costMicros"]
                workflows[tenant.name].append(reply.body["data"]["workflowId"])
        linked = api.call(
            "PUT",
            f"/api/v2/creator-accounts/{tenant.account}",
            {"userIds": [tenant.users[0]]},
            token=tenant.admin_token(),
        )
        assert linked.status == 200 and linked.body["data"]["tenant"] == tenant.name, linked.body
    for tenant in (a, b):  # the counters trail the answers by the stream's lag
        total = sum(spent[tenant.name].values())
        api.wait_for_spend(tenant.admin_token(), total, scope="tenant")
    return a, b, spent, workflows


def test_a_tenant_admin_sees_their_tenants_spend_and_only_it(api, tenants):
    a, b, spent, workflows = tenants
    for tenant in (a, b):
        token = tenant.admin_token()
        total = sum(spent[tenant.name].values())
        stats = get(api, "/api/v2/costs/stats", token, scope="tenant").body["data"]
        assert stats["scope"] == {"kind": "tenant", "userId": None, "tenantId": tenant.name}
        assert stats["monthTotalMicros"] == total
        by_user = get(api, "/api/v2/costs/breakdown", token, scope="tenant", groupBy="user").body["data"]
        assert {g["key"]: g["costMicros"] for g in by_user["groups"]} == spent[tenant.name]
        campaigns = get(api, "/api/v2/campaigns/costs", token, scope="tenant").body["data"]
        assert {c["campaignId"] for c in campaigns["campaigns"]} == set(workflows[tenant.name])
        compare = get(api, "/api/v2/costs/compare", token, scope="tenant").body["data"]
        assert compare["current"]["total"]["costMicros"] >= total > 0
        export = get(api, "/api/v2/costs/export", token, scope="tenant", groupBy="user")
        assert export.status == 200
        rows = list(csv.DictReader(io.StringIO(export.body)))
        assert {row["user"] for row in rows} == set(spent[tenant.name])
        # Without scope=tenant a tenant admin reads their own spend (none here), as any user.
        assert get(api, "/api/v2/costs/stats", token).body["data"]["scope"]["kind"] == "user"


def test_nobody_else_reads_a_tenants_spend(api, tenants):
    a, b, _, _ = tenants
    for path in ("/api/v2/costs/stats", "/api/v2/costs/breakdown", "/api/v2/campaigns/costs", "/api/v2/costs/compare"):
        # A plain user of the tenant: the tenant's spend is other users' spend.
        assert get(api, path, a.user_token(), scope="tenant").status == 403
        # Another tenant's admin naming tenant A.
        assert get(api, path, b.admin_token(), scope="tenant", tenant=a.name).status == 403
        # No tenant claim at all: nothing to scope to.
        reply = get(api, path, api.token(f"untenanted-{a.name}", scopes=TENANT_ADMIN), scope="tenant")
        assert reply.status == 422 and reply.body["error"]["details"][0]["field"] == "scope", reply.body
        # groupBy=tenant is the platform's view.
    for token in (a.admin_token(), a.user_token()):
        assert get(api, "/api/v2/costs/breakdown", token, groupBy="tenant").status == 403


def test_a_platform_admin_sees_every_tenant(api, tenants):
    a, b, spent, _ = tenants
    admin = api.token("tenant-ops", admin=True)
    groups = get(api, "/api/v2/costs/breakdown", admin, groupBy="tenant").body["data"]["groups"]
    by_tenant = {g["key"]: g["costMicros"] for g in groups}
    for tenant in (a, b):
        assert by_tenant[tenant.name] == sum(spent[tenant.name].values())
        one = get(api, "/api/v2/costs/stats", admin, scope="tenant", tenant=tenant.name).body["data"]
        assert one["monthTotalMicros"] == sum(spent[tenant.name].values())


def test_workflows_are_visible_to_their_tenants_admin_only(api, tenants):
    a, b, _, workflows = tenants
    workflow = workflows[a.name][0]
    assert get(api, "/api/v2/campaigns/status", a.admin_token(), workflowId=workflow).status == 200
    for token in (b.admin_token(), b.user_token(), a.user_token(1)):
        assert get(api, "/api/v2/campaigns/status", token, workflowId=workflow).status == 404


def test_tenant_admins_manage_their_tenants_thresholds_and_rules_only(api, tenants):
    a, b, _, _ = tenants
    watched = a.users[0]
    body = {"scope": "user", "userId": watched, "period": "monthly", "amountUsd": 500}
    made = api.call("POST", "/api/v2/costs/thresholds", body, token=a.admin_token())
    assert made.status == 201 and made.body["data"]["tenant"] == a.name, made.body
    threshold_id = made.body["data"]["thresholdId"]
    # B's admin cannot set one on A's user (no spend of theirs under B), nor see A's.
    assert api.call("POST", "/api/v2/costs/thresholds", body, token=b.admin_token()).status == 403
    assert api.call("POST", "/api/v2/costs/thresholds", body, token=a.user_token(1)).status == 403
    listed = get(api, "/api/v2/costs/thresholds", a.admin_token(), userId=watched).body["data"]["thresholds"]
    assert threshold_id in {t["thresholdId"] for t in listed}
    listed = get(api, "/api/v2/costs/thresholds", b.admin_token(), userId=watched).body["data"]["thresholds"]
    assert threshold_id not in {t["thresholdId"] for t in listed}
    # The watched user sees it too: it is about their spend.
    listed = get(api, "/api/v2/costs/thresholds", a.user_token()).body["data"]["thresholds"]
    assert threshold_id in {t["thresholdId"] for t in listed}

    rule = {"thresholdId": threshold_id, "channel": {"type": "email"}, "userId": watched}
    assert api.call("POST", "/api/v2/costs/alerts", rule, token=b.admin_token()).status == 404
    created = api.call("POST", "/api/v2/costs/alerts", rule, token=a.admin_token())
    assert created.status == 201 and created.body["data"]["tenant"] == a.name, created.body
    change = {"ruleId": created.body["data"]["ruleId"], "enabled": False, "userId": watched}
    assert api.call("PUT", "/api/v2/costs/alerts", change, token=b.admin_token()).status == 404
    assert api.call("PUT", "/api/v2/costs/alerts", change, token=a.admin_token()).status == 200
    rules = get(api, "/api/v2/costs/alerts", b.admin_token(), userId=watched).body["data"]["rules"]
    assert rules == []
    rules = get(api, "/api/v2/costs/alerts", a.admin_token(), userId=watched).body["data"]["rules"]
    assert [r["ruleId"] for r in rules] == [created.body["data"]["ruleId"]]
    # The global owner stays the platform's.
    assert get(api, "/api/v2/costs/alerts", a.admin_token(), userId="ALL").status == 403


def test_a_tenant_admin_lists_their_tenants_cap_with_its_spend_and_nobody_else_sees_it(api, tenants):
    a, b, spent, _ = tenants
    cap = {"scope": "tenant", "period": "monthly", "amountUsd": 1000, "action": "block"}  # far above any test's spend
    made = api.call("POST", "/api/v2/costs/thresholds", cap, token=a.admin_token())
    assert made.status == 201, made.body
    cap_id = made.body["data"]["thresholdId"]
    listed = get(api, "/api/v2/costs/thresholds", a.admin_token()).body["data"]["thresholds"]
    (shown,) = [t for t in listed if t["thresholdId"] == cap_id]
    assert (shown["scope"], shown["tenant"], shown["spentMicros"]) == ("tenant", a.name, sum(spent[a.name].values()))
    for token in (b.admin_token(), a.user_token()):
        listed = get(api, "/api/v2/costs/thresholds", token).body["data"]["thresholds"]
        assert cap_id not in {t["thresholdId"] for t in listed}


def test_tenant_admins_manage_their_tenants_creator_accounts_only(api, tenants):
    a, b, _, _ = tenants
    listed = get(api, "/api/v2/creator-accounts", a.admin_token()).body["data"]
    assert [acc["accountId"] for acc in listed["accounts"]] == [a.account] and listed["tenant"] == a.name
    for method, body in (("PUT", {"userIds": [a.users[0]]}), ("DELETE", None)):
        reply = api.call(method, f"/api/v2/creator-accounts/{b.account}", body, token=a.admin_token())
        assert reply.status == 404 and reply.body["error"]["code"] == "ACCOUNT_NOT_FOUND", reply.body
    assert (
        api.call("PUT", f"/api/v2/creator-accounts/{b.account}", {"userIds": ["x"]}, token=a.user_token()).status == 403
    )
    # A's admin links B's user to A's account: B's user, under tenant B, still may not send as it.
    assert (
        api.call(
            "PUT", f"/api/v2/creator-accounts/{a.account}", {"userIds": [a.users[0], b.users[0]]}, token=a.admin_token()
        ).status
        == 200
    )
    fans = {
        "type": "fan_messages",
        "platforms": ["onlyfans"],
        "data": {"accountId": a.account, "recipients": ["fan-1"], "theme": "tenants"},
    }
    refused = api.call("POST", "/api/v2/campaigns/hybrid", fans, token=b.user_token())
    assert refused.status == 403 and refused.body["error"]["code"] == "ACCOUNT_NOT_ALLOWED", refused.body
    # B's admin sees B's account, never A's.
    listed = get(api, "/api/v2/creator-accounts", b.admin_token()).body["data"]["accounts"]
    assert [acc["accountId"] for acc in listed] == [b.account]


def test_the_tenant_parameters_and_fields_are_in_the_openapi_document(api):
    document = api.call("GET", "/api/openapi.json").body
    for path in (
        "/api/v2/costs/stats",
        "/api/v2/costs/breakdown",
        "/api/v2/campaigns/costs",
        "/api/v2/costs/compare",
        "/api/v2/costs/export",
    ):
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert {"scope", "tenant"} <= set(parameters), path
        assert "tenant" in str(parameters["scope"]["schema"]), path
    breakdown = {p["name"]: p for p in document["paths"]["/api/v2/costs/breakdown"]["get"]["parameters"]}
    assert "tenant" in str(breakdown["groupBy"]["schema"])
    schemas = document["components"]["schemas"]
    assert "tenantId" in schemas["CostScopeView"]["properties"]
    assert "tenant" in schemas["CreatorAccountView"]["properties"]
