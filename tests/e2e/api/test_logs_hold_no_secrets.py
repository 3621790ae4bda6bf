"""At INFO, the logs must hold no provider key, no bearer token and no prompt or generated text.

The whole local stack runs as ``make run`` runs it, in its own process with its output in a file,
so every log line of every handler and library is read, not only what a test's capture sees.
"""

from __future__ import annotations

import time

import pytest

from local.provider_sim import DEFAULT_KEYS
from tests.support.served import served_local_run

PROMPT = "Confidential-prompt-7f3a: describe the launch of our spring collection"


@pytest.fixture(scope="module")
def served_stack(tmp_path_factory):
    """``python -m local.run`` on a free port, INFO logging, output captured to a file.

    ``LOG_TO_CONSOLE=1`` keeps the handlers' output on stdout beside the console lines, so both are checked.
    """
    folder = tmp_path_factory.mktemp("logs")
    env = {"POWERTOOLS_LOG_LEVEL": "INFO", "LOG_TO_CONSOLE": "1", "STATE_DIR": str(folder / "state")}
    with served_local_run(env, folder / "stack.log") as served:
        yield served.api, served.log_path


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
