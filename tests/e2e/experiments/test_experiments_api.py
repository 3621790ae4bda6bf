"""Routing experiments over HTTP on the local stack: real caption campaigns split by user, stable per user,
the variant counters against the campaigns' own costs, promote and stop changing the next request's route,
and the 4xx answers naming the field."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from shared.core.pricing import nanos_to_micros
from tests.conftest import eventually

EXPERIMENTS = "/api/v2/experiments"
CAPTION = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "experiment"}}
MINI = [{"provider": "openai", "model": "gpt-4o-mini"}, {"provider": "azure", "model": "chat-gpt-4o-mini"}]
FOUR_O = [{"provider": "openai", "model": "gpt-4o"}, {"provider": "azure", "model": "chat-gpt-4o-mini"}]
MODEL_OF = {"A": "gpt-4o-mini", "B": "gpt-4o"}


def experiment_body(**changes):
    return {
        "name": "caption: mini vs 4o",
        "campaignType": "caption",
        "variants": [{"name": "A", "route": MINI}, {"name": "B", "route": FOUR_O}],
        "split": [50, 50],
        **changes,
    }


def admin(api, method, path, body=None):
    return api.call(method, path, body, token=api.token("experiment-admin", admin=True))


def caption(api, user):
    reply = api.call("POST", "/api/v2/campaigns/hybrid", CAPTION, token=api.token(user))
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture
def running(api):
    """A running caption experiment, stopped afterwards whatever the test did."""
    created = admin(api, "POST", EXPERIMENTS, experiment_body())
    assert created.status == 201, created.body
    experiment = created.body["data"]
    yield experiment
    admin(api, "POST", f"{EXPERIMENTS}/{experiment['id']}/stop")


def test_users_split_about_evenly_stay_in_their_variant_and_the_counters_match_the_costs(api, running):
    assert running["status"] == "running" and running["campaignType"] == "caption"
    assert [v["share"] for v in running["variants"]] == [50, 50]
    run_id = uuid.uuid4().hex[:6]
    users = [f"exp-user-{run_id}-{n}" for n in range(40)]
    served = {user: caption(api, user) for user in users}
    models = Counter(body["data"]["model"] for body in served.values())
    assert set(models) == {"gpt-4o-mini", "gpt-4o"}
    assert all(10 <= count <= 30 for count in models.values()), models  # each variant 25-75 % of 40 users
    for user in users[:8]:  # stable: the same user, the same variant
        assert caption(api, user)["data"]["model"] == served[user]["data"]["model"]
    status = api.call(
        "GET",
        f"/api/v2/campaigns/status?workflowId={served[users[0]]['data']['workflowId']}",
        token=api.token(users[0]),
    )
    step = status.body["data"]["steps"][0]
    assert step["experiment"] == running["id"] and MODEL_OF[step["variant"]] == served[users[0]]["data"]["model"]

    # what each variant cost, from the campaigns' own answers (8 users ran twice)
    nanos = {"A": 0, "B": 0}
    calls = {"A": 0, "B": 0}
    for user, body in served.items():
        variant = "A" if body["data"]["model"] == "gpt-4o-mini" else "B"
        times = 2 if user in users[:8] else 1
        nanos[variant] += body["metrics"]["cost"]["costNanos"] * times
        calls[variant] += times

    def folded():
        reply = admin(api, "GET", f"{EXPERIMENTS}/{running['id']}")
        assert reply.status == 200, reply.body
        variants = {v["name"]: v for v in reply.body["data"]["results"]["variants"]}
        return variants if all(variants[n]["calls"] == calls[n] for n in calls) else None

    variants = eventually(folded, 60)
    for name in ("A", "B"):
        mean = variants[name]["costPerCall"]["mean"]
        assert mean == pytest.approx(nanos[name] / calls[name] / 1e9, rel=1e-9)
        assert variants[name]["latencyP50Ms"] is not None and variants[name]["fallbackRate"] == 0
    assert variants["B"]["costPerCall"]["mean"] > variants["A"]["costPerCall"]["mean"]

    listed = admin(api, "GET", EXPERIMENTS)
    assert listed.status == 200 and listed.body["data"]["experiments"][0]["id"] == running["id"]


def test_a_second_running_experiment_on_one_type_is_a_409_naming_campaign_type(api, running):
    again = admin(api, "POST", EXPERIMENTS, experiment_body(name="again"))
    assert again.status == 409, again.body
    assert again.body["error"]["details"][0]["field"] == "campaignType"


def test_promote_makes_the_next_request_take_the_winners_route(api, running):
    user = next(f"exp-promo-{n}" for n in range(100) if _first_model(api, f"exp-promo-{n}") == "gpt-4o-mini")
    promoted = admin(api, "POST", f"{EXPERIMENTS}/{running['id']}/promote", {"variant": "B"})
    assert promoted.status == 200, promoted.body
    data = promoted.body["data"]
    try:
        assert data["status"] == "promoted" and data["promotedVariant"] == "B" and data["changeId"]
        assert caption(api, user)["data"]["model"] == "gpt-4o"  # the next request, no deploy
        listed = admin(api, "GET", "/api/v2/costs/optimization")
        (change,) = [c for c in listed.body["data"]["recentChanges"] if c["changeId"] == data["changeId"]]
        assert running["id"] in change["by"] and change["after"] == FOUR_O
        twice = admin(api, "POST", f"{EXPERIMENTS}/{running['id']}/promote", {"variant": "B"})
        assert twice.status == 409, twice.body
    finally:  # the other tests expect captions on the configured route
        reverted = admin(
            api, "POST", "/api/v2/costs/optimization/apply", {"action": "revert", "changeId": data["changeId"]}
        )
        assert reverted.status == 200, reverted.body


def test_stop_returns_every_user_to_the_configured_route(api, running):
    users = [f"exp-stop-{n}" for n in range(12)]
    assert {caption(api, u)["data"]["model"] for u in users} == {"gpt-4o-mini", "gpt-4o"}
    stopped = admin(api, "POST", f"{EXPERIMENTS}/{running['id']}/stop")
    assert stopped.status == 200 and stopped.body["data"]["status"] == "stopped"
    after = [caption(api, u)["data"] for u in users]
    assert {a["model"] for a in after} == {"gpt-4o-mini"}
    workflow = api.call(
        "GET", f"/api/v2/campaigns/status?workflowId={after[0]['workflowId']}", token=api.token(users[0])
    )
    assert workflow.body["data"]["steps"][0].get("experiment") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"split": [60, 50]}, "split"),
        ({"variants": [{"name": "A", "route": MINI}], "split": [100]}, "variants"),
        ({"variants": [{"name": "A", "route": MINI}, {"name": "A", "route": FOUR_O}]}, "variants[1].name"),
        ({"campaignType": "newsletter"}, "campaignType"),
        ({"endsAt": "2020-01-01T00:00:00Z"}, "endsAt"),
        (
            {
                "variants": [
                    {"name": "A", "route": MINI},
                    {"name": "B", "route": [{"provider": "openai", "model": "gpt-9"}]},
                ]
            },
            "variants[1].route",
        ),
    ],
)
def test_bad_experiments_are_422_naming_the_field(api, changes, field):
    reply = admin(api, "POST", EXPERIMENTS, experiment_body(**changes))
    assert reply.status == 422, reply.body
    assert field in [d["field"] for d in reply.body["error"]["details"]], reply.body


def test_non_admins_are_refused_and_unknown_ids_are_404(api):
    user = api.call("GET", EXPERIMENTS, token=api.token("not-an-admin"))
    assert user.status == 403, user.body
    unknown = admin(api, "GET", f"{EXPERIMENTS}/exp_0000000000000deadbeef")
    assert unknown.status == 404 and unknown.body["error"]["code"] == "EXPERIMENT_NOT_FOUND"


def _first_model(api, user):
    return caption(api, user)["data"]["model"]


def test_a_recommendation_starts_as_an_experiment_instead_of_being_applied(api, local_stack):
    import json

    from shared.routing.candidates import DEFAULT_ROUTING_TABLE

    caption_on_4o = {
        **{kind: [c.model_dump() for c in route] for kind, route in DEFAULT_ROUTING_TABLE.items()},
        "caption": FOUR_O,
    }
    with local_stack.override_settings({"ROUTING_TABLE": json.dumps(caption_on_4o)}):
        user = f"exp-rec-{uuid.uuid4().hex[:8]}"
        runs = [caption(api, user) for _ in range(2)]
        spent_nanos = sum(r["metrics"]["cost"]["costNanos"] for r in runs)
        api.wait_for_spend(api.token(user), nanos_to_micros(spent_nanos))  # the counters round the exact sum once
        listed = admin(api, "GET", "/api/v2/costs/optimization")
        (rec,) = [
            r
            for r in listed.body["data"]["recommendations"]
            if (r["kind"], r["campaignType"]) == ("model_downgrade", "caption")
        ]
        started = admin(api, "POST", f"/api/v2/costs/optimization/recommendations/{rec['recommendationId']}/experiment")
        assert started.status == 201, started.body
        experiment = started.body["data"]
        try:
            assert experiment["recommendationId"] == rec["recommendationId"] and experiment["split"] == [50, 50]
            assert [v["route"] for v in experiment["variants"]] == [rec["currentRoute"], rec["proposedRoute"]]
            routes = admin(api, "GET", "/api/v2/costs/optimization").body["data"]["routes"]
            assert not next(r for r in routes if r["campaignType"] == "caption")["overridden"]  # not applied
        finally:
            admin(api, "POST", f"{EXPERIMENTS}/{experiment['id']}/stop")
    unknown = admin(api, "POST", f"/api/v2/costs/optimization/recommendations/rec_{'0' * 20}/experiment")
    assert unknown.status == 404 and unknown.body["error"]["code"] == "RECOMMENDATION_NOT_FOUND"
