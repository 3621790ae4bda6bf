"""Thresholds and alert rules over HTTP: who may set what, validation, and real campaigns crossing tiny thresholds."""

from __future__ import annotations

import uuid

import pytest

from shared.config.settings import get_settings
from tests.conftest import subscribed_topic
from tests.e2e.test_costs_api import CAMPAIGN, call, run_campaigns

THRESHOLDS, ALERTS = "/api/v2/costs/thresholds", "/api/v2/costs/alerts"


def user(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def put(api, path, who, body, admin=False):
    return api.call("PUT", path, body, token=api.token(who, admin=admin))


def create_threshold(api, who, admin=False, **fields):
    reply = call(api, THRESHOLDS, who, admin=admin, body={"scope": "user", "period": "daily", **fields})
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]


def error_fields(reply) -> list[str]:
    return [d["field"] for d in reply.json()["error"]["details"]]


def test_a_user_creates_and_lists_their_own_thresholds_with_real_spend(api):
    alice = user("alice")
    spent = sum(run_campaigns(api, alice, [CAMPAIGN]).values())
    made = create_threshold(api, alice, amountUsd=0.5)
    assert made["thresholdId"].startswith("th_") and made["ownerId"] == alice and made["amountMicros"] == 500_000
    assert made["spentMicros"] == spent and made["userId"] == alice
    listed = call(api, THRESHOLDS, alice).json()["data"]
    mine = [t for t in listed["thresholds"] if t["source"] == "stored" and not t["isGlobal"]]
    assert [t["thresholdId"] for t in mine] == [made["thresholdId"]]
    defaults = [t for t in listed["thresholds"] if t["source"] == "settings"]
    assert [(t["thresholdId"], t["isGlobal"], t["spentMicros"]) for t in defaults] == [
        ("settings:daily", True, None),
        ("settings:monthly", True, None),
    ]
    assert call(api, THRESHOLDS, user("bob"), userId=alice).status_code == 403
    as_admin = call(api, THRESHOLDS, "ops", admin=True, userId=alice).json()["data"]["thresholds"]
    assert made["thresholdId"] in [t["thresholdId"] for t in as_admin]


def test_admin_only_thresholds_and_other_users_campaigns(api):
    alice, bob = user("alice"), user("bob")
    for body in (
        {"scope": "global", "period": "daily", "amountUsd": 1},
        {"scope": "user", "userId": bob, "period": "daily", "amountUsd": 1},
        {"scope": "user", "period": "monthly", "amountUsd": 1, "action": "block"},
    ):
        refused = call(api, THRESHOLDS, alice, body=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN", body
        allowed = call(api, THRESHOLDS, "ops", admin=True, body={**body, "userId": bob} if "userId" in body else body)
        assert allowed.status_code == 201, allowed.text
    (campaign,) = run_campaigns(api, alice, [CAMPAIGN])
    not_bobs = call(
        api, THRESHOLDS, bob, body={"scope": "campaign", "campaignId": campaign, "period": "daily", "amountUsd": 1}
    )
    assert not_bobs.status_code == 404 and not_bobs.json()["error"]["code"] == "WORKFLOW_NOT_FOUND"
    alices = create_threshold(api, alice, scope="campaign", campaignId=campaign, amountUsd=1)
    assert alices["campaignId"] == campaign and alices["spentMicros"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "team", "period": "daily", "amountUsd": 1}, "scope"),
        ({"scope": "user", "period": "daily", "amountUsd": 0}, "amountUsd"),
        ({"scope": "user", "period": "daily", "amountUsd": -5}, "amountUsd"),
        ({"scope": "user", "period": "daily", "amountUsd": 1, "note": "x"}, "note"),
        ({"scope": "campaign", "period": "daily", "amountUsd": 1}, "campaignId"),
        ({"scope": "user", "period": "daily", "amountUsd": 1, "action": "block"}, "action"),
    ],
)
def test_bad_thresholds_are_422_naming_the_field(api, body, field):
    reply = call(api, THRESHOLDS, "ops", admin=True, body=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "VALIDATION_ERROR" and field in error_fields(reply)


def test_crossing_a_tiny_user_threshold_delivers_exactly_one_email(api):
    spender = user("tiny")
    threshold = create_threshold(api, spender, amountUsd=0.001)
    assert api.call("DELETE", "/_local/emails").status == 200
    run_campaigns(api, spender, [CAMPAIGN, CAMPAIGN, CAMPAIGN])  # each over $0.001
    emails = [e for e in api.call("GET", "/_local/emails").body if f"user {spender} daily" in (e["subject"] or "")]
    assert len(emails) == 1, emails
    assert emails[0]["subject"].endswith("crossed $0.001") and emails[0]["topic"].endswith("cost-alerts")
    assert threshold["thresholdId"] in emails[0]["message"]
    history = call(api, ALERTS, spender, view="history").json()["data"]["history"]
    assert [(h["thresholdId"], h["channel"]["type"], h["status"]) for h in history] == [
        (threshold["thresholdId"], "email", "sent")
    ]


@pytest.fixture
def owner_topic(local_stack):
    """A topic named as this deployment allows (<prefix>-<stage>-alerts-…), and what arrives on it."""
    settings = get_settings()
    name = f"{settings.resource_prefix}-{settings.stage}-alerts-e2e-{uuid.uuid4().hex[:10]}"
    with subscribed_topic(local_stack, name, wait_s=1) as subscribed:
        yield subscribed


def test_a_rule_with_an_sns_channel_sends_once_to_the_owners_topic(api, owner_topic):
    arn, read = owner_topic
    owner = user("sns")
    threshold = create_threshold(api, owner, amountUsd=0.001)
    bad = call(
        api,
        ALERTS,
        owner,
        body={
            "thresholdId": threshold["thresholdId"],
            "channel": {"type": "sns", "topicArn": arn.replace("-alerts-", "-other-")},
        },
    )
    assert bad.status_code == 422 and "channel.topicArn" in error_fields(bad)
    rule = call(
        api, ALERTS, owner, body={"thresholdId": threshold["thresholdId"], "channel": {"type": "sns", "topicArn": arn}}
    )
    assert rule.status_code == 201, rule.text
    email = call(
        api, ALERTS, owner, body={"thresholdId": threshold["thresholdId"], "channel": {"type": "email"}}
    ).json()["data"]
    assert put(api, ALERTS, user("intruder"), {"ruleId": email["ruleId"], "enabled": False}).status == 404
    run_campaigns(api, owner, [CAMPAIGN, CAMPAIGN, CAMPAIGN])
    messages = read()
    assert len(messages) == 1 and f"user {owner} daily" in messages[0]["Subject"]
    rules = call(api, ALERTS, owner).json()["data"]["rules"]
    assert {r["ruleId"] for r in rules} == {rule.json()["data"]["ruleId"], email["ruleId"]}
    first = call(api, ALERTS, owner, view="history", limit=1).json()["data"]
    second = call(api, ALERTS, owner, view="history", limit=1, nextToken=first["nextToken"]).json()["data"]
    pages = first["history"] + second["history"]
    assert sorted(h["channel"]["type"] for h in pages) == ["email", "sns"]
    assert pages[0]["at"] >= pages[1]["at"] and all(h["status"] == "sent" for h in pages)
    off = put(api, ALERTS, owner, {"ruleId": email["ruleId"], "enabled": False})
    assert off.status == 200 and off.body["data"]["enabled"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"view": "log"}, "view"),
        ({"view": "history", "limit": 0}, "limit"),
        ({"view": "history", "limit": 101}, "limit"),
        ({"view": "history", "nextToken": "abc"}, "nextToken"),
    ],
)
def test_bad_alert_listings_are_422(api, params, field):
    reply = call(api, ALERTS, user("lister"), **params)
    assert reply.status_code == 422 and field in error_fields(reply), reply.text


def test_rules_on_unknown_or_foreign_thresholds_are_404(api):
    alice = user("alice")
    threshold = create_threshold(api, alice, amountUsd=1)
    body = {"thresholdId": threshold["thresholdId"], "channel": {"type": "email"}}
    assert call(api, ALERTS, user("bob"), body=body).status_code == 404
    assert call(api, ALERTS, alice, body={**body, "thresholdId": "th_" + "0" * 32}).status_code == 404
    assert call(api, ALERTS, alice, body={**body, "channel": {"type": "fax"}}).status_code == 422
