"""At INFO, the logs must hold no provider key, no bearer token, no prompt or generated text, no Slack webhook URL.

The whole local stack runs as ``make run`` runs it, in its own process with its output in a file,
so every log line of every handler and library is read, not only what a test's capture sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from local.provider_sim import DEFAULT_KEYS
from local.redis_server import free_port
from local.template import REPO_ROOT
from tests.conftest import ApiClient, eventually

PROMPT = "Confidential-prompt-7f3a: describe the launch of our spring collection"


@pytest.fixture(scope="module")
def served_stack(tmp_path_factory):
    """``python -m local.run`` on a free port, INFO logging, output captured to a file.

    ``LOG_TO_CONSOLE=1`` keeps the handlers' output on stdout beside the console lines, so both are checked.
    """
    log_path = tmp_path_factory.mktemp("logs") / "stack.log"
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "SIM_LATENCY_MS": "0",
        "LOG_TO_CONSOLE": "1",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/health/hybrid-orchestrator", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()[-3000:]) from None
                time.sleep(0.2)
        yield ApiClient(url), log_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_campaign_leaves_no_key_token_or_body_in_the_logs(served_stack):
    api, log_path = served_stack
    token = api.token("log-auditor")
    body = {"type": "caption", "platforms": ["instagram"], "data": {"prompt": PROMPT}}
    reply = api.call("POST", "/api/v2/campaigns/hybrid", body, token=token)
    assert reply.status == 200, reply.body
    failed = api.call("POST", "/api/v2/campaigns/hybrid", {"type": "poem", "data": {"prompt": PROMPT}}, token=token)
    assert failed.status == 422
    time.sleep(0.5)  # let the process flush
    logs = log_path.read_text()
    assert '"level":"INFO"' in logs.replace(" ", "") or "ProviderAttempts" in logs, "nothing was logged"
    for secret in (*DEFAULT_KEYS.values(), token, PROMPT, reply.body["data"]["content"]):
        assert secret not in logs


def test_a_slack_rules_webhook_url_is_in_no_answer_and_no_log_line(served_stack):
    """A rule with a webhook whose secret part is unique; its crossing fails once (logged with its error), then
    posts. Neither the whole URL nor its secret path is in any answer or line of the stack's output."""
    api, log_path = served_stack
    owner = "slack-log-auditor"
    token = api.token(owner)
    secret_path = "T0SECRETTEAM/B0SECRETHOOK/ZsecretTokenValue0123456789"
    webhook = f"{api.url}/_sim/slack/services/{secret_path}"
    answers = []
    threshold = api.call(
        "POST", "/api/v2/costs/thresholds", {"scope": "user", "period": "daily", "amountUsd": 0.000001}, token=token
    )
    assert threshold.status == 201, threshold.body
    for channel in (
        {"type": "slack", "webhookUrl": webhook.replace("http://", "https://evil.")},  # refused: 422
        {"type": "slack", "webhookUrl": webhook},
    ):
        answers.append(
            api.call(
                "POST",
                "/api/v2/costs/alerts",
                {"thresholdId": threshold.body["data"]["thresholdId"], "channel": channel},
                token=token,
            )
        )
    assert [a.status for a in answers] == [422, 201]
    assert api.call("POST", "/_sim/slack/faults", {"status": 500, "count": 4}).status == 200  # the first check fails
    for _ in range(2):  # the second campaign's crossing check posts
        reply = api.call(
            "POST",
            "/api/v2/campaigns/hybrid",
            {"type": "caption", "platforms": ["instagram"], "data": {"prompt": "hi"}},
            token=token,
        )
        assert reply.status == 200, reply.body
        eventually(lambda: api.call("GET", "/_sim/slack/faults").body == [], timeout_s=30)
    posts = eventually(lambda: api.call("GET", "/_sim/slack").body, timeout_s=30)
    answers += [
        api.call("GET", "/api/v2/costs/alerts", token=token),
        api.call("GET", "/api/v2/costs/alerts?view=history", token=token),
        api.call("GET", "/_sim/slack"),
    ]
    assert len(posts) == 1 and answers[-2].body["data"]["history"][0]["status"] == "sent"
    time.sleep(0.5)  # let the process flush
    logs = log_path.read_text()
    assert "SlackPostsFailed" in logs and "SlackPostsSent" in logs  # the failure and the post were logged
    for part in (webhook, secret_path, "ZsecretTokenValue", "SECRETTEAM", "SECRETHOOK"):
        assert part not in logs
        for answer in answers:
            assert part not in str(answer.body), answer.body
