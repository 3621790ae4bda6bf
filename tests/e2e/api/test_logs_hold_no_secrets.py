"""At INFO, the logs must hold no provider key, no bearer token and no prompt or generated text.

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
from tests.conftest import ApiClient

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
