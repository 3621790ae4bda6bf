"""The Slack poster's real HTTP client (urllib) against the Slack webhook simulator: Retry-After, 5xx, refusals."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from local.slack_sim import WEBHOOK_PREFIX, SlackSimulator
from shared.alerts.slack_webhook import SlackPostError, SlackWebhookPoster, mask_webhook_url
from shared.core.retry import RetryPolicy

TOKEN = "0123456789abcdefTAIL"
POLICY = RetryPolicy(max_attempts=3, attempt_timeout_s=2, backoff_base_s=0.05, backoff_max_s=0.2, retry_after_max_s=2)


@pytest.fixture
def slack() -> Iterator[SlackSimulator]:
    sim = SlackSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()


def control(sim: SlackSimulator, method: str, path: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{sim.url}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def webhook(sim: SlackSimulator) -> str:
    return f"{sim.url}{WEBHOOK_PREFIX}T0123/B0456/{TOKEN}"


def test_a_429_with_retry_after_is_waited_then_one_message_is_recorded(slack):
    assert control(slack, "POST", "/_sim/slack/faults", {"status": 429, "count": 1, "retryAfterS": 1})[0] == 200
    started = time.monotonic()
    attempts = SlackWebhookPoster(POLICY, 5).post(webhook(slack), {"text": "crossed", "blocks": []})
    assert attempts == 2 and time.monotonic() - started >= 1.0
    (post,) = slack.posts()
    assert post["text"] == "crossed" and post["webhook"] == mask_webhook_url(f"{WEBHOOK_PREFIX}T0123/B0456/{TOKEN}")
    assert TOKEN not in json.dumps(control(slack, "GET", "/_sim/slack")[1])
    assert control(slack, "GET", "/_sim/slack/attempts")[1] == {"attempts": 2}


def test_500s_are_retried_and_a_persistent_one_fails_without_the_url_in_the_error(slack):
    control(slack, "POST", "/_sim/slack/faults", {"status": 500, "count": 2})
    assert SlackWebhookPoster(POLICY, 5).post(webhook(slack), {"text": "x"}) == 3
    control(slack, "POST", "/_sim/slack/faults", {"status": 503, "count": 5})
    with pytest.raises(SlackPostError) as caught:
        SlackWebhookPoster(POLICY, 5).post(webhook(slack), {"text": "x"})
    assert "HTTP 503 after 3 attempt(s)" in str(caught.value) and TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert len(slack.posts()) == 1 and control(slack, "GET", "/_sim/slack/faults")[1] == [
        {"status": 503, "count": 2, "retryAfterS": 1, "delayMs": 0}
    ]


def test_a_refused_body_is_final_and_an_unreachable_webhook_fails_cleanly(slack):
    with pytest.raises(SlackPostError, match="HTTP 400 after 1 attempt"):
        SlackWebhookPoster(POLICY, 5).post(webhook(slack), {"username": "no text"})
    url = webhook(slack)
    slack.stop()
    with pytest.raises(SlackPostError, match=r"no answer \(\w+\) after 3 attempt") as caught:
        SlackWebhookPoster(POLICY, 5).post(url, {"text": "x"})
    assert TOKEN not in str(caught.value) and caught.value.__context__ is None


def test_the_fault_control_refuses_what_it_cannot_do(slack):
    for bad in ({"status": 200}, {"status": 429, "retryAfterS": -1}, {"status": 500, "recipientId": "x"}, [1]):
        status, answer = control(slack, "POST", "/_sim/slack/faults", bad)
        assert status == 422 and answer["error"]["code"] == "INVALID_FAULT", bad
    assert control(slack, "DELETE", "/_sim/slack")[1] == []
