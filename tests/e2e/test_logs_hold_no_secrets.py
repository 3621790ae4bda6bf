"""At INFO, the logs must hold no provider key, no bearer token and no prompt or generated text."""

from __future__ import annotations

import logging

from local.provider_sim import DEFAULT_KEYS

PROMPT = "Confidential-prompt-7f3a: describe the launch of our spring collection"


def test_a_campaign_leaves_no_key_token_or_body_in_the_logs(api, capfd):
    logging.getLogger().setLevel(logging.INFO)  # whatever a library logs at INFO must be safe too
    token = api.token("log-auditor")
    capfd.readouterr()
    reply = api.call(
        "POST",
        "/api/v2/campaigns/hybrid",
        {"type": "caption", "platforms": ["instagram"], "data": {"prompt": PROMPT}},
        token=token,
    )
    assert reply.status == 200, reply.body
    failed = api.call("POST", "/api/v2/campaigns/hybrid", {"type": "poem", "data": {"prompt": PROMPT}}, token=token)
    assert failed.status == 422
    out, err = capfd.readouterr()
    logs = out + err
    assert logs, "the handlers logged nothing at all: this test would prove nothing"
    for secret in (*DEFAULT_KEYS.values(), token, PROMPT, reply.body["data"]["content"]):
        assert secret not in logs
