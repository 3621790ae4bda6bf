"""Slack alert rules over HTTP on the local stack: real campaigns cross tiny thresholds, the Slack simulator
(behind ``/_sim/slack``) records what arrives, faults make Slack answer 429 or 500.

Each test uses fresh users and webhook URLs, and filters the simulator's record by its own webhook (masked
there as in every answer), so tests never see each other's posts.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.alerts.slack_webhook import mask_webhook_url
from shared.config.settings import get_settings
from shared.ledger.keys import day_period
from tests.conftest import eventually
from tests.support.e2e import ALERTS, CAMPAIGN, call, create_threshold, error_fields, settled, spend


def user(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def slack(api):
    """The Slack simulator's controls, faults cleared before and after; a maker of fresh local webhook URLs."""
    api.call("DELETE", "/_sim/slack/faults")

    def new_webhook() -> str:
        return f"{api.url}/_sim/slack/services/T{uuid.uuid4().hex[:8]}/B{uuid.uuid4().hex[:8]}/{uuid.uuid4().hex}"

    yield new_webhook
    api.call("DELETE", "/_sim/slack/faults")


def posts_to(api, webhook: str) -> list[dict]:
    """What the simulator accepted for this webhook (its record holds the path, masked)."""
    path = webhook.removeprefix(api.url)
    return [p for p in api.call("GET", "/_sim/slack").body if p["webhook"] == mask_webhook_url(path)]


def slack_rule(api, owner: str, webhook: str, amount_usd: float = 0.001) -> tuple[dict, dict]:
    threshold = create_threshold(api, owner, amountUsd=amount_usd)
    reply = call(api, ALERTS, owner, body={"thresholdId": threshold["thresholdId"], "channel": slack_channel(webhook)})
    assert reply.status_code == 201, reply.text
    return threshold, reply.json()["data"]


def slack_channel(webhook: str) -> dict:
    return {"type": "slack", "webhookUrl": webhook}


def history(api, owner: str) -> list[dict]:
    return call(api, ALERTS, owner, view="history").json()["data"]["history"]


class Emitted:
    """The metrics the handlers' EMF documents on stdout carried, summed by name over every read. The handlers
    share one Metrics object in the local process, so one invocation's metrics may come out in several documents
    (whichever handler flushes first)."""

    def __init__(self, capfd) -> None:
        self._capfd = capfd
        capfd.readouterr()
        self.totals: dict[str, float] = {}

    def __call__(self) -> dict[str, float]:
        for line in self._capfd.readouterr().out.splitlines():
            if '"_aws"' not in line:
                continue
            document = json.loads(line[line.index("{") :])
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                self.totals[metric["Name"]] = self.totals.get(metric["Name"], 0) + sum(
                    value if isinstance(value, list) else [value]
                )
        return self.totals


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T0/B0/secret",
        "https://hooks.slack.com.evil.com/services/T0/B0/secret",
        "https://evil.com#hooks.slack.com/services/T0/B0/secret",
        "https://evil.com/services/T0/B0/secret",
        "https://hooks.slack.com:8443/services/T0/B0/secret",
        "https://a@hooks.slack.com/services/T0/B0/secret",
        "https://hooks.slack.com/apps/T0/B0/secret",
        "http://127.0.0.1:1/_sim/slack/services/T0/B0/secret",  # not this stack's simulator
    ],
)
def test_a_webhook_that_is_not_slacks_is_422_naming_channel_webhook_url(api, url):
    owner = user("slack-bad")
    threshold = create_threshold(api, owner, amountUsd=1)
    reply = call(api, ALERTS, owner, body={"thresholdId": threshold["thresholdId"], "channel": slack_channel(url)})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "VALIDATION_ERROR" and error_fields(reply) == ["channel.webhookUrl"]
    assert "secret" not in reply.text
    assert call(api, ALERTS, owner).json()["data"]["rules"] == []


def test_rules_answer_the_webhook_masked_and_keep_it_across_updates(api, slack):
    owner, webhook = user("slack-mask"), slack()
    _, rule = slack_rule(api, owner, webhook, amount_usd=1)
    masked = mask_webhook_url(webhook)
    assert rule["channel"] == {"type": "slack", "topicArn": None, "webhookUrl": masked}
    off = api.call("PUT", ALERTS, {"ruleId": rule["ruleId"], "enabled": False}, token=api.token(owner))
    assert off.status == 200 and off.body["data"]["channel"]["webhookUrl"] == masked
    listed = call(api, ALERTS, owner)
    assert listed.json()["data"]["rules"][0]["channel"]["webhookUrl"] == masked
    moved = api.call(
        "PUT", ALERTS, {"ruleId": rule["ruleId"], "channel": slack_channel(f"{webhook}x")}, token=api.token(owner)
    )
    assert moved.status == 200 and moved.body["data"]["channel"]["webhookUrl"] == mask_webhook_url(f"{webhook}x")
    refused = api.call(
        "PUT", ALERTS, {"ruleId": rule["ruleId"], "channel": slack_channel("https://x.com/s")}, token=api.token(owner)
    )
    assert refused.status == 422 and [d["field"] for d in refused.body["error"]["details"]] == ["channel.webhookUrl"]
    secret = webhook.rsplit("/", 1)[1]
    for answer in (rule, off.body, listed.text, moved.body, refused.body):
        assert secret not in json.dumps(answer)


def test_a_crossing_posts_exactly_one_block_kit_message_and_none_while_the_window_holds(api, slack, local_stack):
    owner, webhook = user("slack-cross"), slack()
    threshold, rule = slack_rule(api, owner, webhook)
    spend(api, owner, [CAMPAIGN, CAMPAIGN])  # each over $0.001
    (post,) = settled(lambda: posts_to(api, webhook))
    assert post["text"].endswith("crossed $0.001") and f"user {owner} daily" in post["text"]
    kinds = [b["type"] for b in post["blocks"]]
    assert kinds[:4] == ["header", "section", "section", "section"] and "actions" in kinds
    text = "\n".join(b["text"]["text"] for b in post["blocks"] if b["type"] == "section")
    assert "*Spend by provider*" in text and "`azure`" in text and "wf_" in text
    button = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["url"] == f"{api.url}/dashboard"
    (sent,) = eventually(lambda: history(api, owner))
    assert (sent["ruleId"], sent["status"], sent["channel"]) == (
        rule["ruleId"],
        "sent",
        {"type": "slack", "topicArn": None, "webhookUrl": mask_webhook_url(webhook)},
    )
    # The crossing announced, a new one (as the next period's would be) finds the rule's 30-minute window held.
    crossed = (f"RULEMARK#CROSSED#{threshold['thresholdId']}", day_period(datetime.now(UTC).date()))
    local_stack.moto.client("dynamodb").delete_item(
        TableName=get_settings().cost_table_name, Key={"pk": {"S": crossed[0]}, "sk": {"S": crossed[1]}}
    )
    spend(api, owner, [CAMPAIGN])
    statuses = eventually(lambda: [h["status"] for h in history(api, owner) if len(history(api, owner)) == 2])
    assert statuses == ["suppressed", "sent"]
    assert len(settled(lambda: posts_to(api, webhook))) == 1


def test_a_429_is_waited_out_and_retried_one_post_delivered_and_the_retry_counted(api, slack, capfd):
    owner, webhook = user("slack-429"), slack()
    slack_rule(api, owner, webhook)
    assert api.call("POST", "/_sim/slack/faults", {"status": 429, "count": 1, "retryAfterS": 1}).status == 200
    emitted = Emitted(capfd)
    spend(api, owner, [CAMPAIGN, CAMPAIGN])
    assert len(settled(lambda: posts_to(api, webhook))) == 1
    assert api.call("GET", "/_sim/slack/faults").body == []  # the 429 was answered
    counted = eventually(lambda: emitted().get("SlackPostsRetried") and emitted().get("SlackPostsSent") and emitted())
    assert counted["SlackPostsRetried"] == 1 and counted["SlackPostsSent"] == 1
    assert "SlackPostsFailed" not in counted
    assert [h["status"] for h in history(api, owner)] == ["sent"]


def test_500s_are_retried_with_backoff_and_counted(api, slack, capfd):
    owner, webhook = user("slack-500"), slack()
    slack_rule(api, owner, webhook)
    api.call("POST", "/_sim/slack/faults", {"status": 500, "count": 2})
    emitted = Emitted(capfd)
    spend(api, owner, [CAMPAIGN, CAMPAIGN])
    assert len(settled(lambda: posts_to(api, webhook))) == 1
    counted = eventually(
        lambda: emitted().get("SlackPostsRetried") == 2 and emitted().get("SlackPostsSent") and emitted()
    )
    assert counted["SlackPostsSent"] == 1 and "SlackPostsFailed" not in counted


def test_a_post_that_keeps_failing_releases_the_window_and_the_next_crossing_check_sends_it(api, slack, capfd):
    owner, webhook = user("slack-down"), slack()
    slack_rule(api, owner, webhook)
    api.call("POST", "/_sim/slack/faults", {"status": 503, "count": 1000})
    emitted = Emitted(capfd)
    spend(api, owner, [CAMPAIGN, CAMPAIGN])
    # One failed post per crossing check (the batch's two campaigns may be two checks), each counted as a Slack
    # post that failed after its retries, and as an alert check that failed.
    failed = eventually(lambda: emitted().get("SlackPostsFailed") and emitted().get("CostAlertFailures") and emitted())
    assert failed["SlackPostsRetried"] >= failed["SlackPostsFailed"] and "SlackPostsSent" not in failed
    assert posts_to(api, webhook) == [] and history(api, owner) == []
    api.call("DELETE", "/_sim/slack/faults")
    spend(api, owner, [CAMPAIGN])  # the next recorded call checks the crossing again
    assert len(settled(lambda: posts_to(api, webhook))) == 1
    assert [h["status"] for h in eventually(lambda: history(api, owner))] == ["sent"]


def test_the_slack_channel_and_the_masked_url_are_in_the_openapi_document(api):
    document = api.call("GET", "/api/openapi.json").body
    schemas = document["components"]["schemas"]
    slack = schemas["SlackChannel"]
    assert slack["required"] == ["type", "webhookUrl"] and slack["properties"]["webhookUrl"]["maxLength"] == 512
    assert "hooks.slack.com" in slack["properties"]["webhookUrl"]["description"]
    view = schemas["AlertChannelView"]["properties"]
    assert "slack" in view["type"]["enum"] and "masked" in json.dumps(view["webhookUrl"])
    for method in ("post", "put"):
        body = document["paths"]["/api/v2/costs/alerts"][method]["requestBody"]["content"]["application/json"]
        request = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
        assert "#/components/schemas/SlackChannel" in json.dumps(request["properties"]["channel"])
