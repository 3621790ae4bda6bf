"""The threshold and alert-rule stores against the moto server: real conditions, real Query order and paging."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.alerts.channels import AlertChannels
from shared.alerts.checker import ThresholdChecker
from shared.alerts.rule_store import DynamoAlertRuleStore
from shared.alerts.rules import AlertRecord, AlertRule, OwnerTopics
from shared.alerts.spend_watch import SpendWatch
from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
from shared.alerts.threshold_store import DynamoThresholdStore
from shared.alerts.thresholds import (
    GLOBAL_OWNER,
    SpendThreshold,
    marker_keys,
    owner_key,
    threshold_key,
)
from shared.core.errors import LimitReachedError, ThresholdNotFoundError
from shared.ledger.ledger import CostLedger
from tests.conftest import subscribed_topic
from tests.support import moto_tables
from tests.support.factories import event
from tests.support.fakes import OutboxPublisher

AT = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
# The ledger tests' fixtures: a fresh streamed costs table per test, and its stores.
table = moto_tables.table
costs_table = moto_tables.new_store


def threshold(n: int, scope="user", subject="u1", owner="u1", period="daily", micros=1000, action="alert"):
    return SpendThreshold(f"th_{n:032x}", scope, subject, owner, period, micros, action, "admin", AT + n)


def test_thresholds_round_trip_and_apply_by_scope(costs_table):
    table = costs_table()
    store = DynamoThresholdStore(table._table, table._client)
    made = [
        threshold(1),
        threshold(2, scope="campaign", subject="wf_a"),
        threshold(3, scope="campaign", subject="wf_b"),
        threshold(4, scope="global", subject=None, owner=GLOBAL_OWNER),
        threshold(5, period="monthly", micros=9000, action="block"),
        threshold(6, period="monthly", micros=7000, action="downgrade"),
    ]
    for t in made:
        store.put(t)
    assert store.get("u1", made[0].threshold_id) == made[0]
    assert store.get("u2", made[0].threshold_id) is None
    assert [t.threshold_id for t in store.applicable("u1", "wf_a")] == [made[i].threshold_id for i in (3, 0, 1, 4, 5)]
    assert store.applicable("u2", "wf_a") == [made[3]]
    assert store.hard_cap("u1") == made[5]


def test_a_threshold_created_in_another_container_applies_from_the_next_call(costs_table):
    """Each call reads the owners' markers; a container re-reads an owner's list only when their version moved."""
    from local.request_counter import RequestCounter

    table = costs_table()
    store = DynamoThresholdStore(table._table, table._client)
    other_container = DynamoThresholdStore(table._table, table._client)
    counter = RequestCounter(table._client)

    def applicable() -> list[str]:
        markers = table.get_items(marker_keys("u1"))  # what the call's BatchGetItem brings along
        return [t.threshold_id for t in store.applicable("u1", "wf_a", markers)]

    assert applicable() == [] and counter.take() == {"BatchGetItem": 1}  # no marker: no Query
    other_container.put(threshold(1))
    counter.take()
    assert applicable() == [threshold(1).threshold_id]
    assert counter.take() == {"BatchGetItem": 1, "Query": 1}  # u1's version moved: their list, once
    for _ in range(5):
        assert applicable() == [threshold(1).threshold_id]
    assert counter.take() == {"BatchGetItem": 5}  # unchanged markers: the remembered list
    assert [t.threshold_id for t in store.remembered("u1", "wf_a")] == [threshold(1).threshold_id]
    other_container.put(threshold(2, scope="global", subject=None, owner=GLOBAL_OWNER))
    assert len(applicable()) == 2


def test_the_aggregator_reads_markers_once_per_batch_and_the_campaign_path_only_puts(table, settings):
    """A user without thresholds, and one with (known to the container): the request path is one Put per call,
    the aggregator one BatchGetItem of markers per batch, however many owners there are."""
    from local.request_counter import RequestCounter

    store = table.store()
    thresholds = DynamoThresholdStore(store._table, store._client)
    rules = DynamoAlertRuleStore(store._table, store._client)
    thresholds.put(threshold(1, micros=10**9))
    checker = ThresholdChecker(
        store, thresholds, rules, AlertChannels(None, "", OwnerTopics.of(settings)), clock=lambda: AT
    )
    defaults = ThresholdAlerts(CostLedger(store), OutboxPublisher(), thresholds_from_usd(Decimal(50), Decimal(1000)))
    folder = table.folder(SpendWatch(store, defaults, checker))
    recorder = table.store()
    assert CostLedger(recorder).record(event(1, micros=10, user="u1", at=AT))
    folder.drain()  # the container learns u1's list (one Query)
    requests, aggregator = RequestCounter(recorder._client), RequestCounter(store._client)
    for n in range(2, 12):
        assert CostLedger(recorder).record(event(n, micros=10, user="u1" if n % 2 else f"quiet-{n}", at=AT))
    assert requests.take() == {"PutItem": 10}
    folder.drain()
    reads = {op: n for op, n in aggregator.take().items() if op != "UpdateItem"}
    assert reads == {"BatchGetItem": 1, "Query": 1}  # the markers, and the month's day totals (monthly default)


def test_concurrent_creates_never_pass_the_owners_cap(costs_table):
    """Twelve containers create four thresholds each for one owner at once, with a cap of 30: exactly 30 exist."""
    table = costs_table()
    containers = [DynamoThresholdStore(table._table, table._client, max_per_owner=30) for _ in range(12)]
    barrier = threading.Barrier(12)

    def create(n: int) -> list[str]:
        barrier.wait()
        outcomes = []
        for k in range(4):
            try:
                containers[n].put(threshold(100 * n + k + 1))
                outcomes.append("created")
            except LimitReachedError as refused:
                assert refused.details[0]["limit"] == 30
                outcomes.append("refused")
        return outcomes

    with ThreadPoolExecutor(12) as pool:
        outcomes = [o for found in pool.map(create, range(12)) for o in found]
    assert outcomes.count("created") == 30 and outcomes.count("refused") == 18
    assert len(containers[0].list_for("u1")) == 30
    marker = table.get_items([owner_key("u1")])[owner_key("u1")]
    assert (marker["thresholdCount"], marker["version"]) == (30, 30)
    containers[0].put(threshold(9999, owner="u2", subject="u2"))  # another owner is not affected


def test_concurrent_rule_creates_never_pass_the_thresholds_cap(costs_table):
    table = costs_table()
    DynamoThresholdStore(table._table, table._client).put(threshold(1))
    containers = [DynamoAlertRuleStore(table._table, table._client, max_per_threshold=10) for _ in range(8)]
    barrier = threading.Barrier(8)

    def create(n: int) -> int:
        barrier.wait()
        created = 0
        for k in range(3):
            rule = AlertRule(f"ar_{100 * n + k:032x}", threshold(1).threshold_id, "u1", "email", None, True, "u1", AT)
            try:
                containers[n].add_rule(rule)
                created += 1
            except LimitReachedError:
                pass
        return created

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(create, range(8))) == 10
    assert len(containers[0].rules_of("u1")) == 10
    with pytest.raises(ThresholdNotFoundError):  # a rule on no threshold creates nothing, not even a count
        containers[0].add_rule(AlertRule("ar_" + "e" * 32, "th_" + "e" * 32, "u1", "email"))
    assert table.get_items([threshold_key("u1", "th_" + "e" * 32)]) == {}


def test_a_thousand_owners_need_no_big_item(costs_table):
    """Owners with the longest ids (128 characters, 4 bytes each in UTF-8): 1,000 of them made the owners' set
    ~500 KB, past DynamoDB's 400 KB item limit. Each owner now has one small marker; the last one's apply."""
    table = costs_table()
    store = DynamoThresholdStore(table._table, table._client)
    owners = [f"{n:05d}" + "\N{MUSICAL SYMBOL G CLEF}" * 123 for n in range(1000)]

    def create(n: int) -> None:
        store.put(threshold(n + 1, subject=owners[n], owner=owners[n]))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(len(owners))))
    assert sum(len(owner.encode()) for owner in owners) > 400 * 1024  # what one set of them would have held
    largest = max(len(json.dumps(item, ensure_ascii=False).encode()) for item in _scan(table))
    assert largest < 4096  # every item fits one read unit; the set item alone would have been over 400 KB
    last = owners[-1]
    found = store.applicable(last, "wf_a", table.get_items(marker_keys(last)))
    assert [t.owner_id for t in found] == [last]


def _scan(table) -> list[dict]:
    items, params = [], {"TableName": table._table}
    while True:
        page = table._client.scan(**params)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_rule_window_admits_one_of_many_concurrent_senders_and_reopens_after_it(costs_table):
    table = costs_table()
    rules = DynamoAlertRuleStore(table._table, table._client)
    barrier = threading.Barrier(12)

    def claim(_: int) -> bool:
        barrier.wait()
        return rules.claim_send("ar_x", AT, 1800)

    with ThreadPoolExecutor(12) as pool:
        assert sum(pool.map(claim, range(12))) == 1
    assert not rules.claim_send("ar_x", AT + 1800, 1800)
    assert rules.claim_send("ar_x", AT + 1801, 1800)
    rules.release_send("ar_x")
    assert rules.claim_send("ar_x", AT + 1802, 1800)


def test_history_is_newest_first_over_pages_with_a_ttl(costs_table):
    table = costs_table()
    rules = DynamoAlertRuleStore(table._table, table._client)
    for n in range(7):
        at = AT + n
        rules.add_record(
            AlertRecord(
                f"{n:016x}",
                "u1",
                "th_x",
                "ar_y",
                "sns",
                "arn",
                "sent",
                "2026-03-14",
                n,
                5,
                f"s{n}",
                at,
                int(at) + 90 * 86_400,
            )
        )
    rules.add_record(
        AlertRecord("f" * 16, "u2", "th_z", None, "email", None, "sent", "2026-03-14", 1, 1, "other", AT, 0)
    )
    seen, after = [], None
    while True:
        page, after = rules.history("u1", 3, after)
        seen.append([r.subject for r in page])
        if after is None:
            break
    assert seen == [["s6", "s5", "s4"], ["s3", "s2", "s1"], ["s0"]]
    item = table._client.get_item(
        TableName=table._table,
        Key={"pk": {"S": "ALERTLOG#u1"}, "sk": {"S": rules.history("u1", 1, None)[0][0].sort_key}},
    )["Item"]
    assert int(item["expiresAt"]["N"]) == int(AT + 6) + 90 * 86_400


def test_rules_round_trip_and_the_owners_own_topic_receives_one_message(costs_table, table, local_stack, settings):
    folded = table.folder()
    table = costs_table()
    topics = OwnerTopics.of(settings)
    owner = f"u1-{uuid.uuid4().hex[:8]}"
    thresholds = DynamoThresholdStore(table._table, table._client)
    rules = DynamoAlertRuleStore(table._table, table._client)
    t = threshold(1, subject=owner, owner=owner, micros=1000)
    thresholds.put(t)
    name = topics.arn(owner).rsplit(":", 1)[1]
    with subscribed_topic(local_stack, name) as (arn, read):
        assert arn == topics.arn(owner)
        rule = AlertRule("ar_" + "1" * 32, t.threshold_id, owner, "sns", arn, True, owner, AT, AT)
        rules.add_rule(rule)
        assert rules.get_rule(owner, rule.rule_id) == rule and rules.rules_of(owner) == [rule]
        checker = ThresholdChecker(
            table, thresholds, rules, AlertChannels(local_stack.moto.client("sns"), "", topics), clock=lambda: AT
        )
        ledger = CostLedger(table)
        for n in range(1, 4):
            recorded = event(n, micros=600, user=owner, at=AT)
            ledger.record(recorded)
            folded.drain()
            checker.check(recorded)
        messages = read()
    assert len(messages) == 1 and "crossed $0.001" in messages[0]["Subject"]
    (record,) = rules.history(owner, 10, None)[0]
    assert (record.rule_id, record.status, record.spent_micros, record.topic_arn) == (rule.rule_id, "sent", 1200, arn)


def test_one_owners_thresholds_crossing_together_send_one_email(costs_table, table, local_stack):
    """Five thresholds of one owner crossed by one call, checked by four containers at once: one e-mail."""
    folded = table.folder()
    table = costs_table()
    with subscribed_topic(local_stack, f"ops-it-{uuid.uuid4().hex[:10]}") as (ops_topic, read):
        for n in range(1, 6):
            DynamoThresholdStore(table._table, table._client).put(threshold(n, micros=1000 + n))
        crossing = event(1, micros=5000, at=AT)
        CostLedger(table).record(crossing)
        folded.drain()
        checkers = [
            ThresholdChecker(
                table,
                DynamoThresholdStore(table._table, table._client),
                DynamoAlertRuleStore(table._table, table._client),
                AlertChannels(local_stack.moto.client("sns"), ops_topic, OwnerTopics("", "", "", "")),
                clock=lambda: AT,
            )
            for _ in range(4)
        ]
        barrier = threading.Barrier(4)

        def check(checker: ThresholdChecker) -> list[str]:
            barrier.wait()
            return [a.status for a in checker.check(crossing)]

        with ThreadPoolExecutor(4) as pool:
            statuses = [s for found in pool.map(check, checkers) for s in found]
        assert sorted(statuses) == ["sent"] + ["suppressed"] * 4
        assert len(read()) == 1


def test_a_slack_rule_keeps_its_webhook_in_its_item_and_the_history_keeps_the_masked_form(costs_table):
    table = costs_table()
    owner = f"u1-{uuid.uuid4().hex[:8]}"
    DynamoThresholdStore(table._table, table._client).put(threshold(1, subject=owner, owner=owner))
    rules = DynamoAlertRuleStore(table._table, table._client)
    webhook = "https://hooks.slack.com/services/T012AB3CD/B0456EF78/abcdefghijklmnopqrstWXYZ"
    rule = AlertRule("ar_" + "2" * 32, threshold(1).threshold_id, owner, "slack", None, True, owner, AT, AT, webhook)
    rules.add_rule(rule)
    assert rules.get_rule(owner, rule.rule_id) == rule and rules.rules_of(owner)[0].webhook_url == webhook
    masked = "https://hooks.slack.com/services/T0…/…/…WXYZ"
    record = AlertRecord(
        "0" * 16,
        owner,
        rule.threshold_id,
        rule.rule_id,
        "slack",
        None,
        "sent",
        "2026-03-14",
        1,
        1,
        "s",
        AT,
        int(AT) + 60,
        masked,
    )
    rules.add_record(record)
    (stored,) = table._client.query(
        TableName=table._table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ALERTLOG#{owner}"}},
    )["Items"]
    assert stored["maskedWebhookUrl"] == {"S": masked} and "abcdefghijklmnop" not in json.dumps(stored)
    assert rules.history(owner, 10, None) == ([record], None)
