"""Experiments without AWS: stable assignment, the service's rules (one running per type, 422s naming the
field, stop, promote through an audited routing change), variant counters folded from tagged cost events,
and results assembled from them."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.campaigns.service import CampaignService
from shared.core.errors import ExperimentConflictError, ExperimentInputError, ExperimentNotFoundError
from shared.core.pricing import PriceTable
from shared.experiments.assignment import RouteChooser, assigned_variant, assignment_bucket
from shared.experiments.model import Variant
from shared.experiments.results import ResultsReader, assemble
from shared.experiments.service import ExperimentPlan, ExperimentService
from shared.ledger.keys import aggregate_pk, experiment_scope
from shared.ledger.ledger import CostLedger
from shared.ledger.variant_counters import NANOS_SQUARED, VariantCounters
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from shared.routing.overrides import CachedRouteOverrides
from shared.routing.paths import with_legacy_routes
from tests.support.campaigns import CALLER, NOW, REQUEST
from tests.support.experiments import InMemoryExperimentStore, NoOutcomes, ScriptedStatistics
from tests.support.fakes import InMemoryCostStore, InMemoryWorkflowStore, linked_accounts, scripted_router

MINI = (RouteCandidate(provider="openai", model="gpt-4o-mini"),)
FOUR_O = (RouteCandidate(provider="openai", model="gpt-4o"),)
PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)


def plan(**changes):
    base = {
        "name": "mini vs 4o",
        "campaign_type": "caption",
        "variants": [Variant("A", MINI), Variant("B", FOUR_O)],
        "split": [50, 50],
    }
    return ExperimentPlan(**{**base, **changes})


def experiments(store=None, costs=None, clock=lambda: NOW, stats=None):
    store = store or InMemoryExperimentStore()
    results = ResultsReader(costs or InMemoryCostStore(), NoOutcomes(), stats or ScriptedStatistics())
    return ExperimentService(store, DEFAULT_ROUTING_TABLE, PRICES, results, clock=clock), store


def test_assignment_is_stable_per_user_and_follows_the_split() -> None:
    variants = (Variant("A", MINI), Variant("B", FOUR_O))
    users = [f"user-{n}" for n in range(2000)]
    picks = [assigned_variant(variants, (50, 50), assignment_bucket("exp_1", u)).name for u in users]
    assert picks == [assigned_variant(variants, (50, 50), assignment_bucket("exp_1", u)).name for u in users]
    assert 900 < Counter(picks)["A"] < 1100
    assert {assigned_variant(variants, (0, 100), assignment_bucket("exp_1", u)).name for u in users} == {"B"}
    ninety = Counter(assigned_variant(variants, (90, 10), assignment_bucket("exp_1", u)).name for u in users)
    assert 1700 < ninety["A"] < 1900
    # another experiment reshuffles: the buckets are independent across experiments
    other = [assigned_variant(variants, (50, 50), assignment_bucket("exp_2", u)).name for u in users]
    assert 0.4 < sum(a == b for a, b in zip(picks, other, strict=True)) / len(users) < 0.6


def test_one_running_experiment_per_type_and_a_new_one_once_the_first_ends() -> None:
    service, store = experiments()
    first = service.start(plan(), "ops")
    assert first.status == "running"
    assert store.current().experiments["caption"]["id"] == first.experiment_id
    with pytest.raises(ExperimentConflictError) as conflict:
        service.start(plan(name="again"), "ops")
    assert conflict.value.details[0]["field"] == "campaignType"
    service.start(plan(campaign_type="fan_messages"), "ops")  # another type is free
    service.stop(first.experiment_id, "ops")
    assert "caption" not in store.current().experiments
    assert service.get(first.experiment_id).status == "stopped"
    with pytest.raises(ExperimentConflictError):
        service.stop(first.experiment_id, "ops")
    service.start(plan(name="after the first"), "ops")


def test_an_experiment_past_its_end_counts_as_stopped_and_frees_its_type() -> None:
    now = [NOW]
    service, _ = experiments(clock=lambda: now[0])
    first = service.start(plan(ends_at=NOW + 60), "ops")
    now[0] = NOW + 61
    assert first.status_at(now[0]) == "stopped"
    second = service.start(plan(name="next"), "ops")
    assert second.status_at(now[0]) == "running"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"split": [60, 50]}, "split"),
        ({"split": [50, 25, 25]}, "split"),
        ({"variants": [Variant("A", MINI)], "split": [100]}, "variants"),
        ({"variants": [Variant("A", MINI), Variant("A", FOUR_O)]}, "variants[1].name"),
        ({"campaign_type": "newsletter"}, "campaignType"),
        ({"ends_at": NOW - 1}, "endsAt"),
        (
            {"variants": [Variant("A", MINI), Variant("B", (RouteCandidate(provider="openai", model="gpt-9"),))]},
            "variants[1].route",
        ),
        (
            {"variants": [Variant("A", MINI), Variant("B", (RouteCandidate(provider="azure", model="unmapped"),))]},
            "variants[1].route",
        ),
    ],
)
def test_bad_plans_are_422s_naming_the_field(changes, field) -> None:
    service, store = experiments()
    with pytest.raises(ExperimentInputError) as invalid:
        service.start(plan(**changes), "ops")
    assert field in [d["field"] for d in invalid.value.details]
    assert not store.records and not store.current().experiments


def test_promote_makes_the_winner_the_types_route_through_an_audited_change() -> None:
    service, store = experiments()
    running = service.start(plan(), "ops")
    with pytest.raises(ExperimentInputError) as unknown:
        service.promote(running.experiment_id, "C", "ops")
    assert unknown.value.details[0]["field"] == "variant"
    promoted, change = service.promote(running.experiment_id, "B", "ops")
    assert promoted.status == "promoted" and promoted.promoted_variant == "B" and promoted.change_id == change.change_id
    current = store.current()
    assert current.routes["caption"] == FOUR_O and "caption" not in current.experiments
    assert store.overrides.change(change.change_id) == change
    assert running.experiment_id in change.by and change.after == FOUR_O and not change.before_overridden
    with pytest.raises(ExperimentNotFoundError):
        service.get("exp_00000000000000000000")


def test_campaigns_take_their_variants_route_and_the_ledger_counts_per_variant() -> None:
    store = InMemoryExperimentStore()
    costs = InMemoryCostStore()
    service, _ = experiments(store=store, costs=costs)
    running = service.start(plan(), "ops")
    router = scripted_router(DEFAULT_ROUTING_TABLE, PRICES)
    chooser = RouteChooser(router, CachedRouteOverrides(store.overrides, 0), clock=lambda: NOW)
    ids = iter(f"wf_{n:032x}" for n in range(1, 100))
    campaigns = CampaignService(
        router,
        InMemoryWorkflowStore(),
        500,
        30,
        costs=CostLedger(costs),
        routes=chooser,
        clock=lambda: NOW,
        new_id=lambda: next(ids),
    )
    served: dict[str, list] = {"A": [], "B": []}
    for n in range(20):
        caller = CALLER.__class__(user_id=f"user-{n}", tenant=None)
        run = campaigns.run(REQUEST, caller, _deadline())
        step = run.workflow.steps[0]
        assert step.experiment == running.experiment_id
        expected = MINI if step.variant == "A" else FOUR_O
        assert run.workflow.deployment == expected[0].model
        served[step.variant].append(run.cost.nanos)
    assert served["A"] and served["B"]
    items = costs.query(aggregate_pk(experiment_scope(running.experiment_id), "variant"), "DAY#", "DAY$")
    by_variant = {item["sk"].rsplit("#", 1)[1]: VariantCounters.from_item(item) for item in items}
    for name, nanos in served.items():
        counted = by_variant[name]
        assert counted.counters.requests == len(nanos) and counted.counters.nanos == sum(nanos)
        assert counted.nanos_squared == sum(n * n for n in nanos) == items[0 if name == "A" else 1][NANOS_SQUARED]
        assert sum(counted.latency.values()) == len(nanos) and counted.latency_percentile_ms(0.5) == 50
    results = service.results(running)
    assert [v.calls for v in results.variants] == [len(served["A"]), len(served["B"])]
    assert results.variants[0].cost_per_call.mean == pytest.approx(sum(served["A"]) / len(served["A"]) / 1e9)
    # after stop, users are back on the configured route
    service.stop(running.experiment_id, "ops")
    after = campaigns.run(REQUEST, CALLER, _deadline())
    assert after.workflow.steps[0].experiment is None and after.workflow.deployment == "gpt-4o-mini"


def test_legacy_routes_ignore_experiments() -> None:
    store = InMemoryExperimentStore()
    service, _ = experiments(store=store)
    service.start(plan(variants=[Variant("A", FOUR_O), Variant("B", FOUR_O)]), "ops")
    router = scripted_router(with_legacy_routes(DEFAULT_ROUTING_TABLE, "openai"), PRICES)
    chooser = RouteChooser(router, CachedRouteOverrides(store.overrides, 0), clock=lambda: NOW)
    assert chooser.choose("caption", "u1").experiment is not None
    legacy = chooser.choose("legacy:caption", "u1")
    assert legacy.experiment is None


def _deadline():
    from shared.routing.deadline import Deadline

    return Deadline.for_invocation(None, 25, 0.5)


def _counters(calls: int, mean_nanos: int, spread: int, fallbacks: int = 0) -> VariantCounters:
    from shared.ledger.store import Counters

    values = [mean_nanos + (spread if n % 2 else -spread) for n in range(calls)]
    return VariantCounters(
        Counters(sum(values), calls, fallbacks=fallbacks), sum(v * v for v in values), 0, {"lat_le_250": calls}
    )


def test_a_verdict_only_when_the_tests_say_so() -> None:
    service, _ = experiments()
    experiment = service.start(plan(), "ops")
    cheap, dear = _counters(400, 30_000, 3_000), _counters(400, 100_000, 10_000)
    promote = assemble(experiment, {"A": dear, "B": cheap}, {}, ScriptedStatistics(welch_p=[0.001], needed=100))
    assert promote.recommendation == "promote" and promote.recommended_variant == "B"
    assert promote.verdict.startswith("B saves 70 % per call") and promote.verdict.endswith("promote B")
    assert promote.variants[0].latency_p95_ms == 250 and promote.comparisons[0].cost_p_value == 0.001
    same = assemble(experiment, {"A": dear, "B": dear}, {}, ScriptedStatistics(welch_p=[0.6], needed=100))
    assert same.recommendation == "stop" and same.recommended_variant is None
    short = assemble(experiment, {"A": dear, "B": cheap}, {}, ScriptedStatistics(welch_p=[0.001], needed=1000))
    assert short.recommendation == "continue" and short.more_calls_needed == 600
    assert short.verdict == "not enough data: ~600 more calls per variant"
    figures_only = assemble(experiment, {"A": dear, "B": cheap}, {}, None)
    assert figures_only.comparisons is None and figures_only.variants[1].calls == 400


def test_a_fan_campaign_takes_one_variant_for_all_its_messages_and_tags_every_event() -> None:
    from shared.campaigns.fan_messages import FanCampaignService
    from shared.campaigns.models import CampaignRequest
    from tests.support.sending_fakes import InMemoryMessageStates, ListQueue, Store

    store = InMemoryExperimentStore()
    costs = InMemoryCostStore()
    service, _ = experiments(store=store, costs=costs)
    running = service.start(plan(campaign_type="fan_messages"), "ops")
    router = scripted_router(DEFAULT_ROUTING_TABLE, PRICES)
    chooser = RouteChooser(router, CachedRouteOverrides(store.overrides, 0), clock=lambda: NOW)
    workflows = Store()
    campaigns = CampaignService(router, workflows, 200, 30, costs=CostLedger(costs), routes=chooser, clock=lambda: NOW)
    fans = FanCampaignService(
        campaigns,
        router,
        workflows,
        ListQueue(),
        accounts=linked_accounts({"creator_01": [CALLER.user_id]})[0],
        messages=InMemoryMessageStates(),
        max_output_tokens=200,
        concurrency=2,
        sync_max_recipients=50,
    )
    request = CampaignRequest.model_validate(
        {
            "type": "fan_messages",
            "platforms": ["onlyfans"],
            "data": {"accountId": "creator_01", "recipients": [f"fan-{n}" for n in range(5)], "theme": "ab"},
        }
    )
    run = fans.run(request, CALLER, _deadline())
    step = run.workflow.steps[0]
    variant = assigned_variant(
        (Variant("A", MINI), Variant("B", FOUR_O)), (50, 50), assignment_bucket(running.experiment_id, CALLER.user_id)
    )
    assert (step.experiment, step.variant) == (running.experiment_id, variant.name)
    assert run.workflow.deployment == variant.route[0].model
    counted = service.results(running).variants
    assert {v.name: v.calls for v in counted} == {"A": 0, "B": 0, variant.name: 5}


def test_reported_outcomes_give_revenue_per_message_and_a_reply_rate_of_messages_not_replies() -> None:
    from shared.experiments import statistics
    from shared.outcomes.model import OutcomeTotals

    service, _ = experiments()
    experiment = service.start(plan(), "ops")
    calls = _counters(400, 30_000, 3_000)
    # A: 100 messages earned $1 each, 10 of them replied (30 replies in all); B: 100 earned $2 or $4, 50 replied.
    a = OutcomeTotals(100, 100 * 10**9, 100 * (10**9) ** 2, replies=30, messages_replied=10)
    b = OutcomeTotals(100, 300 * 10**9, 50 * (2 * 10**9) ** 2 + 50 * (4 * 10**9) ** 2, replies=50, messages_replied=50)
    results = assemble(experiment, {"A": calls, "B": calls}, {"A": a, "B": b}, statistics)
    first, second = results.variants
    assert (first.revenue_per_message.mean, second.revenue_per_message.mean) == (1.0, 3.0)
    assert (first.reply_rate, second.reply_rate) == (0.1, 0.5)  # messages replied / messages, not replies
    (comparison,) = results.comparisons
    expected = statistics.two_proportion_z_test(10, 100, 50, 100).p_value
    assert comparison.reply_p_value == expected < 0.001 and comparison.revenue_change_percent == 200.0
    assert comparison.revenue_p_value is not None and comparison.revenue_p_value < 0.001
