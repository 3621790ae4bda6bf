"""Recommendations and the plan, from calls recorded through the ledger, checked against hand calculations.

Prices by hand from shared/data/prices.json (USD per million tokens = micro-dollars per token):
OpenAI gpt-4o 2.50 / 10.00, gpt-4o-mini 0.15 / 0.60; Azure gpt-4o 2.75 / 11.00, gpt-4o-mini 0.165 / 0.66.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from shared.core.pricing import PriceTable
from shared.ledger.events import CostEvent
from shared.ledger.ledger import CostLedger
from shared.optimization.optimizer import Budget, OptimizationPolicy, load_downgrades
from shared.optimization.service import CostOptimizer
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from tests.support.fakes import InMemoryCostStore, InMemoryRoutingOverrideStore
from tests.support.optimization import AZURE_MINI, CONFIGURED, DAY_S, NOW, OPENAI_4O, OPENAI_MINI, TODAY

PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
AZURE_4O = RouteCandidate(provider="azure", model="planner-gpt-4o")


def micros(tokens_in: int, tokens_out: int, usd_in: str, usd_out: str) -> int:
    """A hand price: tokens x USD per million tokens is micro-dollars, rounded half up once."""
    exact = tokens_in * Decimal(usd_in) + tokens_out * Decimal(usd_out)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Seeder:
    """Records calls through the real ledger (never by writing counters)."""

    def __init__(self) -> None:
        self.store = InMemoryCostStore()
        self.ledger = CostLedger(self.store)
        self.count = 0

    def call(self, kind: str, candidate: RouteCandidate, tokens_in: int, tokens_out: int, **extra) -> None:
        self.count += 1
        cost = PRICES.cost(candidate.provider, candidate.model, tokens_in, tokens_out)
        event = CostEvent(
            request_id=f"wf_{self.count}#generate#0",
            provider=candidate.provider,
            model=cost.priced_model,
            deployment=candidate.model,
            campaign_type=kind,
            campaign_id=f"wf_{self.count}",
            user_id="u1",
            tenant=None,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            micros=cost.micros,
            at=extra.get("at", NOW),
            fallback=extra.get("fallback", False),
        )
        assert self.ledger.record(event)

    def calls(self, kind: str, first: RouteCandidate, second: RouteCandidate, total: int, fallbacks: int) -> None:
        """``total`` calls of 1000/500 tokens, the last ``fallbacks`` of them served by ``second``."""
        for n in range(total):
            served_by_fallback = n >= total - fallbacks
            self.call(kind, second if served_by_fallback else first, 1000, 500, fallback=served_by_fallback)


def optimizer(seeder: Seeder, configured=None) -> CostOptimizer:
    policy = OptimizationPolicy(load_downgrades(), DEFAULT_AZURE_DEPLOYMENTS, Decimal("0.10"), 20)
    return CostOptimizer(seeder.store, InMemoryRoutingOverrideStore(), configured or CONFIGURED, PRICES, policy)


def test_the_downgrade_saving_equals_a_hand_calculation_over_exactly_the_last_30_days():
    seeder = Seeder()
    seeder.call("caption", OPENAI_4O, 1_000_001, 400_001)
    seeder.call("caption", OPENAI_4O, 2_000_003, 600_002)
    seeder.call("caption", OPENAI_4O, 999, 1, at=NOW - 29 * DAY_S)  # the window's first day: counted
    seeder.call("caption", OPENAI_4O, 5_000_000, 5_000_000, at=NOW - 30 * DAY_S)  # a day before it: not
    seeder.call("content_planning", OPENAI_4O, 50_000, 20_000)  # planning is never downgraded
    seeder.store.drain()
    seeder.store.requests.clear()

    found = optimizer(seeder).recommendations(TODAY)

    assert seeder.store.requests == {"Query": 1}
    (rec,) = found.recommendations
    tokens_in, tokens_out = 1_000_001 + 2_000_003 + 999, 400_001 + 600_002 + 1
    expected = micros(tokens_in, tokens_out, "2.50", "10.00") - micros(tokens_in, tokens_out, "0.15", "0.60")
    assert expected == 17_502_548 - 1_050_153 == 16_452_395
    assert (rec.kind, rec.campaign_type, rec.saving_micros) == ("model_downgrade", "caption", expected)
    assert rec.current_route == (OPENAI_4O, AZURE_MINI)
    assert rec.proposed_route == (OPENAI_MINI, AZURE_MINI)
    assert rec.summary.startswith("caption on gpt-4o -> gpt-4o-mini: -$16.45/month at this volume (3 calls")
    evidence = rec.evidence
    assert (evidence.calls, evidence.tokens_in, evidence.tokens_out) == (3, tokens_in, tokens_out)
    assert (evidence.window.first, evidence.window.last) == (date(2026, 2, 13), TODAY)
    assert rec.recommendation_id.startswith("rec_") and len(rec.recommendation_id) == 24


def test_the_id_is_stable_while_the_routes_are_and_the_saving_tracks_volume():
    seeder = Seeder()
    seeder.call("caption", OPENAI_4O, 10_000, 1_000)
    first = optimizer(seeder).recommendations(TODAY).recommendations[0]
    seeder.call("caption", OPENAI_4O, 10_000, 1_000)
    second = optimizer(seeder).recommendations(TODAY).recommendations[0]
    assert first.recommendation_id == second.recommendation_id
    assert second.saving_micros == 2 * first.saving_micros == 2 * (micros(10_000, 1_000, "2.35", "9.40"))


def test_no_downgrade_for_traffic_on_a_candidate_the_route_no_longer_has():
    seeder = Seeder()
    seeder.call("caption", OPENAI_4O, 10_000, 1_000)
    assert optimizer(seeder, configured=DEFAULT_ROUTING_TABLE).recommendations(TODAY).recommendations == []


@pytest.mark.parametrize(
    ("calls", "fallbacks", "expected"),
    [(20, 3, True), (20, 2, False), (19, 3, False), (40, 5, True)],
    ids=["15% of 20", "exactly 10% is not above", "too few calls", "12.5% of 40"],
)
def test_a_fallback_share_above_the_threshold_recommends_swapping_the_order(calls, fallbacks, expected):
    seeder = Seeder()
    seeder.calls("content_planning", AZURE_4O, OPENAI_4O, calls, fallbacks)
    recs = [r for r in optimizer(seeder).recommendations(TODAY).recommendations if r.kind == "fallback_order"]
    assert bool(recs) is expected
    if expected:
        (rec,) = recs
        assert rec.campaign_type == "content_planning"
        assert rec.proposed_route == (OPENAI_4O, AZURE_4O)
        # Every call's tokens at the first candidate (Azure gpt-4o) minus at the second (OpenAI gpt-4o).
        tokens_in, tokens_out = 1000 * calls, 500 * calls
        assert rec.saving_micros == micros(tokens_in, tokens_out, "2.75", "11.00") - micros(
            tokens_in, tokens_out, "2.50", "10.00"
        )
        assert (rec.evidence.calls, rec.evidence.fallbacks) == (calls, fallbacks)
        share = round(100 * fallbacks / calls)
        assert rec.summary.startswith(
            f"content_planning: {share} % of calls served by the fallback, azure:planner-gpt-4o failing: swap the order"
        )
        assert "timeout" not in rec.summary  # the cause is unknown to the ledger: 500s are no timeout problem
        assert "swapping saves $" in rec.summary


def test_a_swap_that_costs_more_says_so_and_stays_out_of_the_plan():
    seeder = Seeder()
    seeder.calls("message_generation", OPENAI_MINI, AZURE_MINI, 20, 5)
    opt = optimizer(seeder)
    (rec,) = opt.recommendations(TODAY).recommendations
    expected = micros(20_000, 10_000, "0.15", "0.60") - micros(20_000, 10_000, "0.165", "0.66")
    assert rec.saving_micros == expected == -900
    assert "costs $0.0009/month more" in rec.summary
    assert opt.plan(TODAY, [Budget("s", 1)]).steps == ()


def test_the_plan_takes_the_best_step_per_type_and_greedily_what_the_budget_needs():
    seeder = Seeder()
    seeder.calls("caption", OPENAI_4O, AZURE_MINI, 20, 5)  # a downgrade and a (cheaper) swap on one route
    seeder.calls("content_planning", AZURE_4O, OPENAI_4O, 20, 4)
    opt = optimizer(seeder)
    recs = opt.recommendations(TODAY).recommendations
    assert sorted(r.kind for r in recs) == ["fallback_order", "fallback_order", "model_downgrade"]
    caption_swap = micros(20_000, 10_000, "2.50", "10.00") - micros(20_000, 10_000, "0.165", "0.66")
    caption_down = micros(15_000, 7_500, "2.50", "10.00") - micros(15_000, 7_500, "0.15", "0.60")
    planning_swap = micros(20_000, 10_000, "2.75", "11.00") - micros(20_000, 10_000, "2.50", "10.00")
    assert (caption_swap, caption_down, planning_swap) == (140_100, 105_750, 15_000)
    recorded = sum(item["costMicros"] for (pk, _), item in seeder.store.items.items() if pk.startswith("EVENT#"))

    plan = opt.plan(TODAY, [Budget("setting", 10_000_000)])
    assert [(s.kind, s.campaign_type, s.saving_micros) for s in plan.steps] == [
        ("fallback_order", "caption", caption_swap),
        ("fallback_order", "content_planning", planning_swap),
    ]
    assert plan.spend_before_micros == recorded
    assert plan.spend_after_micros == recorded - caption_swap - planning_swap
    assert plan.needed == ()  # already under

    just_caption = recorded - caption_swap
    plan = opt.plan(TODAY, [Budget("setting", 10_000_000), Budget("th_x", just_caption)])
    assert (plan.budget_micros, [s.campaign_type for s in plan.needed]) == (just_caption, ["caption"])
    assert plan.spend_after_needed_micros == just_caption

    plan = opt.plan(TODAY, [Budget("setting", 1)])
    assert len(plan.needed) == 2 and plan.spend_after_needed_micros > 1  # all of them, still over
