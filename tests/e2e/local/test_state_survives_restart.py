"""``make run`` keeps its state across a restart, counts every cost once, and ``FRESH=1`` starts empty.

The first tests run ``python -m local.run`` as ``make run`` does (tests/support/served.py), on a state folder
of their own (``STATE_DIR``): a campaign, a fan message to a linked creator account and a threshold, then
SIGTERM (what Ctrl-C's handler does), a second start, the same answers; then a crash (SIGKILL of every
process) after a periodic save. The last test runs the stack in this process to catch a snapshot with cost
events the stream has not folded yet (the stream poller held between batches) and shows the restore folds
them exactly once.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from local.stack import LocalStack
from tests.conftest import ApiClient, eventually
from tests.support.served import kill_hard, served_local_run

USER = "state-keeper"
ACCOUNT = "creator_state_keeper"
PLANNING = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "restarts"}, "mode": "sync"}
SPEND_FIELDS = ("todayTotalMicros", "monthTotalMicros", "requests", "tokens", "byProvider")


def spend(api: ApiClient, token: str) -> dict:
    reply = api.call("GET", "/api/v2/costs/stats", token=token)
    assert reply.status == 200, reply.body
    return {name: reply.body["data"][name] for name in SPEND_FIELDS}


def campaign(api: ApiClient, token: str, body: dict) -> dict:
    reply = api.call("POST", "/api/v2/campaigns/hybrid", body, token=token)
    assert reply.status in (200, 202), reply.body
    return {**reply.body["data"], "metrics": reply.body["metrics"]}


def status(api: ApiClient, token: str, workflow_id: str) -> tuple[int, dict | None]:
    reply = api.call("GET", f"/api/v2/campaigns/status?workflowId={workflow_id}", token=token)
    return reply.status, reply.body.get("data") if isinstance(reply.body, dict) else None


def what_a_user_sees(api: ApiClient, token: str, workflow_ids: list[str]) -> dict:
    """Every answer the restart must keep: workflows, spend, thresholds, creator-account links."""
    thresholds = api.call("GET", "/api/v2/costs/thresholds", token=token)
    accounts = api.call("GET", "/api/v2/creator-accounts", token=token)
    assert thresholds.status == accounts.status == 200, (thresholds.body, accounts.body)
    workflows = {}
    for workflow_id in workflow_ids:
        code, data = status(api, token, workflow_id)
        assert code == 200, data
        workflows[workflow_id] = {k: data[k] for k in ("status", "steps", "counts", "messages") if k in data}
    return {
        "workflows": workflows,
        "spend": spend(api, token),
        "thresholds": sorted(t["thresholdId"] for t in thresholds.body["data"]["thresholds"] if not t.get("isGlobal")),
        "accounts": [a["accountId"] for a in accounts.body["data"]["accounts"]],
    }


def settled_spend(api: ApiClient, token: str, expected_micros: int, campaigns: int = 1) -> dict:
    """The caller's spend once the stream has folded ``expected_micros`` today, and still so a few polls later.

    ``expected_micros`` adds up campaigns' answers, each rounded to the micro-dollar, and the counters round
    their nano-dollar total once: they may differ by up to half a micro-dollar per campaign.
    """
    api.wait_for_spend(token, expected_micros - campaigns)
    first = spend(api, token)
    time.sleep(1.5)  # a refold would land within a poll or two
    assert spend(api, token) == first
    return first


@pytest.fixture
def state_env(tmp_path):
    return {"STATE_DIR": str(tmp_path / "state"), "LOG_TO_CONSOLE": "1"}


def test_a_restart_keeps_workflows_spend_thresholds_and_links_and_fresh_forgets_them(tmp_path, state_env):
    with served_local_run({**state_env, "FRESH": "1"}, tmp_path / "first.log") as first:
        api = first.api
        token = api.token(USER)
        assert "started empty" in first.output()
        api.link_account(ACCOUNT, USER)
        planned = campaign(api, token, PLANNING)
        fans = campaign(
            api,
            token,
            {
                "type": "fan_messages",
                "platforms": ["onlyfans"],
                "data": {"accountId": ACCOUNT, "recipients": ["fan-a", "fan-b"], "theme": "restart"},
            },
        )
        threshold = api.call(
            "POST", "/api/v2/costs/thresholds", {"scope": "user", "period": "daily", "amountUsd": 5}, token=token
        )
        assert threshold.status == 201, threshold.body
        eventually(lambda: status(api, token, fans["workflowId"])[1]["counts"]["sent"] == 2, 60)
        spent = planned["metrics"]["cost"]["costMicros"] + fans["metrics"]["cost"]["costMicros"]
        settled_spend(api, token, spent, campaigns=2)
        ids = [planned["workflowId"], fans["workflowId"]]
        before = what_a_user_sees(api, token, ids)
        assert first.stop() == 0
        assert "state saved to" in first.output()

    with served_local_run(state_env, tmp_path / "second.log") as second:
        api = second.api
        assert "restored" in second.output(), second.output()[-2000:]
        after = what_a_user_sees(api, token, ids)
        assert after == before
        assert settled_spend(api, token, spent, campaigns=2) == before["spend"]  # exactly: nothing refolded
        again = campaign(api, token, PLANNING)  # and a new one is folded, once, on top
        more = again["metrics"]["cost"]["costMicros"]
        total = settled_spend(api, token, spent + more, campaigns=3)["todayTotalMicros"]
        assert abs(total - (before["spend"]["todayTotalMicros"] + more)) <= 1

    with served_local_run({**state_env, "FRESH": "1"}, tmp_path / "fresh.log") as fresh:
        api = fresh.api
        assert "started empty" in fresh.output()
        assert spend(api, token)["todayTotalMicros"] == 0
        assert status(api, token, planned["workflowId"])[0] == 404
        assert what_a_user_sees(api, token, [])["thresholds"] == []
        assert what_a_user_sees(api, token, [])["accounts"] == []


def test_a_crash_after_a_periodic_save_keeps_what_was_saved_and_counts_it_once(tmp_path, state_env):
    """Several campaigns folded one batch each move the stream far past the count of items a restore writes,
    so the new stream's first records number below the old counters' high-water marks: kept, they would
    hide the next campaign's cost."""
    state_file = tmp_path / "state" / "aws.json"
    with served_local_run({**state_env, "FRESH": "1", "STATE_SAVE_S": "1"}, tmp_path / "crashed.log") as crashed:
        api = crashed.api
        token = api.token(USER)
        spent_micros, workflow_ids = 0, []
        for _ in range(4):
            planned = campaign(api, token, PLANNING)
            spent_micros += planned["metrics"]["cost"]["costMicros"]
            workflow_ids.append(planned["workflowId"])
            spent = settled_spend(api, token, spent_micros, campaigns=len(workflow_ids))
        folded_at = time.time()
        eventually(lambda: state_file.exists() and state_file.stat().st_mtime > folded_at + 0.5, 30)
        kill_hard(crashed.process)
        assert "state saved to" not in crashed.output()  # no clean stop: what survives is the periodic save

    with served_local_run(state_env, tmp_path / "after-crash.log") as restarted:
        api = restarted.api
        assert settled_spend(api, token, spent["todayTotalMicros"], campaigns=0) == spent
        assert {status(api, token, w)[1]["status"] for w in workflow_ids} == {"completed"}
        more = campaign(api, token, PLANNING)["metrics"]["cost"]["costMicros"]
        total = settled_spend(api, token, spent["todayTotalMicros"] + more)["todayTotalMicros"]
        assert abs(total - (spent["todayTotalMicros"] + more)) <= 1


def test_events_the_stream_had_not_folded_at_the_snapshot_are_folded_once_after_the_restore(tmp_path, monkeypatch):
    """The snapshot is taken with a cost event recorded and its stream record still pending; restored, it is folded."""
    monkeypatch.delenv("REDIS_URL", raising=False)  # a Redis of its own, kept in the state folder
    folder, kept = tmp_path / "state", tmp_path / "aws-with-unfolded.json"
    options = {"with_api": True, "moto_mode": "process", "state_dir": folder, "state_save_s": 0}
    with LocalStack(**options) as stack:
        api = ApiClient(stack.api_url)
        token = api.token(USER)
        (aggregator,) = stack.stream_pollers
        with aggregator.paused():  # the cost aggregator sits between two batches
            planned = campaign(api, token, PLANNING)
            saved = stack.save_state()
            shutil.copyfile(stack.state.file, kept)  # the periodic save a crash would have left
        assert saved.unfolded >= 1
        assert json.loads(kept.read_text())["tables"]
        folded = settled_spend(api, token, planned["metrics"]["cost"]["costMicros"])
    shutil.copyfile(kept, folder / "aws.json")

    with LocalStack(**options) as restored:
        api = ApiClient(restored.api_url)
        assert restored.restored.unfolded == saved.unfolded
        assert settled_spend(api, token, folded["todayTotalMicros"], campaigns=0) == folded
