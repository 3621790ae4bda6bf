"""The creator-account registry over HTTP: admins link users to accounts, and fan_messages sends only as
an account linked to the caller — refused before a workflow, a provider call, a queued message or a cost.

Each test makes its own accounts and users, so the registry and the cost counters it reads start empty.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import ApiClient, Reply

ADMIN = "accounts-admin"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def admin(api: ApiClient) -> str:
    return api.token(ADMIN, admin=True)


def put_account(api: ApiClient, account_id: str, body: object, token: str | None = None) -> Reply:
    return api.call("PUT", f"/api/v2/creator-accounts/{account_id}", body, token=token or admin(api))


def fan_campaign(api: ApiClient, user: str, account_id: str, mode: str = "sync", is_admin: bool = False) -> Reply:
    body = {
        "type": "fan_messages",
        "platforms": ["onlyfans"],
        "mode": mode,
        "data": {"accountId": account_id, "recipients": ["fan-1", "fan-2"], "theme": "thank you"},
    }
    return api.call("POST", "/api/v2/campaigns/hybrid", body, token=api.token(user, admin=is_admin))


def listing(api: ApiClient, token: str, **query: str) -> Reply:
    path = "/api/v2/creator-accounts" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return api.call("GET", path, token=token)


def sent_as(api: ApiClient, account_id: str) -> list[dict]:
    return [s for s in api.call("GET", "/_sim/sent").body if s["accountId"] == account_id]


def requests_of(api: ApiClient, user: str) -> int:
    stats = api.call("GET", "/api/v2/costs/stats", token=api.token(user))
    assert stats.status == 200, stats.body
    return stats.body["data"]["requests"]["month"]


def workflow(api: ApiClient, workflow_id: str, user: str) -> dict:
    reply = api.call("GET", f"/api/v2/campaigns/status?workflowId={workflow_id}", token=api.token(user))
    assert reply.status == 200, reply.body
    return reply.body["data"]


def wait_for(predicate, timeout_s: float, interval_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval_s)
    return predicate()


def assert_not_allowed(reply: Reply) -> None:
    assert reply.status == 403, reply.body
    error = reply.body["error"]
    assert error["code"] == "ACCOUNT_NOT_ALLOWED" and "workflowId" not in error  # no workflow was stored
    assert error["details"][0]["field"] == "data.accountId"


def test_an_admin_links_a_user_who_then_sends_sync_and_async_on_their_own_behalf(api, sim):
    account, user = unique("creator"), unique("u1")
    reply = put_account(api, account, {"userIds": [user]})
    assert reply.status == 200, reply.body
    record = reply.body["data"]
    assert record["accountId"] == account and record["userIds"] == [user] and record["updatedBy"] == ADMIN
    assert record["updatedAt"].endswith("Z")

    sync = fan_campaign(api, user, account)
    assert sync.status == 200, sync.body
    assert sync.body["data"]["counts"]["queued"] == 2
    queued = fan_campaign(api, user, account, mode="async")
    assert queued.status == 202, queued.body
    workflow_id = queued.body["data"]["workflowId"]
    done = wait_for(lambda: (w := workflow(api, workflow_id, user))["status"] == "completed" and w, 40)
    assert done and done["counts"] == {"sent": 2, "queued": 0, "failed": 0}

    sends = wait_for(lambda: len(sent_as(api, account)) >= 4 and sent_as(api, account), 30)
    assert sends and len(sends) == 4 and {s["onBehalfOf"] for s in sends} == {user}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_user_not_linked_is_refused_before_any_token_queue_or_cost(api, sim, mode):
    account, owner, intruder = unique("creator"), unique("owner"), unique("u2")
    assert put_account(api, account, {"userIds": [owner]}).status == 200
    before = requests_of(api, intruder)

    assert_not_allowed(fan_campaign(api, intruder, account, mode=mode))
    time.sleep(1.0)  # long enough for a queued job or message to have been picked up, had one been queued
    assert sim.requests() == []  # no provider call
    assert sent_as(api, account) == []  # nothing sent
    assert requests_of(api, intruder) == before == 0  # no cost recorded


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_admin_not_linked_to_the_account_is_refused_too(api, sim, mode):
    account = unique("creator")
    assert put_account(api, account, {"userIds": [unique("someone")]}).status == 200
    assert_not_allowed(fan_campaign(api, ADMIN, account, mode=mode, is_admin=True))
    assert sim.requests() == []


def test_an_account_nobody_registered_is_refused(api, sim):
    assert_not_allowed(fan_campaign(api, unique("u1"), unique("typo")))
    assert sim.requests() == []


def test_deleting_an_account_answers_204_and_refuses_the_next_send(api, sim):
    account, user = unique("creator"), unique("u1")
    assert put_account(api, account, {"userIds": [user]}).status == 200
    assert fan_campaign(api, user, account).status == 200
    deleted = api.call("DELETE", f"/api/v2/creator-accounts/{account}", token=admin(api))
    assert deleted.status == 204 and deleted.body is None
    sim.reset()
    assert_not_allowed(fan_campaign(api, user, account))
    assert sim.requests() == []
    again = api.call("DELETE", f"/api/v2/creator-accounts/{account}", token=admin(api))
    assert again.status == 404 and again.body["error"]["code"] == "ACCOUNT_NOT_FOUND"


def test_replacing_the_set_unlinks_whoever_is_left_out(api, sim):
    account, first, second = unique("creator"), unique("u1"), unique("u2")
    assert put_account(api, account, {"userIds": [first]}).status == 200
    assert put_account(api, account, {"userIds": [second]}).body["data"]["userIds"] == [second]
    assert_not_allowed(fan_campaign(api, first, account))
    assert fan_campaign(api, second, account).status == 200


def test_a_user_lists_only_their_own_accounts_and_an_admin_any_users_page_by_page(api):
    user, other = unique("u1"), unique("u2")
    mine = sorted(unique("mine") for _ in range(3))
    theirs = unique("theirs")
    for account in mine:
        assert put_account(api, account, {"userIds": [user, other]}).status == 200
    assert put_account(api, theirs, {"userIds": [other]}).status == 200

    own = listing(api, api.token(user))
    assert own.status == 200, own.body
    assert [a["accountId"] for a in own.body["data"]["accounts"]] == mine
    assert own.body["data"]["userId"] == user and own.body["data"]["nextToken"] is None
    assert own.body["data"]["accounts"][0]["userIds"] == sorted([user, other])

    seen, token = [], None
    for _ in range(5):
        query = {"userId": other, "limit": "1", **({"nextToken": token} if token else {})}
        page = listing(api, admin(api), **query)
        assert page.status == 200, page.body
        assert len(page.body["data"]["accounts"]) <= 1
        seen += [a["accountId"] for a in page.body["data"]["accounts"]]
        token = page.body["data"]["nextToken"]
        if token is None:
            break
    assert seen == sorted([*mine, theirs])


def test_an_admin_without_user_id_sees_every_account_in_pages(api):
    made = {unique("all") for _ in range(2)}
    for account in made:
        assert put_account(api, account, {"userIds": [unique("u")]}).status == 200
    first = listing(api, admin(api), limit="1")
    assert first.status == 200 and first.body["data"]["userId"] is None
    assert len(first.body["data"]["accounts"]) == 1 and first.body["data"]["nextToken"]
    seen, token = [a["accountId"] for a in first.body["data"]["accounts"]], first.body["data"]["nextToken"]
    while token:
        page = listing(api, admin(api), limit="100", nextToken=token)
        assert page.status == 200, page.body
        seen += [a["accountId"] for a in page.body["data"]["accounts"]]
        token = page.body["data"]["nextToken"]
    assert made <= set(seen) and seen == sorted(seen) and len(seen) == len(set(seen))


def test_a_page_token_of_one_listing_does_not_resume_another(api):
    user = unique("u1")
    for _ in range(2):
        assert put_account(api, unique("tok"), {"userIds": [user]}).status == 200
    token = listing(api, admin(api), userId=user, limit="1").body["data"]["nextToken"]
    assert token
    reply = listing(api, admin(api), limit="1", nextToken=token)
    assert reply.status == 422 and reply.body["error"]["details"][0]["field"] == "nextToken"


def test_non_admins_cannot_change_the_registry_or_read_another_users_accounts(api):
    account, user = unique("creator"), unique("u1")
    assert put_account(api, account, {"userIds": [user]}, token=api.token(user)).status == 403
    assert put_account(api, account, {"userIds": [user]}).status == 200
    assert api.call("DELETE", f"/api/v2/creator-accounts/{account}", token=api.token(user)).status == 403
    assert listing(api, api.token(user), userId="somebody-else").status == 403
    assert listing(api, api.token(user), userId=user).status == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v2/creator-accounts", None),
        ("PUT", "/api/v2/creator-accounts/creator_01", {"userIds": ["u1"]}),
        ("DELETE", "/api/v2/creator-accounts/creator_01", None),
    ],
)
def test_no_token_is_a_401(api, method, path, body):
    reply = api.call(method, path, body)
    assert reply.status == 401 and reply.body["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("account", "body", "field"),
    [
        ("creator_01", {"userIds": []}, "userIds"),
        ("creator_01", {"userIds": ["u1", "u1"]}, "userIds"),
        ("creator_01", {"userIds": [f"u{i}" for i in range(101)]}, "userIds"),
        ("creator_01", {"userIds": ["has space"]}, "userIds.0"),
        ("creator_01", {"userIds": ["u1"], "extra": 1}, "extra"),
        ("creator_01", {}, "userIds"),
        ("x", {"userIds": ["u1"]}, "accountId"),  # the fan_messages rule: 3-64 characters
        ("-starts-with-dash", {"userIds": ["u1"]}, "accountId"),
    ],
)
def test_a_bad_put_is_a_422_naming_the_field(api, account, body, field):
    reply = put_account(api, account, body)
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "VALIDATION_ERROR"
    assert any(d["field"] == field for d in reply.body["error"]["details"]), reply.body


def test_malformed_json_is_a_400(api):
    reply = api.call(
        "PUT",
        "/api/v2/creator-accounts/creator_01",
        b'{"userIds": [',
        token=admin(api),
        headers={"content-type": "application/json"},
    )
    assert reply.status == 400 and reply.body["error"]["code"] == "MALFORMED_JSON"


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"nextToken": "not-a-token"}])
def test_bad_listing_parameters_are_a_422(api, query):
    assert listing(api, admin(api), **query).status == 422
