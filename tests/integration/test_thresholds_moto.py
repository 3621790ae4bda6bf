"""The threshold and alert-rule stores against the moto server: real conditions, real Query order and paging."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from shared.alerts.checker import AlertChannels, ThresholdChecker
from shared.alerts.rules import AlertRecord, AlertRule, DynamoAlertRuleStore
from shared.alerts.thresholds import GLOBAL_OWNER, DynamoThresholdStore, SpendThreshold
from shared.ledger.ledger import CostLedger
from tests.integration import test_cost_ledger_moto as ledger_moto
from tests.unit.test_cost_ledger import event

AT = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
# The ledger tests' fixtures: a fresh costs table per test, and a fresh topic with a queue reading it.
costs_table = ledger_moto.new_store
owner_topic = ledger_moto.topic


def threshold(n: int, scope="user", subject="u1", owner="u1", period="daily", micros=1000, action="alert"):
    return SpendThreshold(f"th_{n:032x}", scope, subject, owner, period, micros, action, "admin", AT + n)


def test_thresholds_round_trip_and_apply_by_scope(costs_table):
    table = costs_table()
    store = DynamoThresholdStore(table._table, table._client, cache_s=0)
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


def test_the_applicable_list_is_cached_per_container_until_a_put(costs_table):
    table = costs_table()
    now = [0.0]
    store = DynamoThresholdStore(table._table, table._client, cache_s=5, clock=lambda: now[0])
    assert store.applicable("u1", "wf_a") == []
    other_container = DynamoThresholdStore(table._table, table._client, cache_s=0)
    other_container.put(threshold(1))
    assert store.applicable("u1", "wf_a") == []  # cached for 5 s
    now[0] = 5.1
    assert len(store.applicable("u1", "wf_a")) == 1
    store.put(threshold(2))  # this container's own put is seen at once
    assert len(store.applicable("u1", "wf_a")) == 2


def test_a_user_without_thresholds_costs_no_query_only_the_owners_set(costs_table):
    from local.request_counter import RequestCounter

    table = costs_table()
    now = [0.0]
    store = DynamoThresholdStore(table._table, table._client, cache_s=5, clock=lambda: now[0])
    store.put(threshold(1, owner="u1"))
    counter = RequestCounter(table._client)
    for n in range(20):
        assert store.applicable(f"quiet-{n}", "wf_a") == [] and store.hard_cap(f"quiet-{n}") is None
    assert counter.take() == {"GetItem": 1}  # the owners' set, once per cache period; no Query at all
    assert [t.threshold_id for t in store.applicable("u1", "wf_a")] == [threshold(1).threshold_id]
    assert counter.take() == {"Query": 1}  # u1's partition; the global one has no threshold, so no read


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


def test_rules_round_trip_and_an_owner_topic_receives_one_message(costs_table, owner_topic, local_stack):
    table = costs_table()
    arn, read = owner_topic
    thresholds = DynamoThresholdStore(table._table, table._client, cache_s=0)
    rules = DynamoAlertRuleStore(table._table, table._client)
    t = threshold(1, micros=1000)
    thresholds.put(t)
    rule = AlertRule("ar_" + "1" * 32, t.threshold_id, "u1", "sns", arn, True, "u1", AT, AT)
    rules.put_rule(rule)
    assert rules.get_rule("u1", rule.rule_id) == rule and rules.rules_of("u1") == [rule]
    checker = ThresholdChecker(
        table, thresholds, rules, AlertChannels(local_stack.moto.client("sns"), ""), clock=lambda: AT
    )
    ledger = CostLedger(table)
    for n in range(1, 4):
        recorded = event(n, micros=600, at=AT)
        ledger.record(recorded)
        checker.check(recorded)
    messages = read()
    assert len(messages) == 1 and "crossed $0.001" in messages[0]["Subject"]
    (record,) = rules.history("u1", 10, None)[0]
    assert (record.rule_id, record.status, record.spent_micros) == (rule.rule_id, "sent", 1200)
