"""Per-campaign analytics over the in-memory store: hand sums of the recorded events, sorting, scope, one Query."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest

from shared.api.costs.analytics_views import campaign_costs_response
from shared.ledger.campaign_costs import SORT_KEYS, CampaignCosts, campaign_costs, sort_campaigns
from shared.ledger.events import CostEvent
from shared.ledger.keys import EVERYONE, Scope
from shared.ledger.ledger import CostLedger
from shared.ledger.store import Counters
from shared.outcomes.model import RevenueTotals
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore

START, END = date(2026, 3, 10), date(2026, 3, 16)


def recorded(count: int, campaigns: int, seed: int = 3) -> tuple[InMemoryCostStore, list[CostEvent]]:
    """``count`` calls spread over ``campaigns`` campaigns, three users, two providers and March 8..18."""
    rng = random.Random(seed)
    store, events = InMemoryCostStore(), []
    ledger = CostLedger(store)
    for n in range(count):
        number = rng.randrange(campaigns)
        e = event(
            n,
            micros=rng.randint(1, 5_000),
            user=f"u{number % 3}",  # a campaign belongs to one user
            at=datetime(2026, 3, rng.randint(8, 18), rng.randint(0, 23), tzinfo=UTC).timestamp(),
            provider=rng.choice(["openai", "azure"]),
            campaign_id=f"wf_{number:04d}",
            input_tokens=rng.randint(1, 900),
            output_tokens=rng.randint(1, 400),
            fallback=rng.random() < 0.2,
        )
        assert ledger.record(e)
        events.append(e)
    return store, events


def hand_sums(events: list[CostEvent], user: str | None = None) -> dict[str, dict]:
    sums: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if START <= e.day <= END and (user is None or e.user_id == user):
            s = sums[e.campaign_id]
            s["micros"] += e.micros
            s["calls"] += 1
            s["in"] += e.input_tokens
            s["out"] += e.output_tokens
            s["fallbacks"] += e.fallback
            s[f"micros:{e.provider}"] += e.micros
            s[f"calls:{e.provider}"] += 1
    return sums


def as_sums(store: InMemoryCostStore, scope: Scope) -> dict[str, dict]:
    found = {}
    for c in campaign_costs(store, scope, START, END):
        total = c.total
        found[c.campaign_id] = {
            "micros": total.micros,
            "calls": total.requests,
            "in": total.tokens_in,
            "out": total.tokens_out,
            "fallbacks": total.fallbacks,
            **{f"micros:{p}": v.micros for p, v in c.by_provider.items()},
            **{f"calls:{p}": v.requests for p, v in c.by_provider.items()},
        }
    return found


def test_each_campaigns_figures_equal_a_hand_sum_of_its_recorded_events():
    store, events = recorded(2_000, 40)
    assert as_sums(store, EVERYONE) == {k: dict(v) for k, v in hand_sums(events).items()}


def test_a_users_scope_holds_their_campaigns_only():
    store, events = recorded(600, 30)
    mine = as_sums(store, Scope("u1"))
    assert mine == {k: dict(v) for k, v in hand_sums(events, user="u1").items()}
    assert mine and all(int(k.removeprefix("wf_")) % 3 == 1 for k in mine)


def test_derived_measures_cost_per_message_and_fallback_share():
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    noon = datetime(2026, 3, 12, 12, tzinfo=UTC).timestamp()
    ledger.record(event(1, micros=900, at=noon, campaign_id="wf_a"))
    ledger.record(event(2, micros=300, at=noon, campaign_id="wf_a", provider="azure", fallback=True))
    ledger.record(event(3, micros=600, at=noon, campaign_id="wf_a", provider="azure", fallback=True))
    (campaign,) = campaign_costs(store, EVERYONE, START, END)
    assert (campaign.messages, campaign.cost_per_message_micros, campaign.fallback_share) == (3, 600.0, 2 / 3)
    body = json.loads(json.dumps(campaign_costs_response([campaign], EVERYONE, START, END, "spend", "desc", 5).body))
    (view,) = body["data"]["campaigns"]
    assert (view["campaignId"], view["costMicros"], view["requests"], view["messages"]) == ("wf_a", 1_800, 3, 3)
    assert (view["costPerMessage"], view["fallbacks"], view["fallbackShare"]) == (0.0006, 2, 0.666667)
    assert [(p["provider"], p["costMicros"], p["requests"]) for p in view["providers"]] == [
        ("azure", 900, 2),
        ("openai", 900, 1),
    ]
    assert view["tokens"] == {"input": 3_000, "output": 1_500, "total": 4_500}


@pytest.mark.parametrize("sort_by", list(SORT_KEYS))
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting_by_each_measure_either_way_with_a_limit_and_a_total(sort_by, order):
    store, _ = recorded(500, 25)
    campaigns = campaign_costs(store, EVERYONE, START, END)
    ordered = sort_campaigns(campaigns, sort_by, order)
    measure = SORT_KEYS[sort_by]
    values = [measure(c) for c in ordered]
    assert values == sorted(values, reverse=order == "desc")
    body = campaign_costs_response(ordered, EVERYONE, START, END, sort_by, order, 7).body["data"]
    assert [c["campaignId"] for c in body["campaigns"]] == [c.campaign_id for c in ordered[:7]]
    assert body["total"] == len(campaigns) == 25 and (body["sortBy"], body["order"], body["limit"]) == (
        sort_by,
        order,
        7,
    )
    assert body["totals"]["costMicros"] == sum(c.total.micros for c in campaigns)


def test_ties_keep_campaign_id_order_both_ways():
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    noon = datetime(2026, 3, 12, 12, tzinfo=UTC).timestamp()
    for n, name in enumerate(["wf_c", "wf_a", "wf_b"]):
        ledger.record(event(n, micros=100, at=noon, campaign_id=name))
    campaigns = campaign_costs(store, EVERYONE, START, END)
    for order in ("asc", "desc"):
        assert [c.campaign_id for c in sort_campaigns(campaigns, "spend", order)] == ["wf_a", "wf_b", "wf_c"]


@pytest.mark.parametrize("campaigns", [10, 1_000])
def test_one_query_whatever_the_number_of_campaigns(campaigns):
    store = InMemoryCostStore()
    ledger = CostLedger(store)
    for n in range(3 * campaigns):  # three calls each, on two providers and two days
        at = datetime(2026, 3, 11 + n % 2, 12, tzinfo=UTC).timestamp()
        provider = "azure" if n % 3 else "openai"
        ledger.record(event(n, micros=10, at=at, campaign_id=f"wf_{n % campaigns:04d}", provider=provider))
    store.drain()
    for scope, queries in ((Scope("u1"), 1), (EVERYONE, 2)):  # everyone's: the range's users, then each one's
        before = dict(store.requests)
        found = campaign_costs(store, scope, START, END)
        assert len(found) == campaigns and sum(c.total.requests for c in found) == 3 * campaigns
        spent = {op: n - before.get(op, 0) for op, n in store.requests.items() if n != before.get(op, 0)}
        assert spent == {"Query": queries}


def test_revenue_and_roi_are_exact_from_nano_dollars():
    """ROI subtracts nano-dollars, then rounds half up once; the ratio is from nanos too; no cost → no ratio."""
    spent = CampaignCosts("wf_a", {"openai": Counters(nanos=20_500, requests=1)})  # $0.0000205: 21 micros shown
    free = CampaignCosts("wf_b", {"openai": Counters(nanos=0, requests=1)})
    revenue = {"wf_a": RevenueTotals(revenue_nanos=1_000_000_000, replies=4, outcomes=2)}
    body = json.loads(
        json.dumps(campaign_costs_response([spent, free], EVERYONE, START, END, "spend", "desc", 5, revenue).body)
    )
    first, second = body["data"]["campaigns"]
    assert (first["revenueMicros"], first["revenueUsd"], first["replies"], first["outcomes"]) == (1_000_000, 1.0, 4, 2)
    assert (first["roiMicros"], first["roiUsd"]) == (999_980, 0.99998)  # 999,979.5 micros, half up
    assert first["roiRatio"] == round(1_000_000_000 / 20_500, 6)
    assert (second["revenueMicros"], second["roiMicros"], second["roiRatio"]) == (0, 0, None)
