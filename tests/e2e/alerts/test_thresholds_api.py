"""Thresholds and alert rules over HTTP: who may set what, validation, and real campaigns crossing tiny thresholds."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import eventually, subscribed_topic
from tests.support.e2e import (
    ALERTS,
    CAMPAIGN,
    THRESHOLDS,
    call,
    create_threshold,
    error_fields,
    run_campaigns,
    settled,
    spend,
)


def user(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def put(api, path, who, body, admin=False):
    return api.call("PUT", path, body, token=api.token(who, admin=admin))


def test_a_user_creates_and_lists_their_own_thresholds_with_real_spend(api):
    alice = user("alice")
    spent = sum(spend(api, alice, [CAMPAIGN]).values())
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
    (campaign,) = spend(api, alice, [CAMPAIGN])
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
    spend(api, spender, [CAMPAIGN, CAMPAIGN, CAMPAIGN])  # each over $0.001
    emails = settled(
        lambda: [e for e in api.call("GET", "/_local/emails").body if f"user {spender} daily" in (e["subject"] or "")]
    )
    assert len(emails) == 1, emails
    assert emails[0]["subject"].endswith("crossed $0.001") and emails[0]["topic"].endswith("cost-alerts")
    assert threshold["thresholdId"] in emails[0]["message"]
    history = call(api, ALERTS, spender, view="history").json()["data"]["history"]
    assert [(h["thresholdId"], h["channel"]["type"], h["status"]) for h in history] == [
        (threshold["thresholdId"], "email", "sent")
    ]


def test_many_thresholds_of_one_owner_crossing_send_the_ops_mailbox_one_email(api):
    """Eight thresholds (five without rules, three with an e-mail rule) crossed over three calls: one e-mail."""
    spender = user("flood")
    made = [create_threshold(api, spender, amountUsd=f"0.{4 * n:04d}") for n in range(1, 9)]  # $0.0004..0.0032
    for threshold in made[5:]:
        rule = call(api, ALERTS, spender, body={"thresholdId": threshold["thresholdId"], "channel": {"type": "email"}})
        assert rule.status_code == 201, rule.text
    assert api.call("DELETE", "/_local/emails").status == 200
    spend(api, spender, [CAMPAIGN, CAMPAIGN, CAMPAIGN])  # about $0.0012 each: every threshold crossed
    emails = settled(
        lambda: [e for e in api.call("GET", "/_local/emails").body if f"user {spender} daily" in (e["subject"] or "")]
    )
    assert len(emails) == 1, emails
    history = settled(lambda: call(api, ALERTS, spender, view="history", limit=100).json()["data"]["history"], 8)
    assert sorted(h["status"] for h in history) == ["sent"] + ["suppressed"] * 7
    assert {h["thresholdId"] for h in history} == {t["thresholdId"] for t in made}


@pytest.fixture
def owner_topic(api, local_stack):
    """A fresh owner and their one topic (the name ``GET /costs/alerts`` gives them), and what arrives on it."""
    owner = user("sns")
    arn = call(api, ALERTS, owner).json()["data"]["ownerTopicArn"]
    with subscribed_topic(local_stack, arn.rsplit(":", 1)[1], wait_s=1) as (created, read):
        assert created == arn
        yield owner, arn, read


def test_a_rule_with_an_sns_channel_sends_once_to_the_owners_topic(api, owner_topic):
    owner, arn, read = owner_topic
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
    spend(api, owner, [CAMPAIGN, CAMPAIGN, CAMPAIGN])
    messages = settled(read)
    eventually(lambda: len(call(api, ALERTS, owner, view="history").json()["data"]["history"]) >= 2)
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


def test_no_one_can_point_alerts_at_another_owners_topic(api, owner_topic):
    """u1 has a topic; u2 (and an admin on u2's threshold) naming it is a 422 on channel.topicArn."""
    _, u1_topic, read = owner_topic
    u2 = user("u2")
    u2_threshold = create_threshold(api, u2, amountUsd=0.001)
    attack = {"thresholdId": u2_threshold["thresholdId"], "channel": {"type": "sns", "topicArn": u1_topic}}
    refused = call(api, ALERTS, u2, body=attack)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR" and error_fields(refused) == ["channel.topicArn"]
    by_admin = call(api, ALERTS, "ops", admin=True, body={**attack, "userId": u2})
    assert by_admin.status_code == 422 and error_fields(by_admin) == ["channel.topicArn"]
    u2_rule = call(api, ALERTS, u2, body={**attack, "channel": {"type": "email"}}).json()["data"]
    moved = put(api, ALERTS, u2, {"ruleId": u2_rule["ruleId"], "channel": {"type": "sns", "topicArn": u1_topic}})
    assert moved.status == 422 and [d["field"] for d in moved.body["error"]["details"]] == ["channel.topicArn"]
    assert len(call(api, ALERTS, u2).json()["data"]["rules"]) == 1  # nothing else was stored
    run_campaigns(api, u2, [CAMPAIGN])  # u2 crosses: nothing reaches u1's topic
    assert read() == []


def test_the_51st_threshold_and_the_11th_rule_are_409_limit_reached(api):
    owner = user("capped")
    made = [create_threshold(api, owner, amountUsd=1 + n) for n in range(50)]
    refused = call(api, THRESHOLDS, owner, body={"scope": "user", "period": "daily", "amountUsd": 99})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "LIMIT_REACHED"
    assert refused.json()["error"]["details"] == [
        {"field": "thresholds", "message": "at most 50 thresholds per owner", "type": "limit", "limit": 50}
    ]
    by_admin = call(
        api, THRESHOLDS, "ops", admin=True, body={"scope": "user", "userId": owner, "period": "daily", "amountUsd": 1}
    )
    assert by_admin.status_code == 409  # the cap is the owner's, whoever creates it
    mine = [t for t in call(api, THRESHOLDS, owner).json()["data"]["thresholds"] if t["source"] == "stored"]
    assert len([t for t in mine if not t["isGlobal"]]) == 50

    rule = {"thresholdId": made[0]["thresholdId"], "channel": {"type": "email"}}
    for _ in range(10):
        assert call(api, ALERTS, owner, body=rule).status_code == 201
    eleventh = call(api, ALERTS, owner, body=rule)
    assert eleventh.status_code == 409 and eleventh.json()["error"]["code"] == "LIMIT_REACHED"
    assert eleventh.json()["error"]["details"] == [
        {"field": "rules", "message": "at most 10 alert rules per threshold", "type": "limit", "limit": 10}
    ]
    assert call(api, ALERTS, owner, body={**rule, "thresholdId": made[1]["thresholdId"]}).status_code == 201


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
