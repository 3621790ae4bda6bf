"""HTTP helpers several e2e modules share: campaigns that spend, and what they cost."""

from __future__ import annotations

import time

import requests

from tests.conftest import eventually

CAMPAIGN = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "fitness"}, "mode": "sync"}


CAPTION = {**CAMPAIGN, "type": "caption"}
THRESHOLDS, ALERTS = "/api/v2/costs/thresholds", "/api/v2/costs/alerts"


def call(api, path, user, admin=False, body=None, **params):
    method = "POST" if body is not None else "GET"
    return requests.request(
        method,
        f"{api.url}{path}",
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {api.token(user, admin=admin)}"},
        timeout=30,
    )


def run_campaigns(api, user, bodies):
    """Run campaigns as ``user``; {workflowId: costMicros} as each response reported it."""
    costs = {}
    for body in bodies:
        reply = call(api, "/api/v2/campaigns/hybrid", user, body=body)
        assert reply.status_code == 200, reply.text
        costs[reply.json()["data"]["workflowId"]] = reply.json()["metrics"]["cost"]["costMicros"]
    return costs


def settled(read, expected: int = 1, grace_s: float = 1.0) -> list:
    """What ``read()`` gives once it holds ``expected`` items and a little longer (so a duplicate would show)."""

    eventually(lambda: len(read()) >= expected)
    time.sleep(grace_s)
    return read()


def spend(api, who, bodies) -> dict[str, int]:
    """Run campaigns, then wait (bounded) until the stream has folded them: the thresholds read the counters."""
    costs = run_campaigns(api, who, bodies)
    api.wait_for_spend(api.token(who), sum(costs.values()))
    return costs


def create_threshold(api, who, admin=False, **fields):
    """A stored threshold (scope user, daily, unless ``fields`` say otherwise); its ``data``."""
    reply = call(api, THRESHOLDS, who, admin=admin, body={"scope": "user", "period": "daily", **fields})
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]


def error_fields(reply) -> list[str]:
    """The fields a 422's details name."""
    return [d["field"] for d in reply.json()["error"]["details"]]
