"""Slack rules' pieces: which webhook URLs pass, how they are masked, the Block Kit message, the retry policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.alerts.slack_message import HEADER_MAX, slack_alert_message, top_by_spend
from shared.alerts.slack_webhook import (
    SlackPostError,
    SlackWebhookPoster,
    mask_webhook_url,
    webhook_url_problem,
)
from shared.core.observability import metrics
from shared.core.retry import RetryPolicy
from shared.ledger.store import Counters
from tests.support.fakes import ScriptedWebhook, SleepingClock

TOKEN = "abcdefghijklmnopqrstWXYZ"
GOOD = f"https://hooks.slack.com/services/T012AB3CD/B0456EF78/{TOKEN}"
LOCAL_BASE = "http://127.0.0.1:3000/_sim/slack/services/"


@pytest.mark.parametrize(
    "url",
    [
        GOOD,
        "https://hooks.slack.com/services/T0/B0/x",
        f"https://hooks.slack.com/services/{'a' * 64}/{'b' * 64}/{'c' * 64}",
    ],
)
def test_slack_webhooks_pass(url: str) -> None:
    assert webhook_url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        f"http://hooks.slack.com/services/T0/B0/{TOKEN}",  # not https
        f"https://hooks.slack.com.evil.com/services/T0/B0/{TOKEN}",  # a suffix host
        f"https://evil.com#hooks.slack.com/services/T0/B0/{TOKEN}",  # the host hidden in a fragment
        f"https://evil.com/?https://hooks.slack.com/services/T0/B0/{TOKEN}",
        f"https://hooks.slack.com@evil.com/services/T0/B0/{TOKEN}",  # user info
        f"https://user:pw@hooks.slack.com/services/T0/B0/{TOKEN}",
        f"https://hooks.slack.com:8443/services/T0/B0/{TOKEN}",  # a port
        f"https://hooks.slack.com:443/services/T0/B0/{TOKEN}",
        f"https://HOOKS.slack.com/services/T0/B0/{TOKEN}",
        f"https://hooks.slack.com./services/T0/B0/{TOKEN}",
        f"https://hooks.slack.com/workflows/T0/B0/{TOKEN}",  # not under /services/
        f"https://hooks.slack.com/services/T0/B0/{TOKEN}?x=1",
        f"https://hooks.slack.com/services/T0/B0/{TOKEN}#x",
        f"https://hooks.slack.com/services/T0/B0/{TOKEN}\n",  # a trailing newline ($ would let it through)
        f"https://hooks.slack.com/services/T0/B0/{TOKEN} ",
        "https://hooks.slack.com/services/T0/../../api",
        "https://hooks.slack.com/services/T0/B0",
        "https://hooks.slack.com/services/T0/B0/x/y",
        "https://hooks.slack.com/services/\u04220/B0/x",  # a Cyrillic capital Te, like a T
        "https://hooks.slack.com/services/%54/B0/x",
        f"https://hooks.slack.com/services/T0/B0/{'c' * 600}",
        "https://hooks.slack\u3002com/services/T0/B0/x",  # an ideographic full stop, which IDNA reads as "."
        f"{LOCAL_BASE}T0/B0/x",  # the simulator's base, while the setting is empty (deployed)
        "",
    ],
)
def test_anything_else_is_refused_without_repeating_the_url(url: str) -> None:
    problem = webhook_url_problem(url)
    assert problem is not None
    assert TOKEN not in problem and "evil" not in problem


def test_the_local_simulator_base_passes_only_when_configured() -> None:
    assert webhook_url_problem(f"{LOCAL_BASE}T0/B0/{TOKEN}", LOCAL_BASE) is None
    assert webhook_url_problem(f"{LOCAL_BASE}only-one", LOCAL_BASE) is None
    for bad in (
        f"{LOCAL_BASE}../../api/v2/costs/alerts",
        f"{LOCAL_BASE}",
        f"{LOCAL_BASE}a/b/c/d",
        f"http://127.0.0.1:3001/_sim/slack/services/T0/B0/{TOKEN}",  # another port
        f"http://127.0.0.1:3000/_sim/sent/services/T0/B0/{TOKEN}",
    ):
        assert webhook_url_problem(bad, LOCAL_BASE) is not None, bad
    assert webhook_url_problem(GOOD, LOCAL_BASE) is None


def test_masking_keeps_the_base_and_the_last_four_only() -> None:
    assert mask_webhook_url(GOOD) == "https://hooks.slack.com/services/T0…/…/…WXYZ"
    assert mask_webhook_url(f"{LOCAL_BASE}T0/B0/{TOKEN}") == f"{LOCAL_BASE}…/…/…WXYZ"
    assert mask_webhook_url(f"{LOCAL_BASE}short") == f"{LOCAL_BASE}…"  # too short to show any of it
    assert mask_webhook_url("/_sim/slack/services/T012AB3CD/B1/" + TOKEN) == "/_sim/slack/services/T0…/…/…WXYZ"
    assert mask_webhook_url("not a url") == "…"
    for url in (GOOD, f"{LOCAL_BASE}T012AB3CD/B0456EF78/{TOKEN}"):
        masked = mask_webhook_url(url)
        assert TOKEN not in masked and "T012AB3CD" not in masked and "B0456EF78" not in masked


def usage(nanos: int, calls: int = 1) -> Counters:
    return Counters(nanos=nanos, requests=calls, tokens_in=100 * calls, tokens_out=50 * calls)


def test_the_block_kit_message_says_what_crossed_spend_by_provider_top_campaigns_and_links_the_dashboard() -> None:
    campaigns = {f"wf_{n:032x}": usage(n * 1_000_000, n) for n in range(1, 8)}
    message = slack_alert_message(
        headline="HO (test): user u1 daily AI spend $0.0028 crossed $0.001",
        detail="User u1, daily threshold `th_1`, 2026-03-14 (UTC)",
        spent_micros=2800,
        threshold_micros=1000,
        by_provider={"openai": usage(800_000), "azure": usage(2_000_000, 2)},
        top_campaigns=top_by_spend(campaigns, 5),
        public_base_url="https://api.example.com/",
    )
    assert message["text"].startswith("HO (test): user u1 daily")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "section", "actions", "context"]
    header, what, providers, top = message["blocks"][:4]
    assert header["text"] == {"type": "plain_text", "text": message["text"], "emoji": False}
    assert "$0.0028 of $0.001 (280.0%)" in what["text"]["text"] and "`th_1`" in what["text"]["text"]
    lines = providers["text"]["text"].splitlines()
    assert lines[0] == "*Spend by provider*" and "`azure` $0.002" in lines[1] and "`openai` $0.0008" in lines[2]
    listed = top["text"]["text"].splitlines()
    assert listed[0] == "*Top 5 campaigns*" and [line.split("`")[1] for line in listed[1:]] == [
        f"wf_{n:032x}" for n in (7, 6, 5, 4, 3)
    ]
    (button,) = message["blocks"][4]["elements"]
    assert button["type"] == "button" and button["url"] == "https://api.example.com/dashboard"
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if b["type"] == "section")


def test_without_a_public_url_there_is_no_button_and_a_long_headline_is_clipped() -> None:
    message = slack_alert_message(
        headline="x" * 400,
        detail="Global",
        spent_micros=5,
        threshold_micros=1,
        by_provider={},
        top_campaigns=[],
    )
    assert "actions" not in [b["type"] for b in message["blocks"]]
    assert len(message["blocks"][0]["text"]["text"]) == HEADER_MAX
    assert "none recorded" in message["blocks"][2]["text"]["text"]
    assert message["blocks"][3]["text"]["text"] == "*Top campaigns*\nnone recorded"


POLICY = RetryPolicy(max_attempts=4, attempt_timeout_s=3, backoff_base_s=0.5, backoff_max_s=10, retry_after_max_s=5)


def poster(
    *script, deadline_s: float = 10.0, policy: RetryPolicy = POLICY
) -> tuple[SlackWebhookPoster, ScriptedWebhook]:
    clock = SleepingClock()
    webhook = ScriptedWebhook(clock, *script)
    return SlackWebhookPoster(policy, deadline_s, webhook, clock=clock, sleep=clock.sleep, rng=lambda: 1.0), webhook


@pytest.fixture(autouse=True)
def counted() -> Iterator[dict]:
    """The metrics this test added (the handlers' Metrics object, emptied around each test)."""
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def count(counted: dict, name: str) -> int:
    return int(sum(counted.get(name, {}).get("Value", [])))


def test_a_429_waits_its_retry_after_then_the_message_lands_once(counted) -> None:
    slack, webhook = poster((429, {"retry-after": "2"}), 200)
    assert slack.post(GOOD, {"text": "hi"}) == 2
    assert webhook.clock.slept == [2.0]
    assert [body for _, body, _ in webhook.calls] == [b'{"text":"hi"}'] * 2
    assert (count(counted, "SlackPostsRetried"), count(counted, "SlackPostsSent")) == (1, 1)
    assert count(counted, "SlackPostsFailed") == 0


def test_5xx_and_lost_connections_back_off_exponentially(counted) -> None:
    slack, webhook = poster(500, ConnectionResetError("reset"), 503, 200)
    assert slack.post(GOOD, {"text": "hi"}) == 4
    assert webhook.clock.slept == [0.5, 1.0, 2.0]  # full jitter at its top (rng 1.0): base x 2^(n-1)
    assert count(counted, "SlackPostsRetried") == 3


def test_a_persistent_5xx_fails_after_the_attempts_naming_the_masked_url_only(counted) -> None:
    slack, webhook = poster(500, 500, 500, 500)
    with pytest.raises(SlackPostError) as caught:
        slack.post(GOOD, {"text": "hi"})
    assert (
        str(caught.value) == "Slack webhook https://hooks.slack.com/services/T0…/…/…WXYZ: HTTP 500 after 4 attempt(s)"
    )
    assert caught.value.__cause__ is None and TOKEN not in repr(caught.value.args)
    assert len(webhook.calls) == 4
    assert (count(counted, "SlackPostsRetried"), count(counted, "SlackPostsFailed")) == (3, 1)


def test_a_gone_webhook_is_final_at_once(counted) -> None:
    slack, webhook = poster(404)
    with pytest.raises(SlackPostError, match="HTTP 404 after 1 attempt"):
        slack.post(GOOD, {"text": "hi"})
    assert webhook.clock.slept == [] and count(counted, "SlackPostsRetried") == 0


def test_a_retry_after_beyond_the_bound_or_the_deadline_gives_up_without_waiting() -> None:
    slack, webhook = poster((429, {"retry-after": "30"}))
    with pytest.raises(SlackPostError, match="HTTP 429 after 1 attempt"):
        slack.post(GOOD, {"text": "hi"})
    assert webhook.clock.slept == []
    slack, webhook = poster((429, {"retry-after": "4"}), 200, deadline_s=3)  # 4 s fit the bound, not the deadline
    with pytest.raises(SlackPostError, match="HTTP 429 after 1 attempt"):
        slack.post(GOOD, {"text": "hi"})
    assert webhook.clock.slept == []


def test_every_attempt_fits_in_what_is_left_of_the_deadline() -> None:
    slow = RetryPolicy(max_attempts=10, attempt_timeout_s=3, backoff_base_s=1, backoff_max_s=1, retry_after_max_s=5)
    slack, webhook = poster(*[500] * 10, deadline_s=4.5, policy=slow)
    with pytest.raises(SlackPostError):
        slack.post(GOOD, {"text": "hi"})
    timeouts = [t for _, _, t in webhook.calls]
    assert timeouts[0] == 3 and all(t <= 4.5 for t in timeouts)
    assert webhook.clock.now - 100.0 <= 4.5 + 1e-9  # never past the deadline
    # 0.1 s each, 1 s between: the fifth starts at 4.4 s with the 0.1 s left as its timeout, and no sixth
    assert len(webhook.calls) == 5 and timeouts[-1] == pytest.approx(0.1)
