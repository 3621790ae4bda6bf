"""Stored thresholds and alert rules over fakes: one crossing per period, per-scope spend, rule windows, history."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.alerts.channels import AlertChannels
from shared.alerts.checker import ThresholdChecker
from shared.alerts.rules import AlertRule, OwnerTopics
from shared.alerts.slack_webhook import SlackPostError, SlackWebhookPoster
from shared.alerts.thresholds import GLOBAL_OWNER, SpendThreshold
from shared.core.retry import RetryPolicy
from shared.ledger.ledger import CostLedger
from tests.support.factories import event
from tests.support.fakes import (
    FakeSnsClient,
    InMemoryAlertRuleStore,
    InMemoryCostStore,
    InMemoryThresholdStore,
    ScriptedWebhook,
    SleepingClock,
)

EMAIL_TOPIC = "arn:aws:sns:us-east-1:123456789012:hybrid-orch-local-cost-alerts"
OWNER_TOPICS = OwnerTopics("us-east-1", "123456789012", "hybrid-orch", "local")
OWNER_TOPIC = OWNER_TOPICS.arn("u1")
MARCH_14 = datetime(2026, 3, 14, 9, tzinfo=UTC).timestamp()
MARCH_14_LATE = datetime(2026, 3, 14, 23, 45, tzinfo=UTC).timestamp()
DAY = 86_400
WEBHOOK = "https://hooks.slack.com/services/T012AB3CD/B0456EF78/abcdefghijklmnopqrstWXYZ"


class Clock:
    """Time the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    """A ledger, the stores and a checker, all in memory; ``spend`` records a call and checks, like the tracker."""

    def __init__(self, window_s: int = 1800, history_days: int = 90) -> None:
        self.costs = InMemoryCostStore()
        self.ledger = CostLedger(self.costs)
        self.thresholds = InMemoryThresholdStore()
        self.rules = InMemoryAlertRuleStore()
        self.sns = FakeSnsClient()
        self.clock = Clock(MARCH_14)
        waits = SleepingClock()
        self.webhook = ScriptedWebhook(waits)
        slack = SlackWebhookPoster(RetryPolicy(max_attempts=3), 5.0, self.webhook, clock=waits, sleep=waits.sleep)
        self.checker = ThresholdChecker(
            self.costs,
            self.thresholds,
            self.rules,
            AlertChannels(self.sns, EMAIL_TOPIC, OWNER_TOPICS, slack),
            rule_window_s=window_s,
            history_days=history_days,
            clock=self.clock,
            product="HO (test)",
            public_base_url="https://api.example.com",
        )
        self._n = 0

    def threshold(self, scope="user", subject="u1", period="daily", micros=1000, owner=None) -> SpendThreshold:
        self._n += 1
        threshold = SpendThreshold(
            threshold_id=f"th_{self._n:032x}",
            scope=scope,
            subject_id=None if scope == "global" else subject,
            owner_id=owner or (GLOBAL_OWNER if scope == "global" else subject if scope == "user" else "u1"),
            period=period,
            micros=micros,
            created_at=self._n,
        )
        self.thresholds.put(threshold)
        return threshold

    def rule(self, threshold: SpendThreshold, channel="sns", enabled=True) -> AlertRule:
        self._n += 1
        rule = AlertRule(
            rule_id=f"ar_{self._n:032x}",
            threshold_id=threshold.threshold_id,
            owner_id=threshold.owner_id,
            channel=channel,
            topic_arn=OWNER_TOPICS.arn(threshold.owner_id) if channel == "sns" else None,
            webhook_url=WEBHOOK if channel == "slack" else None,
            enabled=enabled,
            created_at=self._n,
        )
        self.rules.put_rule(rule)
        return rule

    def spend(self, micros: int, user="u1", campaign="wf_a", at: float | None = None):
        self._n += 1
        self.clock.now = at if at is not None else self.clock.now
        recorded = event(self._n, micros=micros, user=user, at=self.clock.now, campaign_id=campaign)
        assert self.ledger.record(recorded)
        return self.checker.check(recorded)

    def topics(self) -> list[str]:
        return [message["TopicArn"] for message in self.sns.published]


def test_a_user_threshold_without_rules_emails_the_cost_topic_once_per_period():
    h = Harness()
    h.threshold(scope="user", subject="u1", period="daily", micros=1000)
    assert h.spend(600) == []
    (alert,) = h.spend(600)
    assert (alert.status, alert.channel, alert.spent_micros, alert.period) == ("sent", "email", 1200, "2026-03-14")
    assert h.spend(600) == [] and h.spend(5000) == []
    assert h.topics() == [EMAIL_TOPIC]
    assert h.sns.published[0]["Subject"] == "HO (test): user u1 daily AI spend $0.0012 crossed $0.001"
    assert "120.0% of it" in h.sns.published[0]["Message"]
    h.spend(1500, at=MARCH_14 + DAY)  # a new day is a new period: one more alert
    assert h.topics() == [EMAIL_TOPIC, EMAIL_TOPIC]


def test_each_scope_compares_with_its_own_counter():
    h = Harness()
    user = h.threshold(scope="user", subject="u1", micros=1000)
    campaign = h.threshold(scope="campaign", subject="wf_big", owner="u2", micros=1000)
    everyone = h.threshold(scope="global", micros=2500)
    assert h.spend(900, user="u2", campaign="wf_other") == []  # not u1's spend, not wf_big's
    crossed = h.spend(900, user="u2", campaign="wf_big")  # wf_big at 900: below; everyone at 1800
    assert crossed == []
    crossed = h.spend(200, user="u2", campaign="wf_big")  # wf_big at 1100
    assert [a.threshold_id for a in crossed] == [campaign.threshold_id]
    crossed = h.spend(800, user="u1", campaign="wf_c")  # u1 at 800; everyone at 2800
    assert [a.threshold_id for a in crossed] == [everyone.threshold_id]
    crossed = h.spend(300, user="u1", campaign="wf_c")
    assert [a.threshold_id for a in crossed] == [user.threshold_id]
    assert {a.owner_id for a in h.rules.records[GLOBAL_OWNER]} == {GLOBAL_OWNER}


def test_a_monthly_threshold_counts_the_whole_month():
    h = Harness()
    h.threshold(period="monthly", micros=2000)
    assert h.spend(900) == [] and h.spend(900, at=MARCH_14 + DAY) == []
    assert len(h.spend(900, at=MARCH_14 + 2 * DAY)) == 1
    assert h.spend(900, at=MARCH_14 + 3 * DAY) == []


def test_rules_send_through_their_channels_instead_of_the_default():
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rule(threshold, channel="sns")
    h.rule(threshold, channel="email")
    h.rule(threshold, channel="sns", enabled=False)
    alerts = h.spend(1500)
    assert [(a.channel, a.status) for a in alerts] == [("sns", "sent"), ("email", "sent")]
    assert h.topics() == [OWNER_TOPIC, EMAIL_TOPIC]


def test_a_threshold_whose_rules_are_all_disabled_sends_nothing():
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rule(threshold, enabled=False)
    assert h.spend(1500) == [] and h.sns.published == []


def test_a_rule_sends_at_most_once_per_window():
    """Daily crossings 30 minutes apart (23:45, then 00:15): the second is suppressed; after the window, sent."""
    h = Harness(window_s=1800)
    threshold = h.threshold(micros=1000)
    rule = h.rule(threshold)
    assert [a.status for a in h.spend(1500, at=MARCH_14_LATE)] == ["sent"]
    assert [a.status for a in h.spend(1500, at=MARCH_14_LATE + 1800)] == ["suppressed"]  # the next day's crossing
    assert len(h.sns.published) == 1
    assert [a.status for a in h.spend(1500, at=MARCH_14_LATE + 2 * DAY)] == ["sent"]  # March 16: window long over
    assert len(h.sns.published) == 2
    statuses = [r.status for r in h.rules.records["u1"] if r.rule_id == rule.rule_id]
    assert statuses == ["sent", "suppressed", "sent"]


def test_the_window_reopens_just_after_it_ends():
    h = Harness(window_s=600)
    threshold = h.threshold(micros=1000)
    h.rule(threshold)
    at = datetime(2026, 3, 14, 23, 55, tzinfo=UTC).timestamp()
    h.spend(1500, at=at)
    h.spend(1500, at=at + 601)  # next day, 601 s later: a 600 s window has passed
    assert len(h.sns.published) == 2


def test_history_records_expire_after_the_configured_days():
    h = Harness(history_days=90)
    h.threshold(micros=1000)
    (alert,) = h.spend(1500)
    assert alert.expires_at == int(MARCH_14) + 90 * DAY
    assert h.rules.records["u1"] == [alert]


def test_a_failed_send_releases_the_crossing_so_the_next_call_retries():
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rule(threshold)
    h.sns.fail = True
    with pytest.raises(ConnectionError):
        h.spend(1500)
    assert h.sns.published == [] and h.rules.sent_until == {}
    assert [a.status for a in h.spend(10)] == ["sent"]
    assert len(h.sns.published) == 1


def test_concurrent_checkers_elect_one_announcer():
    """Twenty containers read the same crossing at once; the conditional marker lets only one send."""
    h = Harness()
    h.threshold(micros=1000)
    crossing = event(1, micros=1500, at=MARCH_14)
    assert h.ledger.record(crossing)
    barrier = threading.Barrier(20)

    def check(_: int) -> int:
        barrier.wait()
        return len(h.checker.check(crossing))

    with ThreadPoolExecutor(20) as pool:
        assert sum(pool.map(check, range(20))) == 1
    assert len(h.sns.published) == 1


def test_reads_per_batch_are_constant_whatever_its_size():
    """The aggregator's checks read the same whether a batch folds 1 call or 100: the owners' markers (one
    BatchGetItem) and the campaign's day (one strongly consistent Query of its providers), no crossing marker
    below the amounts."""
    from shared.alerts.spend_watch import SpendWatch

    h = Harness()
    h.costs.fold_before_reads = False
    for n in range(5):
        h.threshold(scope="campaign", subject=f"wf_{n}", micros=10**9)
    h.threshold(micros=10**9)  # daily: no month total to read
    watch = SpendWatch(h.costs, thresholds=h.checker)
    reads = []
    for calls in (1, 100):
        for _ in range(calls):
            h._n += 1
            h.ledger.record(event(h._n, micros=10, campaign_id="wf_1", at=MARCH_14))
        h.costs.requests.clear()
        h.costs.drain(watch=watch)
        reads.append({op: n for op, n in h.costs.requests.items() if op != "UpdateItem"})
    assert reads[0] == reads[1] == {"BatchGetItem": 1, "Query": 1}


def test_one_batch_reads_the_owners_markers_once_and_a_crossing_marker_per_reached_threshold_and_alerts_both():
    from shared.alerts.spend_watch import SpendWatch
    from shared.alerts.threshold_alerts import ThresholdAlerts, thresholds_from_usd
    from tests.support.fakes import OutboxPublisher

    h = Harness()
    h.costs.fold_before_reads = False
    h.threshold(micros=1000)  # the stored user threshold the batch crosses
    outbox = OutboxPublisher()
    defaults = ThresholdAlerts(h.ledger, outbox, thresholds_from_usd(Decimal("0.001"), Decimal(1000)))
    for n in range(3):
        assert h.ledger.record(event(n, micros=500, at=MARCH_14)) is True
    assert h.costs.requests == {"PutItem": 3}  # the request path: one Put per call, nothing else
    h.costs.drain(watch=SpendWatch(h.costs, defaults, h.checker))
    assert h.costs.requests["BatchGetItem"] == 1 + 2  # the owners' markers, then each reached threshold's marker
    assert len(h.sns.published) == 1  # the stored threshold's e-mail, with the batch's total
    assert "$0.0015" in h.sns.published[0]["Subject"]
    assert len(outbox.sent) == 1  # and the settings' daily one ($0.001) from the same read


def test_the_ops_mailbox_gets_one_email_per_owner_and_period_however_many_thresholds_cross():
    """Twenty thresholds of one user, all crossed by one call: one e-mail to the cost-alert topic, the rest logged."""
    h = Harness()
    for n in range(20):
        h.threshold(micros=1000 + n)
    alerts = h.spend(5000)
    assert sorted(a.status for a in alerts) == ["sent"] + ["suppressed"] * 19
    assert h.topics() == [EMAIL_TOPIC]
    assert h.spend(5000) == [] and h.topics() == [EMAIL_TOPIC]  # each crossing was announced once
    h.threshold(micros=7000)  # a new one crossing later the same day: still within the owner's one e-mail
    (late,) = h.spend(5000)
    assert late.status == "suppressed" and h.topics() == [EMAIL_TOPIC]
    h.threshold(period="monthly", micros=1000)  # another period, another e-mail
    assert [a.status for a in h.spend(10)] == ["sent"]
    h.threshold(owner="u2", subject="u2", micros=1000)  # another owner, their own e-mail
    assert [a.status for a in h.spend(1500, user="u2")] == ["sent"]
    assert h.topics() == [EMAIL_TOPIC] * 3
    h.spend(1500, at=MARCH_14 + DAY)  # the next day: u1's daily thresholds cross again, one e-mail for all of them
    assert h.topics() == [EMAIL_TOPIC] * 4
    assert {r.status for r in h.rules.records["u1"]} == {"sent", "suppressed"}


def test_email_rules_share_the_owners_one_email_while_sns_rules_still_send_each():
    h = Harness()
    first, second = h.threshold(micros=1000), h.threshold(micros=1100)
    for threshold in (first, second):
        h.rule(threshold, channel="email")
        h.rule(threshold, channel="sns")
    alerts = h.spend(1500)
    assert sorted((a.channel, a.status) for a in alerts) == [
        ("email", "sent"),
        ("email", "suppressed"),
        ("sns", "sent"),
        ("sns", "sent"),
    ]
    assert sorted(h.topics()) == sorted([EMAIL_TOPIC, OWNER_TOPIC, OWNER_TOPIC])
    suppressed = next(a for a in alerts if a.status == "suppressed")
    assert h.rules.sent_until.get(suppressed.rule_id) is None  # nothing went out: its window stays open


def test_a_failed_email_gives_the_owners_email_back():
    h = Harness()
    h.threshold(micros=1000)
    h.sns.fail = True
    with pytest.raises(ConnectionError):
        h.spend(1500)
    assert [a.status for a in h.spend(10)] == ["sent"] and h.topics() == [EMAIL_TOPIC]


def test_concurrent_crossings_of_one_owners_thresholds_send_one_email():
    """Ten thresholds, twenty containers checking the same crossing at once: one e-mail in all."""
    h = Harness()
    for n in range(10):
        h.threshold(micros=1000 + n)
    crossing = event(1, micros=5000, at=MARCH_14)
    assert h.ledger.record(crossing)
    barrier = threading.Barrier(20)

    def check(_: int) -> list[str]:
        barrier.wait()
        return [a.status for a in h.checker.check(crossing)]

    with ThreadPoolExecutor(20) as pool:
        statuses = [s for found in pool.map(check, range(20)) for s in found]
    assert sorted(statuses) == ["sent"] + ["suppressed"] * 9 and h.topics() == [EMAIL_TOPIC]


def test_an_sns_rule_publishes_to_its_owners_topic_whatever_topic_it_stored():
    """A rule stored before topics were bound to owners (naming another's topic) still reaches only its owner's."""
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rules.put_rule(
        AlertRule("ar_" + "f" * 32, threshold.threshold_id, "u1", "sns", OWNER_TOPICS.arn("u2"), created_at=1)
    )
    (alert,) = h.spend(1500)
    assert h.topics() == [OWNER_TOPICS.arn("u1")] and alert.topic_arn == OWNER_TOPICS.arn("u1")


def slack_posts(h: Harness) -> list[dict]:
    """Every message posted to the webhook (each attempt of it)."""
    return [json.loads(body) for _, body, _ in h.webhook.calls]


def test_a_slack_rule_posts_one_block_kit_message_with_the_scopes_spend():
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rule(threshold, channel="slack")
    h.spend(400, campaign="wf_a")
    (alert,) = h.spend(700, campaign="wf_b")
    assert (alert.channel, alert.status, alert.topic_arn) == ("slack", "sent", None)
    assert alert.masked_webhook_url == "https://hooks.slack.com/services/T0…/…/…WXYZ"
    (message,) = slack_posts(h)
    assert message["text"] == "HO (test): user u1 daily AI spend $0.0011 crossed $0.001" == alert.subject
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert "User u1, daily threshold" in sections[0] and "$0.0011 of $0.001 (110.0%)" in sections[0]
    assert sections[1].startswith("*Spend by provider*\n• `openai` $0.0011")
    assert [line.split("`")[1] for line in sections[2].splitlines()[1:]] == ["wf_b", "wf_a"]
    button = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["url"] == "https://api.example.com/dashboard"
    assert h.sns.published == []  # the rule replaces the default e-mail
    assert h.spend(5000) == []  # one crossing, one post
    assert len(h.webhook.calls) == 1


def test_a_campaign_thresholds_slack_message_lists_that_campaign_only():
    h = Harness()
    threshold = h.threshold(scope="campaign", subject="wf_big", owner="u1", micros=1000)
    h.rule(threshold, channel="slack")
    h.spend(900, campaign="wf_other")
    h.spend(1100, campaign="wf_big")
    (message,) = slack_posts(h)
    top = next(
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "campaigns" in b["text"]["text"]
    )
    assert top.splitlines() == ["*Top 1 campaigns*", top.splitlines()[1]] and "`wf_big` $0.0011" in top


def test_a_slack_rule_posts_at_most_once_per_window_and_the_history_says_so():
    h = Harness(window_s=1800)
    threshold = h.threshold(micros=1000)
    h.rule(threshold, channel="slack")
    assert [a.status for a in h.spend(1500, at=MARCH_14_LATE)] == ["sent"]
    assert [a.status for a in h.spend(1500, at=MARCH_14_LATE + 1800)] == ["suppressed"]
    assert len(h.webhook.calls) == 1
    assert [(r.channel, r.status, r.masked_webhook_url) for r in h.rules.records["u1"]] == [
        ("slack", "sent", "https://hooks.slack.com/services/T0…/…/…WXYZ"),
        ("slack", "suppressed", "https://hooks.slack.com/services/T0…/…/…WXYZ"),
    ]


def test_a_failed_slack_post_releases_the_window_and_the_crossing_so_the_next_check_posts():
    h = Harness()
    threshold = h.threshold(micros=1000)
    h.rule(threshold, channel="slack")
    h.webhook.script = [500, 500, 500]  # every attempt of the first check
    with pytest.raises(SlackPostError) as caught:
        h.spend(1500)
    assert "abcdefghijklmnopqrstWXYZ" not in str(caught.value)
    assert len(h.webhook.calls) == 3 and h.rules.sent_until == {} and h.rules.records.get("u1", []) == []
    assert [a.status for a in h.spend(10)] == ["sent"]  # the next recorded call checks the crossing again
    assert len(h.webhook.calls) == 4
