"""Outcomes over HTTP: reported revenue changes /campaigns/costs' revenue and ROI; replays; who may; bad bodies."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import eventually
from tests.support.e2e import CAPTION, call, spend

OUTCOMES = "/api/v2/campaigns/outcomes"
USD = 1_000_000


@pytest.fixture(scope="module")
def campaign(api):
    """A user with one caption campaign folded into the counters, and its cost in micro-dollars."""
    user = f"earner-{uuid.uuid4().hex[:8]}"
    ((workflow_id, cost),) = spend(api, user, [CAPTION]).items()
    eventually(lambda: campaign_row(api, user, workflow_id) is not None)
    return user, workflow_id, cost


def campaign_row(api, user, workflow_id):
    reply = call(api, "/api/v2/campaigns/costs", user)
    assert reply.status_code == 200, reply.text
    return next((c for c in reply.json()["data"]["campaigns"] if c["campaignId"] == workflow_id), None)


def report(api, user, body, admin=False):
    return call(api, OUTCOMES, user, admin=admin, body=body)


def test_reported_outcomes_change_revenue_and_roi(api, campaign):
    user, workflow_id, cost = campaign
    before = campaign_row(api, user, workflow_id)
    assert (before["revenueMicros"], before["roiMicros"], before["replies"]) == (0, -cost, 0)
    first = report(api, user, {"workflowId": workflow_id, "outcomeId": "sale-1", "revenueUsd": 12.345678})
    assert first.status_code == 201, first.text
    data = first.json()["data"]
    assert (data["revenueMicros"], data["revenueUsd"], data["recordedBy"]) == (12_345_678, 12.345678, user)
    second = report(api, "ops", {"workflowId": workflow_id, "outcomeId": "replies-1", "replies": 3}, admin=True)
    assert second.status_code == 201, second.text
    row = campaign_row(api, user, workflow_id)
    assert row["revenueMicros"] == 12_345_678 and row["revenueUsd"] == 12.345678
    assert row["roiMicros"] == 12_345_678 - cost and row["roiUsd"] == (12_345_678 - cost) / USD
    status = call(api, "/api/v2/campaigns/status", user, workflowId=workflow_id).json()["data"]
    assert row["roiRatio"] == round(12_345_678_000 / status["cost"]["costNanos"], 6)  # exact nanos, not the micros
    assert (row["replies"], row["outcomes"]) == (3, 2)


def test_a_replay_answers_the_first_write_and_counts_once(api, campaign):
    user, workflow_id, _ = campaign
    before = campaign_row(api, user, workflow_id)
    body = {"workflowId": workflow_id, "outcomeId": "tip-7", "revenueUsd": 0.5}
    first = report(api, user, body)
    again = report(api, user, body)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["data"] == first.json()["data"]
    conflict = report(api, user, {**body, "revenueUsd": 0.6})
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"]["code"] == "OUTCOME_CONFLICT"
    assert [d["field"] for d in conflict.json()["error"]["details"]] == ["revenueUsd"]
    after = campaign_row(api, user, workflow_id)
    assert after["revenueMicros"] - before["revenueMicros"] == 500_000
    assert after["outcomes"] - before["outcomes"] == 1


def test_another_users_or_an_unknown_workflow_is_404(api, campaign):
    _, workflow_id, _ = campaign
    other = report(api, "someone-else", {"workflowId": workflow_id, "outcomeId": "x", "revenueUsd": 1})
    unknown = report(api, "someone-else", {"workflowId": "wf_" + "f" * 32, "outcomeId": "x", "revenueUsd": 1})
    assert (other.status_code, unknown.status_code) == (404, 404)
    assert other.json()["error"] == unknown.json()["error"]


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"revenueUsd": 1.0000001}, 422, "revenueUsd"),
        ({"revenueUsd": -2}, 422, "revenueUsd"),
        ({"revenueUsd": "3.50"}, 422, "revenueUsd"),
        ({"revenueUsd": 10_000_000}, 422, "revenueUsd"),
        ({}, 422, "revenueUsd"),
        ({"replies": -1}, 422, "replies"),
        ({"replies": 2, "recipientId": "fan-1"}, 422, "recipientId"),  # a caption has no recipients
        ({"replies": 2, "outcomeId": None}, 422, "outcomeId"),
        ({"replies": 2, "surprise": True}, 422, "surprise"),
    ],
)
def test_bad_bodies_are_4xx_naming_the_field(api, campaign, fields, status, field):
    user, workflow_id, _ = campaign
    reply = report(api, user, {"workflowId": workflow_id, "outcomeId": "bad", **fields})
    assert reply.status_code == status, reply.text
    assert field in [d["field"] for d in reply.json()["error"]["details"]], reply.text


def test_fan_messages_outcomes_name_one_of_the_recipients(api):
    user = f"fans-{uuid.uuid4().hex[:8]}"
    account = f"acct_{uuid.uuid4().hex[:8]}"
    put = requests.put(
        f"{api.url}/api/v2/creator-accounts/{account}",
        json={"userIds": [user]},
        headers={"Authorization": f"Bearer {api.token('ops', admin=True)}"},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    body = {
        "type": "fan_messages",
        "platforms": ["onlyfans"],
        "data": {"accountId": account, "recipients": ["fan-1", "fan-2"], "theme": "outcomes"},
    }
    run = call(api, "/api/v2/campaigns/hybrid", user, body=body)
    assert run.status_code == 200, run.text
    workflow_id = run.json()["data"]["workflowId"]
    ok = report(api, user, {"workflowId": workflow_id, "outcomeId": "o1", "recipientId": "fan-2", "revenueUsd": 4})
    assert ok.status_code == 201 and ok.json()["data"]["recipientId"] == "fan-2", ok.text
    same_id_other_fan = report(
        api, user, {"workflowId": workflow_id, "outcomeId": "o1", "recipientId": "fan-1", "replies": 1}
    )
    assert same_id_other_fan.status_code == 201, same_id_other_fan.text
    for fields in ({}, {"recipientId": "fan-3"}):
        wrong = report(api, user, {"workflowId": workflow_id, "outcomeId": "o2", "replies": 1, **fields})
        assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "recipientId", wrong.text
