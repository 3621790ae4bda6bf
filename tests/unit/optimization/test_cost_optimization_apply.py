"""Applying and reverting recommendations: the next routed call changes model, the audit log says who and what."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from functions.cost_optimization.app import app as optimization_app
from shared.campaigns.models import CampaignRequest
from shared.campaigns.service import CampaignService
from shared.core.errors import (
    RecommendationNotFoundError,
    RouteChangeNotFoundError,
    RoutingConflictError,
    StaleRecommendationError,
)
from shared.core.identity import Caller
from shared.core.pricing import PriceTable
from shared.ledger.ledger import CostLedger
from shared.optimization.optimizer import OptimizationPolicy, load_downgrades
from shared.optimization.service import CostOptimizer
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS
from shared.routing.deadline import Deadline
from shared.routing.errors import ProviderServerError
from shared.routing.overrides import CachedRouteOverrides, RoutingOverrides
from shared.routing.paths import with_legacy_routes
from tests.support.fakes import (
    InMemoryCostStore,
    InMemoryRoutingOverrideStore,
    InMemoryWorkflowStore,
    ScriptedProvider,
    scripted_router,
)
from tests.support.http import event as http_event
from tests.support.optimization import AZURE_MINI, CAPTION_ON_4O, CONFIGURED, NOW, OPENAI_4O, OPENAI_MINI, TODAY

CAPTION = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "fitness"})
PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
ADMIN, USER = {"sub": "root", "scope": "admin"}, {"sub": "u1"}


class Stack:
    """Campaigns through a router that reads the overrides, recorded in the ledger the optimizer reads."""

    def __init__(self, prices: PriceTable = PRICES, overrides: InMemoryRoutingOverrideStore | None = None) -> None:
        self.clock = iter(NOW + n for n in range(1000))
        self.costs = InMemoryCostStore()
        self.overrides = overrides or InMemoryRoutingOverrideStore()
        self.openai = ScriptedProvider("openai")
        self.router = scripted_router(
            with_legacy_routes(CONFIGURED, "openai"),
            PRICES,
            self.openai,
            overrides=CachedRouteOverrides(self.overrides, ttl_s=0),
        )
        self.campaigns = CampaignService(
            self.router, InMemoryWorkflowStore(), 500, 30, costs=CostLedger(self.costs), clock=lambda: NOW
        )
        policy = OptimizationPolicy(load_downgrades(), DEFAULT_AZURE_DEPLOYMENTS, Decimal("0.10"), 20)
        self.optimizer = CostOptimizer(
            self.costs, self.overrides, CONFIGURED, prices, policy, clock=lambda: next(self.clock)
        )

    def caption_model(self) -> str:
        """Run one caption campaign; the deployment (or OpenAI model) that served it."""
        return self.campaigns.run(CAPTION, Caller(user_id="u1"), Deadline(20)).workflow.deployment

    def recommendation(self, kind: str) -> str:
        (rec,) = [r for r in self.optimizer.recommendations(TODAY).recommendations if r.kind == kind]
        return rec.recommendation_id

    def downgrade(self) -> str:
        return self.recommendation("model_downgrade")


class ReadBeforeAnotherChange(InMemoryRoutingOverrideStore):
    """An admin whose read of the overrides came just before another admin's change landed."""

    def current(self) -> RoutingOverrides:
        seen = super().current()
        self.overrides = RoutingOverrides({"message_generation": (AZURE_MINI,)}, seen.version + 1)
        return seen


@pytest.fixture(autouse=True)
def _fresh_breaker_counters():
    from aws_lambda_powertools.utilities.circuit_breaker import base

    base._LOCAL_FAILURES.clear()
    base._LOCAL_SUCCESSES.clear()


def test_apply_routes_the_next_call_to_the_cheaper_model_and_revert_brings_the_old_one_back():
    stack = Stack()
    assert [stack.caption_model() for _ in range(3)] == ["gpt-4o"] * 3  # real traffic on gpt-4o

    applied = stack.optimizer.apply(stack.downgrade(), "root", TODAY)
    assert stack.caption_model() == "gpt-4o-mini"
    assert stack.router.candidates("legacy:caption") == [OPENAI_4O]  # the legacy path is left alone
    assert stack.overrides.overrides.routes == {"caption": (OPENAI_MINI, AZURE_MINI)}

    reverted = stack.optimizer.revert(applied.change_id, "ops")
    assert stack.caption_model() == "gpt-4o"
    assert stack.overrides.overrides.routes == {}  # back to the configured route: no override left

    log = stack.optimizer.changes(10)
    assert [c.change_id for c in log] == [reverted.change_id, applied.change_id]  # newest first
    assert (applied.kind, applied.by, applied.before, applied.after) == (
        "apply",
        "root",
        tuple(CAPTION_ON_4O),
        (OPENAI_MINI, AZURE_MINI),
    )
    assert (applied.before_overridden, applied.after_overridden) == (False, True)
    assert (reverted.kind, reverted.by, reverted.reverts) == ("revert", "ops", applied.change_id)
    assert (reverted.before, reverted.after) == (applied.after, applied.before)
    assert reverted.at > applied.at >= NOW


def test_the_routers_view_rereads_the_overrides_once_its_ttl_has_passed():
    store = InMemoryRoutingOverrideStore()
    now = [100.0]
    view = CachedRouteOverrides(store, ttl_s=1.0, clock=lambda: now[0])
    assert view.routes() == {} and store.reads == 1
    store.overrides = RoutingOverrides({"caption": (OPENAI_MINI,)}, 1)
    now[0] += 0.999
    assert view.routes() == {} and store.reads == 1  # within the TTL: no read
    now[0] += 0.001
    assert view.routes() == {"caption": (OPENAI_MINI,)} and store.reads == 2
    store.fail_reads = True
    now[0] += 1
    assert view.routes() == {"caption": (OPENAI_MINI,)}  # a failed read keeps the last routes
    store.fail_reads = False
    now[0] += 1
    store.overrides = RoutingOverrides({}, 2)
    assert view.routes() == {}


def test_unknown_ids_are_404_and_a_recommendation_no_longer_current_is_409():
    stack = Stack()
    stack.caption_model()
    with pytest.raises(RecommendationNotFoundError):
        stack.optimizer.apply("rec_" + "0" * 20, "root", TODAY)
    with pytest.raises(RouteChangeNotFoundError):
        stack.optimizer.revert("chg_0000000000000deadbeef", "root")
    rec_id = stack.downgrade()
    stack.optimizer.apply(rec_id, "root", TODAY)
    with pytest.raises(StaleRecommendationError):
        stack.optimizer.apply(rec_id, "root", TODAY)


def test_a_revert_is_refused_once_reverted_or_once_a_later_change_moved_that_route():
    stack = Stack()
    for _ in range(20):
        stack.caption_model()
    first = stack.optimizer.apply(stack.downgrade(), "root", TODAY)
    stack.optimizer.revert(first.change_id, "root")
    with pytest.raises(RoutingConflictError):
        stack.optimizer.revert(first.change_id, "root")  # already undone

    again = stack.optimizer.apply(stack.downgrade(), "root", TODAY)  # current again after the revert
    stack.openai.script = [ProviderServerError("down", 500)] * 5
    assert [stack.caption_model() for _ in range(20)].count("chat-gpt-4o-mini") == 5  # 5 of 40 calls: 12.5 %
    swap = stack.optimizer.apply(stack.recommendation("fallback_order"), "root", TODAY)
    assert swap.after == (AZURE_MINI, OPENAI_MINI) and stack.caption_model() == "chat-gpt-4o-mini"
    with pytest.raises(RoutingConflictError, match="a later change moved it"):
        stack.optimizer.revert(again.change_id, "root")


def test_a_change_racing_another_loses_instead_of_overwriting_it():
    stack = Stack(overrides=ReadBeforeAnotherChange())
    stack.caption_model()
    with pytest.raises(RoutingConflictError, match="changed meanwhile"):
        stack.optimizer.apply(stack.downgrade(), "root", TODAY)
    assert stack.overrides.overrides.routes == {"message_generation": (AZURE_MINI,)}
    assert stack.overrides.log == {}


def test_a_revert_to_a_route_no_longer_priced_or_mapped_is_refused():
    stack = Stack()
    stack.caption_model()
    applied = stack.optimizer.apply(stack.downgrade(), "root", TODAY)
    redeployed = Stack(prices=PriceTable.load({}), overrides=stack.overrides)  # chat-gpt-4o-mini maps to nothing now
    with pytest.raises(RoutingConflictError, match="azure:chat-gpt-4o-mini is not routable"):
        redeployed.optimizer.revert(applied.change_id, "root")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v2/costs/optimization", None),
        ("GET", "/api/v2/costs/optimize", None),
        ("POST", "/api/v2/costs/optimization/apply", {"recommendationId": "rec_" + "0" * 20}),
    ],
)
def test_every_optimization_route_is_for_admins_only(method, path, body):
    reply = optimization_app.resolve(http_event(method, path, body, claims=USER), None)
    assert reply["statusCode"] == 403
    assert json.loads(reply["body"])["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recommendationId": "rec_short"}, "apply.recommendationId"),
        ({"recommendationId": "rec_" + "0" * 20, "force": True}, "apply.force"),
        ({"action": "revert"}, "revert.changeId"),
        ({"action": "revert", "changeId": "chg_1"}, "revert.changeId"),
        ({"action": "undo", "changeId": "chg_00000000000001234abcd"}, "body"),
        ("rec_" + "0" * 20, "body"),
        ({}, "apply.recommendationId"),
    ],
)
def test_a_bad_apply_body_is_a_422_naming_the_field(body, field):
    reply = optimization_app.resolve(http_event("POST", "/api/v2/costs/optimization/apply", body, claims=ADMIN), None)
    assert reply["statusCode"] == 422, reply["body"]
    error = json.loads(reply["body"])["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in [d["field"] for d in error["details"]]
