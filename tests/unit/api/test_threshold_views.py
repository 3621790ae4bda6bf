"""The thresholds and alerts routes' rules over fakes: validation, who may set what, spend shown, history pages."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import ValidationError

from shared.alerts.rules import AlertRecord, OwnerTopics
from shared.alerts.threshold_alerts import thresholds_from_usd
from shared.alerts.thresholds import GLOBAL_OWNER
from shared.api.alerts.rule_views import (
    create_rule,
    history_response,
    listed_owner,
    rule_response,
    rules_response,
    update_rule,
)
from shared.api.alerts.threshold_schemas import CreateAlertRuleRequest, CreateThresholdRequest, UpdateAlertRuleRequest
from shared.api.alerts.threshold_views import create_threshold, listed_user, thresholds_response
from shared.campaigns.models import Workflow
from shared.config.settings import Settings
from shared.core.errors import (
    AlertRuleNotFoundError,
    ForbiddenError,
    LimitReachedError,
    TenantNotFoundError,
    ThresholdNotFoundError,
    WorkflowNotFoundError,
)
from shared.core.identity import Caller
from shared.core.naming import owner_alert_topic_name
from shared.ledger.ledger import CostLedger
from tests.support.factories import event
from tests.support.fakes import InMemoryAlertRuleStore, InMemoryCostStore, InMemoryThresholdStore, InMemoryWorkflowStore

NOW = datetime(2026, 3, 14, 9, tzinfo=UTC).timestamp()
ALICE, BOB, ROOT = Caller(user_id="alice"), Caller(user_id="bob"), Caller(user_id="root", is_admin=True)
WF = "wf_" + "a" * 32
SETTINGS = Settings(stage="dev", resource_prefix="ho", aws_region="eu-west-1", deployment_account_id="111122223333")
# Each owner's one topic: the readable id, then the first 16 hex digits of the id's SHA-256.
GOOD_TOPIC = "arn:aws:sns:eu-west-1:111122223333:ho-dev-alerts-alice-2bd806c97f0e00af"
BOBS_TOPIC = "arn:aws:sns:eu-west-1:111122223333:ho-dev-alerts-bob-81b637d8fcd2c6da"


def threshold_request(**fields) -> CreateThresholdRequest:
    return CreateThresholdRequest.model_validate({"scope": "user", "period": "daily", "amountUsd": "0.5", **fields})


@pytest.fixture
def world():
    thresholds, workflows = InMemoryThresholdStore(), InMemoryWorkflowStore()
    workflows.save(
        Workflow(
            workflow_id=WF,
            owner_id="alice",
            type="caption",
            platforms=["instagram"],
            mode="sync",
            status="completed",
            created_at="2026-03-14T09:00:00Z",
            updated_at="2026-03-14T09:00:00Z",
            expires_at=int(NOW) + 86_400,
        )
    )
    return thresholds, workflows


def body(response) -> dict:
    return response.body if isinstance(response.body, dict) else json.loads(response.body)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "team"}, "scope"),
        ({"amountUsd": 0}, "amountUsd"),
        ({"amountUsd": "-1"}, "amountUsd"),
        ({"amountUsd": "0.0000001"}, "amountUsd"),
        ({"amountUsd": "1000001"}, "amountUsd"),
        ({"period": "weekly"}, "period"),
        ({"colour": "red"}, "colour"),
        ({"campaignId": "wf_1"}, "campaignId"),
    ],
)
def test_the_model_refuses_bad_fields_naming_them(fields, field):
    with pytest.raises(ValidationError) as caught:
        threshold_request(**fields)
    assert field in [str(part) for error in caught.value.errors() for part in error["loc"]]


def test_amounts_become_exact_micro_dollars(world):
    thresholds, workflows = world
    created = create_threshold(threshold_request(amountUsd="12.345678"), ALICE, thresholds, workflows, NOW)
    assert (created.micros, created.owner_id, created.subject_id, created.action) == (
        12_345_678,
        "alice",
        "alice",
        "alert",
    )
    assert thresholds.get("alice", created.threshold_id) == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "global", "userId": "bob"}, "userId"),
        ({"scope": "campaign"}, "campaignId"),
        ({"scope": "user", "campaignId": WF}, "campaignId"),
        ({"action": "block"}, "action"),  # daily
        ({"scope": "global", "period": "monthly", "action": "downgrade"}, "action"),
        ({"userId": GLOBAL_OWNER}, "userId"),
    ],
)
def test_combinations_that_make_no_sense_are_422_naming_the_field(world, fields, field):
    thresholds, workflows = world
    with pytest.raises(RequestValidationError) as caught:
        create_threshold(threshold_request(**fields), ROOT, thresholds, workflows, NOW)
    assert caught.value.errors()[0]["loc"] == ("body", field)


@pytest.mark.parametrize(
    "fields",
    [
        {"scope": "global"},
        {"userId": "bob"},
        {"period": "monthly", "action": "block"},
    ],
)
def test_global_other_users_and_hard_caps_are_admin_only(world, fields):
    thresholds, workflows = world
    with pytest.raises(ForbiddenError):
        create_threshold(threshold_request(**fields), ALICE, thresholds, workflows, NOW)
    made = create_threshold(threshold_request(**fields), ROOT, thresholds, workflows, NOW)
    assert made.created_by == "root"


def test_an_admin_hard_cap_is_the_users_binding_cap(world):
    thresholds, workflows = world
    for amount in ("5", "3"):
        create_threshold(
            threshold_request(userId="bob", period="monthly", action="block", amountUsd=amount),
            ROOT,
            thresholds,
            workflows,
            NOW,
        )
    assert thresholds.hard_cap("bob").micros == 3_000_000


def test_campaign_thresholds_belong_to_the_campaigns_owner_and_others_get_404(world):
    thresholds, workflows = world
    mine = create_threshold(threshold_request(scope="campaign", campaignId=WF), ALICE, thresholds, workflows, NOW)
    assert (mine.owner_id, mine.subject_id) == ("alice", WF)
    by_admin = create_threshold(threshold_request(scope="campaign", campaignId=WF), ROOT, thresholds, workflows, NOW)
    assert by_admin.owner_id == "alice"
    for campaign in (WF, "wf_" + "b" * 32):
        with pytest.raises(WorkflowNotFoundError):
            create_threshold(threshold_request(scope="campaign", campaignId=campaign), BOB, thresholds, workflows, NOW)


def test_the_list_shows_own_global_and_default_thresholds_with_their_spend(world):
    thresholds, workflows = world
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    ledger.record(event(1, micros=250_000, user="alice", at=NOW, campaign_id=WF))
    ledger.record(event(2, micros=100_000, user="bob", at=NOW))
    create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    create_threshold(
        threshold_request(scope="campaign", campaignId=WF, amountUsd="1"), ALICE, thresholds, workflows, NOW
    )
    create_threshold(threshold_request(scope="global", amountUsd="0.7"), ROOT, thresholds, workflows, NOW)
    defaults = thresholds_from_usd(Decimal("50"), Decimal("1000"))

    seen = body(thresholds_response("alice", ALICE, thresholds, store, defaults, NOW))["data"]["thresholds"]
    by_kind = {(t["source"], t["scope"], t["amountMicros"]): t for t in seen}
    assert len(seen) == 5
    user = by_kind[("stored", "user", 500_000)]
    assert (user["spentMicros"], user["percent"], user["crossed"], user["periodLabel"]) == (
        250_000,
        50.0,
        False,
        "2026-03-14",
    )
    assert by_kind[("stored", "campaign", 1_000_000)]["spentMicros"] == 250_000
    hidden = by_kind[("stored", "global", 700_000)]
    assert hidden["isGlobal"] and hidden["spentMicros"] is None  # everyone's spend: admins only
    assert by_kind[("settings", "global", 50_000_000)]["thresholdId"] == "settings:daily"

    admin_view = body(thresholds_response("alice", ROOT, thresholds, store, defaults, NOW))["data"]["thresholds"]
    everyone = next(t for t in admin_view if t["source"] == "stored" and t["scope"] == "global")
    assert everyone["spentMicros"] == 350_000 and everyone["percent"] == 50.0
    only_global = body(thresholds_response(GLOBAL_OWNER, ROOT, thresholds, store, defaults, NOW))["data"]["thresholds"]
    assert [t["scope"] for t in only_global] == ["global"] * 3  # two defaults, one stored, none twice
    assert listed_user(ROOT, "bob") == "bob"
    with pytest.raises(ForbiddenError):
        listed_user(ALICE, "bob")


def test_rules_name_the_callers_own_thresholds_and_channels_of_this_deployment(world):
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore()
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    everyone = create_threshold(threshold_request(scope="global"), ROOT, thresholds, workflows, NOW)

    def rule(caller, threshold_id, channel, **extra):
        request = CreateAlertRuleRequest.model_validate({"thresholdId": threshold_id, "channel": channel, **extra})
        return create_rule(request, caller, thresholds, rules, SETTINGS, NOW)

    made = rule(ALICE, mine.threshold_id, {"type": "sns", "topicArn": GOOD_TOPIC})
    assert (made.owner_id, made.channel, made.topic_arn, made.enabled) == ("alice", "sns", GOOD_TOPIC, True)
    for bad in (
        "arn:aws:sns:eu-west-1:111122223333:ho-dev-cost-alerts",  # not an alerts-* topic
        GOOD_TOPIC.replace("eu-west-1", "us-east-1"),  # another region
        GOOD_TOPIC.replace("111122223333", "999999999999"),  # another account
        GOOD_TOPIC.replace("ho-dev-", "ho-prod-"),  # another stage
        "arn:aws:sns:eu-west-1:111122223333:ho-dev-alerts-alice",  # the pattern IAM allows, but not alice's name
        BOBS_TOPIC,  # another owner's
    ):
        with pytest.raises(RequestValidationError) as caught:
            rule(ALICE, mine.threshold_id, {"type": "sns", "topicArn": bad})
        assert caught.value.errors()[0]["loc"] == ("body", "channel.topicArn")
    with pytest.raises(ThresholdNotFoundError):
        rule(BOB, mine.threshold_id, {"type": "email"})  # not Bob's
    with pytest.raises(ThresholdNotFoundError):
        rule(ALICE, everyone.threshold_id, {"type": "email"})  # global: admins only
    assert rule(ROOT, everyone.threshold_id, {"type": "email"}).owner_id == GLOBAL_OWNER
    assert rule(ROOT, mine.threshold_id, {"type": "email"}, userId="alice").owner_id == "alice"
    with pytest.raises(ValidationError):
        CreateAlertRuleRequest.model_validate({"thresholdId": mine.threshold_id, "channel": {"type": "pager"}})


def test_updates_change_only_what_is_given_and_another_users_rule_is_404(world):
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore()
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    request = CreateAlertRuleRequest.model_validate({"thresholdId": mine.threshold_id, "channel": {"type": "email"}})
    rule = create_rule(request, ALICE, thresholds, rules, SETTINGS, NOW)

    def update(caller, **fields):
        return update_rule(
            UpdateAlertRuleRequest.model_validate({"ruleId": rule.rule_id, **fields}), caller, rules, SETTINGS, NOW + 60
        )

    off = update(ALICE, enabled=False)
    assert (off.enabled, off.channel, off.updated_at, off.created_at) == (False, "email", NOW + 60, NOW)
    moved = update(ALICE, channel={"type": "sns", "topicArn": GOOD_TOPIC})
    assert (moved.enabled, moved.channel, moved.topic_arn) == (False, "sns", GOOD_TOPIC)
    with pytest.raises(AlertRuleNotFoundError):
        update(BOB, enabled=True)
    with pytest.raises(RequestValidationError):
        update(ALICE)  # nothing to change
    assert update(ROOT, enabled=True, userId="alice").enabled
    listed = body(rules_response(listed_owner(ALICE, None), rules, SETTINGS, ALICE))["data"]
    assert [r["ruleId"] for r in listed["rules"]] == [rule.rule_id] and listed["view"] == "rules"


def test_history_pages_newest_first_with_an_opaque_token():
    rules = InMemoryAlertRuleStore()
    for n in range(5):
        at = NOW + n * 60
        rules.add_record(
            AlertRecord(
                f"{n:016x}",
                "alice",
                "th_x",
                None,
                "email",
                None,
                "sent",
                "2026-03-14",
                n,
                1,
                f"s{n}",
                at,
                int(at) + 90 * 86_400,
            )
        )
    pages, token = [], None
    while True:
        data = body(history_response("alice", rules, 2, token))["data"]
        pages.append([r["subject"] for r in data["history"]])
        token = data["nextToken"]
        if token is None:
            break
    assert pages == [["s4", "s3"], ["s2", "s1"], ["s0"]]
    first = body(history_response("alice", rules, 2, None))["data"]["nextToken"]
    with pytest.raises(RequestValidationError):
        history_response("bob", rules, 2, first)  # a token of Alice's listing is no use for Bob's
    with pytest.raises(RequestValidationError):
        history_response("alice", rules, 2, "not-a-token")
    with pytest.raises(ForbiddenError):
        listed_owner(ALICE, "bob")
    assert listed_owner(ROOT, GLOBAL_OWNER) == GLOBAL_OWNER


def test_alert_topics_belong_to_the_thresholds_owner_whoever_creates_the_rule(world):
    """The attack: Bob points his alerts at Alice's topic. Refused, and so is an admin aiming Alice's rule at Bob."""
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore()
    alices = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    bobs = create_threshold(threshold_request(), BOB, thresholds, workflows, NOW)
    everyone = create_threshold(threshold_request(scope="global"), ROOT, thresholds, workflows, NOW)

    def rule(caller, threshold, topic, **extra):
        request = CreateAlertRuleRequest.model_validate(
            {"thresholdId": threshold.threshold_id, "channel": {"type": "sns", "topicArn": topic}, **extra}
        )
        return create_rule(request, caller, thresholds, rules, SETTINGS, NOW)

    for caller, threshold, topic, extra in (
        (BOB, bobs, GOOD_TOPIC, {}),  # Bob's threshold, Alice's topic
        (ROOT, alices, BOBS_TOPIC, {"userId": "alice"}),  # an admin: still the owner's topic only
        (ROOT, alices, OwnerTopics.of(SETTINGS).arn("root"), {"userId": "alice"}),  # not the admin's own either
        (ROOT, everyone, GOOD_TOPIC, {}),  # a global threshold's topic is ALL's
    ):
        with pytest.raises(RequestValidationError) as caught:
            rule(caller, threshold, topic, **extra)
        (error,) = caught.value.errors()
        assert error["loc"] == ("body", "channel.topicArn") and threshold.owner_id in error["msg"]
    assert rules.rules == {}
    assert rule(BOB, bobs, BOBS_TOPIC).topic_arn == BOBS_TOPIC
    assert rule(ROOT, alices, GOOD_TOPIC, userId="alice").owner_id == "alice"
    global_topic = OwnerTopics.of(SETTINGS).arn(GLOBAL_OWNER)
    assert rule(ROOT, everyone, global_topic).topic_arn == global_topic

    mine = rule(BOB, bobs, BOBS_TOPIC)
    with pytest.raises(RequestValidationError) as caught:  # nor can an update move it to Alice's
        update_rule(
            UpdateAlertRuleRequest.model_validate(
                {"ruleId": mine.rule_id, "channel": {"type": "sns", "topicArn": GOOD_TOPIC}}
            ),
            BOB,
            rules,
            SETTINGS,
            NOW,
        )
    assert caught.value.errors()[0]["loc"] == ("body", "channel.topicArn")
    listed = body(rules_response("bob", rules, SETTINGS, BOB))["data"]
    assert listed["ownerTopicArn"] == BOBS_TOPIC  # what to create, said where the rules are listed


def test_without_a_known_account_no_sns_channel_is_accepted(world):
    thresholds, workflows = world
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    request = CreateAlertRuleRequest.model_validate(
        {"thresholdId": mine.threshold_id, "channel": {"type": "sns", "topicArn": GOOD_TOPIC}}
    )
    unknown = SETTINGS.model_copy(update={"deployment_account_id": ""})
    with pytest.raises(RequestValidationError) as caught:
        create_rule(request, ALICE, thresholds, InMemoryAlertRuleStore(), unknown, NOW)
    assert caught.value.errors()[0]["loc"] == ("body", "channel.topicArn")


@pytest.mark.parametrize(
    "owner",
    ["alice", "a.b@example.com", "a#b@example.com", "ünïcødé", "x" * 128, "ALL", "tenant|user/42", "a_b", "a-b"],
)
def test_owner_topic_names_are_valid_sns_names_and_one_per_owner(owner):
    name = owner_alert_topic_name("ho", "dev", owner)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", name), name
    assert name.startswith("ho-dev-alerts-") and name.endswith(hashlib.sha256(owner.encode()).hexdigest()[:16])
    assert name == owner_alert_topic_name("ho", "dev", owner)  # deterministic
    look_alikes = {"a.b@example.com", "a#b@example.com", "a_b@example.com", "a-b", "a_b", "a.b"}
    names = {owner_alert_topic_name("ho", "dev", o) for o in look_alikes | {owner}}
    assert len(names) == len(look_alikes | {owner})  # same readable part, different owners: different topics


def test_the_51st_threshold_of_an_owner_is_409_with_the_cap(world):
    _, workflows = world
    thresholds = InMemoryThresholdStore(max_per_owner=50)
    for _ in range(50):
        create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    with pytest.raises(LimitReachedError) as caught:
        create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    assert caught.value.code == "LIMIT_REACHED" and caught.value.details == [
        {"field": "thresholds", "message": "at most 50 thresholds per owner", "type": "limit", "limit": 50}
    ]
    with pytest.raises(LimitReachedError):  # an admin adding one for Alice counts on Alice's cap too
        create_threshold(threshold_request(userId="alice"), ROOT, thresholds, workflows, NOW)
    assert len(thresholds.list_for("alice")) == 50
    create_threshold(threshold_request(), BOB, thresholds, workflows, NOW)  # Bob has his own cap


def test_the_11th_rule_on_a_threshold_is_409_with_the_cap(world):
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore(max_per_threshold=10)
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    other = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)

    def rule(threshold):
        request = CreateAlertRuleRequest.model_validate(
            {"thresholdId": threshold.threshold_id, "channel": {"type": "email"}}
        )
        return create_rule(request, ALICE, thresholds, rules, SETTINGS, NOW)

    made = [rule(mine) for _ in range(10)]
    with pytest.raises(LimitReachedError) as caught:
        rule(mine)
    assert caught.value.details == [
        {"field": "rules", "message": "at most 10 alert rules per threshold", "type": "limit", "limit": 10}
    ]
    assert rule(other).threshold_id == other.threshold_id  # the cap is per threshold
    update = UpdateAlertRuleRequest.model_validate({"ruleId": made[0].rule_id, "enabled": False})
    assert update_rule(update, ALICE, rules, SETTINGS, NOW).enabled is False  # changing a rule adds none


@pytest.mark.parametrize("fraction", [0.0004, 0.0005, 0.1235, 0.9996])
def test_a_rules_created_at_reads_back_as_the_very_string_its_creation_answered(world, fraction):
    from shared.alerts.rule_store import rule_from_item, rule_to_item
    from shared.core.time import iso_timestamp

    thresholds, workflows = world
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    request = CreateAlertRuleRequest.model_validate({"thresholdId": mine.threshold_id, "channel": {"type": "email"}})
    created = create_rule(request, ALICE, thresholds, InMemoryAlertRuleStore(), SETTINGS, NOW + fraction)
    stored = rule_from_item(rule_to_item(created))  # what DynamoDB keeps: whole milliseconds
    assert iso_timestamp(stored.created_at) == iso_timestamp(created.created_at)
    assert iso_timestamp(stored.updated_at) == iso_timestamp(created.updated_at)


SLACK_TOKEN = "abcdefghijklmnopqrstWXYZ"
SLACK_URL = f"https://hooks.slack.com/services/T012AB3CD/B0456EF78/{SLACK_TOKEN}"
MASKED = "https://hooks.slack.com/services/T0…/…/…WXYZ"


def test_a_slack_rule_keeps_its_url_and_every_answer_shows_it_masked(world):
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore()
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    request = CreateAlertRuleRequest.model_validate(
        {"thresholdId": mine.threshold_id, "channel": {"type": "slack", "webhookUrl": SLACK_URL}}
    )
    made = create_rule(request, ALICE, thresholds, rules, SETTINGS, NOW)
    assert (made.channel, made.webhook_url, made.topic_arn) == ("slack", SLACK_URL, None)
    answers = [
        body(rule_response(made, 201)),
        body(rules_response("alice", rules, SETTINGS, ALICE)),
        body(
            rule_response(
                update_rule(
                    UpdateAlertRuleRequest.model_validate({"ruleId": made.rule_id, "enabled": False}),
                    ALICE,
                    rules,
                    SETTINGS,
                    NOW + 1,
                )
            )
        ),
    ]
    assert answers[0]["data"]["channel"] == {"type": "slack", "topicArn": None, "webhookUrl": MASKED}
    assert answers[1]["data"]["rules"][0]["channel"]["webhookUrl"] == MASKED
    assert answers[2]["data"]["enabled"] is False and answers[2]["data"]["channel"]["webhookUrl"] == MASKED
    assert rules.get_rule("alice", made.rule_id).webhook_url == SLACK_URL  # an update without channel keeps it
    for answer in answers:
        assert SLACK_TOKEN not in json.dumps(answer) and "T012AB3CD" not in json.dumps(answer)
    email = update_rule(
        UpdateAlertRuleRequest.model_validate({"ruleId": made.rule_id, "channel": {"type": "email"}}),
        ALICE,
        rules,
        SETTINGS,
        NOW + 2,
    )
    assert (email.channel, email.webhook_url) == ("email", None)  # moving off Slack forgets the secret


@pytest.mark.parametrize(
    "url",
    [
        f"http://hooks.slack.com/services/T0/B0/{SLACK_TOKEN}",
        f"https://hooks.slack.com.evil.com/services/T0/B0/{SLACK_TOKEN}",
        f"https://evil.com#hooks.slack.com/services/T0/B0/{SLACK_TOKEN}",
        f"https://hooks.slack.com:444/services/T0/B0/{SLACK_TOKEN}",
        f"https://x@hooks.slack.com/services/T0/B0/{SLACK_TOKEN}",
        f"https://hooks.slack.com/api/T0/B0/{SLACK_TOKEN}",
        f"http://127.0.0.1:3000/_sim/slack/services/T0/B0/{SLACK_TOKEN}",  # the simulator's, not configured here
        "x" * 600,
    ],
)
def test_a_slack_channel_that_is_not_a_slack_webhook_is_422_on_channel_webhook_url(world, url):
    thresholds, workflows = world
    rules = InMemoryAlertRuleStore()
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    channel = {"type": "slack", "webhookUrl": url}
    with pytest.raises(RequestValidationError) as caught:
        create_rule(
            CreateAlertRuleRequest.model_validate({"thresholdId": mine.threshold_id, "channel": channel}),
            ALICE,
            thresholds,
            rules,
            SETTINGS,
            NOW,
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("body", "channel.webhookUrl") and SLACK_TOKEN not in error["msg"]
    made = create_rule(
        CreateAlertRuleRequest.model_validate({"thresholdId": mine.threshold_id, "channel": {"type": "email"}}),
        ALICE,
        thresholds,
        rules,
        SETTINGS,
        NOW,
    )
    with pytest.raises(RequestValidationError) as caught:
        update_rule(
            UpdateAlertRuleRequest.model_validate({"ruleId": made.rule_id, "channel": channel}),
            ALICE,
            rules,
            SETTINGS,
            NOW,
        )
    assert caught.value.errors()[0]["loc"] == ("body", "channel.webhookUrl")
    assert rules.rules_of("alice") == [made]


def test_the_local_simulators_webhooks_pass_where_the_local_base_is_set(world):
    thresholds, workflows = world
    local = SETTINGS.model_copy(update={"slack_webhook_local_base": "http://127.0.0.1:3000/_sim/slack/services/"})
    mine = create_threshold(threshold_request(), ALICE, thresholds, workflows, NOW)
    url = f"http://127.0.0.1:3000/_sim/slack/services/T0/B0/{SLACK_TOKEN}"
    request = CreateAlertRuleRequest.model_validate(
        {"thresholdId": mine.threshold_id, "channel": {"type": "slack", "webhookUrl": url}}
    )
    assert create_rule(request, ALICE, thresholds, InMemoryAlertRuleStore(), local, NOW).webhook_url == url
    with pytest.raises(ValidationError):
        Settings(slack_webhook_local_base="https://evil.com/_sim/slack/services/")


ACME_ADMIN = Caller(user_id="ann", tenant="acme", tenant_admin=True)
GLOBEX_ADMIN = Caller(user_id="gil", tenant="globex", tenant_admin=True)
ACME_USER = Caller(user_id="al", tenant="acme")


def tenant_request(**fields) -> CreateThresholdRequest:
    return threshold_request(**{"scope": "tenant", "period": "monthly", "action": "block", **fields})


def test_a_tenant_cap_is_set_by_its_tenant_admin_or_a_platform_admin_and_binds_the_tenant(world):
    thresholds, workflows = world
    mine = create_threshold(tenant_request(amountUsd="4"), ACME_ADMIN, thresholds, workflows, NOW)
    assert (mine.scope, mine.subject_id, mine.owner_id) == ("tenant", "acme", "TENANT#acme")
    create_threshold(tenant_request(tenant="acme", amountUsd="2", action="downgrade"), ROOT, thresholds, workflows, NOW)
    binding = thresholds.tenant_cap("acme")
    assert (binding.micros, binding.action) == (2_000_000, "downgrade")
    assert thresholds.tenant_cap("globex") is None and thresholds.hard_cap("ann") is None


def test_another_tenants_admin_gets_404_and_a_plain_user_403(world):
    thresholds, workflows = world
    with pytest.raises(TenantNotFoundError):
        create_threshold(tenant_request(tenant="acme"), GLOBEX_ADMIN, thresholds, workflows, NOW)
    with pytest.raises(ForbiddenError):
        create_threshold(tenant_request(), ACME_USER, thresholds, workflows, NOW)
    assert thresholds.tenant_cap("acme") is None


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"action": "alert"}, "action"),
        ({"period": "daily"}, "period"),
        ({"tenant": None}, "tenant"),  # a platform admin without a tenant claim must name one
    ],
)
def test_a_tenant_threshold_is_a_monthly_hard_cap_naming_its_tenant(world, fields, field):
    thresholds, workflows = world
    request = CreateThresholdRequest.model_validate(
        {"scope": "tenant", "period": "monthly", "action": "block", "amountUsd": "1", **fields}
    )
    with pytest.raises(RequestValidationError) as refused:
        create_threshold(request, ROOT, thresholds, workflows, NOW)
    assert refused.value.errors()[0]["loc"] == ("body", field)


def test_tenant_is_only_for_scope_tenant_and_holds_no_separator(world):
    thresholds, workflows = world
    with pytest.raises(RequestValidationError) as refused:
        create_threshold(threshold_request(tenant="acme"), ROOT, thresholds, workflows, NOW)
    assert refused.value.errors()[0]["loc"] == ("body", "tenant")
    with pytest.raises(ValidationError):
        tenant_request(tenant="acme#USER")


def test_a_tenant_admins_list_holds_their_tenants_caps_with_spend_and_nobody_elses_does(world):
    thresholds, workflows = world
    store = InMemoryCostStore()
    CostLedger(store).record(event(1, micros=300_000, user="al", tenant="acme", at=NOW))
    create_threshold(tenant_request(amountUsd="4"), ACME_ADMIN, thresholds, workflows, NOW)
    create_threshold(tenant_request(tenant="globex", amountUsd="9"), ROOT, thresholds, workflows, NOW)

    def tenant_caps(user_id: str, caller: Caller) -> list[dict]:
        listed = body(thresholds_response(user_id, caller, thresholds, store, [], NOW))["data"]["thresholds"]
        return [t for t in listed if t["scope"] == "tenant"]

    (cap,) = tenant_caps(ACME_ADMIN.user_id, ACME_ADMIN)
    assert (cap["tenant"], cap["amountMicros"], cap["action"], cap["spentMicros"]) == (
        "acme",
        4_000_000,
        "block",
        300_000,
    )
    assert tenant_caps("al", ACME_ADMIN) == [cap]  # listing one of their users: the cap binds that user too
    assert tenant_caps(ACME_USER.user_id, ACME_USER) == []  # a plain user of the tenant
    assert [c["tenant"] for c in tenant_caps(GLOBEX_ADMIN.user_id, GLOBEX_ADMIN)] == ["globex"]
    assert len(tenant_caps("TENANT#acme", ACME_ADMIN)) == 1  # named directly: listed once, not twice
