"""Optimization over HTTP: real caption campaigns on gpt-4o, the recommendation priced by hand, apply and revert
changing the next campaign's model, the audit log, and the errors (403, 404, 409, 422)."""

from __future__ import annotations

import json
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest

from shared.routing.candidates import DEFAULT_ROUTING_TABLE
from tests.conftest import eventually

CAPTION = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "optimization"}}
APPLY = "/api/v2/costs/optimization/apply"
# The deploy being optimized routes captions to gpt-4o first (a setting: the local server reads env).
CAPTION_ON_4O = {
    **{kind: [c.model_dump() for c in route] for kind, route in DEFAULT_ROUTING_TABLE.items()},
    "caption": [{"provider": "openai", "model": "gpt-4o"}, {"provider": "azure", "model": "chat-gpt-4o-mini"}],
}


def hand_micros(tokens_in: int, tokens_out: int, usd_in: str, usd_out: str, minus: tuple[str, str] = ("0", "0")) -> int:
    """Tokens x USD per million tokens (prices.json) = micro-dollars, less the same tokens at ``minus``'s prices,
    rounded half up once."""
    exact = tokens_in * (Decimal(usd_in) - Decimal(minus[0])) + tokens_out * (Decimal(usd_out) - Decimal(minus[1]))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.fixture
def caption_on_gpt_4o(local_stack):
    with local_stack.override_settings({"ROUTING_TABLE": json.dumps(CAPTION_ON_4O)}):
        yield


def caption(api, user):
    reply = api.call("POST", "/api/v2/campaigns/hybrid", CAPTION, token=api.token(user))
    assert reply.status == 200, reply.body
    return reply.body


def admin(api, method, path, body=None, user="optimizer-admin"):
    return api.call(method, path, body, token=api.token(user, admin=True))


def caption_downgrades(api):
    listed = admin(api, "GET", "/api/v2/costs/optimization")
    assert listed.status == 200, listed.body
    return [
        r
        for r in listed.body["data"]["recommendations"]
        if (r["kind"], r["campaignType"]) == ("model_downgrade", "caption")
    ]


def settled_caption_evidence(api):
    """The caption downgrade's evidence (tokens, calls) before this test's campaigns, once the stream has folded
    what earlier tests ran (the experiments' tests run captions on gpt-4o too): the same twice, 1.5 s apart."""

    def evidence():
        return [
            (r["evidence"]["tokens"]["input"], r["evidence"]["tokens"]["output"], r["evidence"]["calls"])
            for r in caption_downgrades(api)
        ] or [(0, 0, 0)]

    def settled():
        before = evidence()
        time.sleep(1.5)
        return before[0] if evidence() == before else None

    return eventually(settled, timeout_s=30)


def test_apply_and_revert_change_the_next_campaigns_model(api, caption_on_gpt_4o):
    user = f"captioner-{uuid.uuid4().hex[:8]}"
    earlier_in, earlier_out, earlier_calls = settled_caption_evidence(api)
    runs = [caption(api, user) for _ in range(3)]
    assert {r["data"]["model"] for r in runs} == {"gpt-4o"}
    api.wait_for_spend(api.token(user), sum(r["metrics"]["cost"]["costMicros"] for r in runs))

    (rec,) = caption_downgrades(api)
    assert rec["currentRoute"][0] == {"provider": "openai", "model": "gpt-4o"}
    assert rec["proposedRoute"] == [
        {"provider": "openai", "model": "gpt-4o-mini"},
        {"provider": "azure", "model": "chat-gpt-4o-mini"},
    ]
    tokens = rec["evidence"]["tokens"]
    reported_in = sum(r["metrics"]["cost"]["inputTokens"] for r in runs)
    reported_out = sum(r["metrics"]["cost"]["outputTokens"] for r in runs)
    assert (tokens["input"] - earlier_in, tokens["output"] - earlier_out) == (reported_in, reported_out)
    # The saving is rounded once, from the exact difference (rounding each cost first could be a micro off).
    expected = hand_micros(tokens["input"], tokens["output"], "2.50", "10.00", minus=("0.15", "0.60"))
    assert rec["monthlySavingMicros"] == expected > 0 and rec["monthlySaving"] == expected / 1_000_000
    assert rec["evidence"]["calls"] == earlier_calls + 3 and rec["evidence"]["period"]["days"] == 30
    assert rec["summary"].startswith("caption on gpt-4o -> gpt-4o-mini: -$")

    plan = admin(api, "GET", "/api/v2/costs/optimize")
    assert plan.status == 200, plan.body
    assert rec["recommendationId"] in [step["recommendationId"] for step in plan.body["data"]["steps"]]
    spend = plan.body["data"]["projectedMonthSpend"]
    assert spend["afterAllMicros"] <= spend["beforeMicros"] - expected
    assert plan.body["data"]["budgets"][0]["source"] == "setting:MONTHLY_COST_THRESHOLD_USD"

    applied = admin(api, "POST", APPLY, {"recommendationId": rec["recommendationId"]})
    assert applied.status == 200, applied.body
    change = applied.body["data"]["change"]
    reverted_id = None
    try:
        assert (change["kind"], change["by"], change["recommendationId"]) == (
            "apply",
            "optimizer-admin",
            rec["recommendationId"],
        )
        assert (change["before"], change["after"]) == (rec["currentRoute"], rec["proposedRoute"])
        time.sleep(applied.body["data"]["effectiveWithinS"])
        assert caption(api, user)["data"]["model"] == "gpt-4o-mini"

        again = admin(api, "POST", APPLY, {"recommendationId": rec["recommendationId"]})
        assert (again.status, again.body["error"]["code"]) == (409, "RECOMMENDATION_NOT_CURRENT")

        reverted = admin(api, "POST", APPLY, {"action": "revert", "changeId": change["changeId"]}, user="second-admin")
        assert reverted.status == 200, reverted.body
        reverted_id = change["changeId"]
        undo = reverted.body["data"]["change"]
        assert (undo["kind"], undo["reverts"], undo["by"]) == ("revert", change["changeId"], "second-admin")
        assert (undo["before"], undo["after"]) == (change["after"], change["before"])
        time.sleep(reverted.body["data"]["effectiveWithinS"])
        assert caption(api, user)["data"]["model"] == "gpt-4o"
    finally:
        if reverted_id is None:
            admin(api, "POST", APPLY, {"action": "revert", "changeId": change["changeId"]})

    log = admin(api, "GET", "/api/v2/costs/optimization").body["data"]["recentChanges"]
    assert [(c["changeId"], c["kind"]) for c in log[:2]] == [
        (undo["changeId"], "revert"),
        (change["changeId"], "apply"),
    ]
    twice = admin(api, "POST", APPLY, {"action": "revert", "changeId": change["changeId"]})
    assert (twice.status, twice.body["error"]["code"]) == (409, "ROUTING_CONFLICT")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"recommendationId": "rec_" + "0" * 20}, 404, "RECOMMENDATION_NOT_FOUND"),
        ({"action": "revert", "changeId": "chg_0000000000000deadbeef"}, 404, "ROUTE_CHANGE_NOT_FOUND"),
        ({"recommendationId": "caption-to-mini"}, 422, "VALIDATION_ERROR"),
        ({"action": "revert"}, 422, "VALIDATION_ERROR"),
        ({"action": "rollback", "changeId": "chg_0000000000000deadbeef"}, 422, "VALIDATION_ERROR"),
    ],
)
def test_unknown_ids_are_404_and_bad_bodies_422_in_the_envelope(api, body, status, code):
    reply = admin(api, "POST", APPLY, body)
    assert reply.status == status, reply.body
    assert reply.body["success"] is False and reply.body["error"]["code"] == code


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v2/costs/optimization", None),
        ("GET", "/api/v2/costs/optimize", None),
        ("POST", APPLY, {"recommendationId": "rec_" + "0" * 20}),
    ],
)
def test_non_admins_are_refused(api, method, path, body):
    reply = api.call(method, path, body, token=api.token("not-an-admin"))
    assert (reply.status, reply.body["error"]["code"]) == (403, "FORBIDDEN")
