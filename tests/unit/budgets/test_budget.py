"""Hard monthly budgets with fakes: the cost bound, reserve/settle arithmetic, block, downgrade, fan messages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from local.sim_protocol import chat_completion
from shared.api.resolver import build_resolver
from shared.budgets.caps import CachedHardCaps
from shared.budgets.guard import (
    DOWNGRADE_ROUTE,
    BudgetGuard,
    input_token_bound,
    ledger_month_spend,
    max_call_micros,
    with_downgrade_route,
)
from shared.budgets.store import user_budget
from shared.campaigns.fan_messages import FanCampaignService
from shared.campaigns.models import CampaignData, CampaignRequest
from shared.campaigns.prompts import build_messages, fan_prompt
from shared.campaigns.service import CampaignService
from shared.core.errors import BudgetExceededError, BudgetUnavailableError, ProvidersUnavailableError
from shared.core.identity import Caller
from shared.core.pricing import PriceTable, nanos_to_micros_ceiling
from shared.ledger.keys import Scope
from shared.ledger.ledger import CostLedger
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from shared.routing.deadline import Deadline
from shared.routing.errors import ContentFiltered, ProviderServerError
from shared.routing.types import Usage
from shared.sending.messages import MessageCounts
from tests.support.budget_fakes import FixedCaps, InMemoryBudgetStore, cap
from tests.support.factories import event
from tests.support.fakes import (
    InMemoryCostStore,
    InMemoryWorkflowStore,
    completion,
    linked_accounts,
    scripted_router,
)
from tests.support.sending_fakes import InMemoryMessageStates, ListQueue, Store

NOW = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
MONTH = "2026-03"
MAX_TOKENS = 500
PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
TABLE = with_downgrade_route(DEFAULT_ROUTING_TABLE, [RouteCandidate(provider="openai", model="gpt-4o-mini")])
CALLER = Caller(user_id="u1")
PLANNING = CampaignRequest(type="content_planning", platforms=["instagram"], data={"theme": "spring launch"})
CAPTION = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "morning runs"})
SERVED_MICROS = 45  # completion(): 100 in + 50 out on gpt-4o-mini = 15 + 30


def router(openai=(), azure=()):
    return scripted_router(TABLE, PRICES, openai, azure)


class Setup:
    """A capped world: the ledger (with ``spent`` already recorded this month), the budget store, the service."""

    def __init__(self, caps=None, spent=0, openai=(), azure=(), workflows=None):
        self.ledger = CostLedger(InMemoryCostStore())
        if spent:
            self.ledger.record(event(999, micros=spent, user="u1", at=NOW - 3600))
        self.store = InMemoryBudgetStore()
        self.caps = FixedCaps(caps)
        self.router = router(openai, azure)
        self.guard = BudgetGuard(
            self.caps, self.store, self.router, PRICES, ledger_month_spend(self.ledger), clock=lambda: NOW
        )
        self.workflows = workflows or InMemoryWorkflowStore()
        ids = iter(f"wf_{n:032x}" for n in range(1, 100))
        self.service = CampaignService(
            self.router,
            self.workflows,
            MAX_TOKENS,
            30,
            costs=self.ledger,
            budget=self.guard,
            clock=lambda: NOW,
            new_id=lambda: next(ids),
        )

    def needed(self, route: str, request: CampaignRequest = PLANNING) -> int:
        messages = build_messages(request.type, request.platforms, request.data)
        return max_call_micros(self.router.candidates(route), PRICES, messages, MAX_TOKENS)

    @property
    def committed(self) -> int | None:
        return self.store.committed_by_month.get((user_budget("u1"), MONTH))

    @property
    def ledger_month(self) -> int:
        return self.ledger.stats(Scope("u1"), date(2026, 3, 14)).month_total.micros


def test_the_bound_is_bytes_plus_framing_and_every_candidate_billing_once_priced_by_hand():
    messages = [{"role": "user", "content": "héllo"}]  # "é" is two bytes
    assert input_token_bound(messages) == (4 + 6 + 8) + 6
    # Azure may bill a completion filtered on output, then OpenAI serves: both candidates bill once.
    planning = TABLE["content_planning"]  # azure gpt-4o 2.75 / 11.00, then openai gpt-4o 2.50 / 10.00 per Mtok
    assert max_call_micros(planning, PRICES, messages, 800) == (24 * 2.75 + 800 * 11) + (24 * 2.5 + 800 * 10)
    assert max_call_micros(TABLE[DOWNGRADE_ROUTE], PRICES, messages, 800) == 484  # 3.6 + 480, rounded up
    unpriced = [RouteCandidate(provider="openai", model="not-priced"), *TABLE[DOWNGRADE_ROUTE]]
    assert max_call_micros(unpriced, PRICES, messages, 800) == 484  # the router skips unpriced candidates


@pytest.mark.parametrize(
    "campaign_type, data",
    [
        ("content_planning", {"theme": "spring", "prompt": "a" * 4000}),
        ("caption", {"theme": "é" * 500, "tone": "💪" * 100, "language": "fr"}),
        ("message_generation", {"prompt": "日本語のメッセージ " * 300, "audience": "x" * 200}),
        ("fan_messages", {"theme": "thanks", "prompt": "hi", "accountId": "acct-1", "recipients": ["fan-1"]}),
    ],
)
def test_the_bound_covers_what_the_simulator_bills_for_every_prompt(campaign_type, data):
    if campaign_type == "fan_messages":
        messages = fan_prompt(CampaignData.model_validate(data), "fan-1")
    else:
        messages = build_messages(campaign_type, ["instagram"], CampaignData.model_validate(data))
    for candidate in TABLE[campaign_type]:
        usage = chat_completion(candidate.provider, candidate.model, messages, {"max_tokens": MAX_TOKENS})["usage"]
        assert usage["prompt_tokens"] <= input_token_bound(messages)
        assert usage["completion_tokens"] <= MAX_TOKENS
        billed = PRICES.cost(candidate.provider, candidate.model, usage["prompt_tokens"], usage["completion_tokens"])
        assert billed.micros <= max_call_micros([candidate], PRICES, messages, MAX_TOKENS)


def test_reserve_seeds_from_the_ledger_then_settle_replaces_the_hold_once():
    world = Setup({"u1": cap("u1", 50_000)}, spent=1_000)
    needed = world.needed("content_planning")
    admission = world.guard.admit(
        "u1", "r1", "content_planning", build_messages("content_planning", ["instagram"], PLANNING.data), MAX_TOKENS
    )
    assert admission.route == "content_planning" and admission.reservation.micros == needed
    assert world.committed == 1_000 + needed  # seeded with the month's spend, then the hold added
    again = world.guard.admit("u1", "r1", "content_planning", [{"role": "user", "content": "x"}], MAX_TOKENS)
    assert again.reservation == admission.reservation and world.committed == 1_000 + needed  # same id: reused
    world.guard.settle(admission, 299_001)  # nanos: committed rounds up, to 299 + 1 = 300 µ$
    assert world.committed == 1_300 and world.store.reservations == {}
    world.guard.settle(admission, 299_001)  # a retried settle finds no reservation and changes nothing
    assert world.committed == 1_300


def test_a_user_without_a_cap_costs_one_cached_lookup_and_no_budget_writes():
    world = Setup(caps={})
    clock = [0.0]
    world.guard._caps = CachedHardCaps(world.caps, ttl_s=5, clock=lambda: clock[0])
    world.service.run(PLANNING, CALLER, Deadline(20))
    world.service.run(PLANNING, CALLER, Deadline(20))
    assert world.caps.lookups == 1 and world.store.calls == []
    clock[0] = 5.1
    world.service.run(PLANNING, CALLER, Deadline(20))
    assert world.caps.lookups == 2 and world.store.calls == []


def test_block_refuses_before_any_provider_call_and_fails_the_workflow_with_the_figures():
    world = Setup({"u1": cap("u1", 10_000)}, spent=9_000)
    with pytest.raises(BudgetExceededError) as caught:
        world.service.run(PLANNING, CALLER, Deadline(20))
    assert all(not p.calls for p in world.router._providers.values())
    (detail,) = caught.value.details
    needed = world.needed("content_planning")
    assert (detail["capMicros"], detail["committedMicros"], detail["neededMicros"]) == (10_000, 9_000, needed)
    assert detail["availableMicros"] == 1_000 and detail["action"] == "block"
    stored = world.workflows.get(caught.value.workflow_id)
    assert stored.status == "failed" and stored.error.code == "BUDGET_EXCEEDED"
    assert world.committed == 9_000 and world.ledger_month == 9_000


def test_downgrade_runs_on_the_cheaper_route_says_why_and_settles_to_the_billed_cost():
    world = Setup()
    downgrade, planning = world.needed(DOWNGRADE_ROUTE), world.needed("content_planning")
    world.caps.caps["u1"] = cap("u1", 2_000 + downgrade, "downgrade")
    world.ledger.record(event(998, micros=2_000, user="u1", at=NOW - 60))
    assert downgrade < planning - 2_000
    run = world.service.run(PLANNING, CALLER, Deadline(20))
    assert (run.workflow.provider, run.workflow.model) == ("openai", "gpt-4o-mini")
    step = run.workflow.steps[0]
    assert step.budget_note.startswith("budget downgrade") and "content_planning" in step.budget_note
    assert world.committed == world.ledger_month == 2_000 + SERVED_MICROS


def test_downgrade_that_does_not_fit_either_is_refused():
    world = Setup()
    world.caps.caps["u1"] = cap("u1", world.needed(DOWNGRADE_ROUTE) - 1, "downgrade")
    with pytest.raises(BudgetExceededError):
        world.service.run(PLANNING, CALLER, Deadline(20))
    assert world.committed == 0


def test_a_failed_provider_call_settles_to_what_it_billed_nothing():
    world = Setup(
        {"u1": cap("u1", 1_000_000)},
        spent=500,
        openai=[ProviderServerError("x", 500)],
        azure=[ProviderServerError("y", 500)],
    )
    with pytest.raises(ProvidersUnavailableError):
        world.service.run(PLANNING, CALLER, Deadline(20))
    assert world.committed == 500 and world.store.reservations == {}


def test_a_reservation_left_by_a_dead_process_stays_held():
    world = Setup({"u1": cap("u1", 100_000)})
    world.guard.admit("u1", "wf_dead#generate", "caption", [{"role": "user", "content": "x"}], MAX_TOKENS)
    held = world.committed
    assert held > 0 and set(world.store.reservations) == {"wf_dead#generate"}
    world.service.run(CAPTION, CALLER, Deadline(20))  # later calls settle their own, never the dead one's
    assert world.committed == held + SERVED_MICROS


def fan_world(remaining_messages_fit: int, recipients: int = 12, action: str = "block"):
    world = Setup(workflows=Store())
    fans = FanCampaignService(
        world.service,
        world.router,
        world.workflows,
        ListQueue(),
        accounts=linked_accounts({"acct-1": ["u1"]})[0],
        messages=InMemoryMessageStates(),
        max_output_tokens=MAX_TOKENS,
        concurrency=1,
        sync_max_recipients=50,
    )
    request = CampaignRequest(
        type="fan_messages",
        platforms=["onlyfans"],
        data={"theme": "thanks", "accountId": "acct-1", "recipients": [f"fan-{i:02d}" for i in range(recipients)]},
    )
    per_message = max_call_micros(TABLE["fan_messages"], PRICES, fan_prompt(request.data, "fan-00"), MAX_TOKENS)
    # One at a time, each settling to 45 µ$: message n (from 0) fits while 45 n + per_message <= the cap.
    world.caps.caps["u1"] = cap("u1", per_message + SERVED_MICROS * (remaining_messages_fit - 1), action)
    return world, fans, request


def test_fan_messages_past_the_budget_are_not_generated_and_counted_as_failed():
    world, fans, request = fan_world(5)
    run = fans.run(request, CALLER, Deadline(20))
    assert run.counts == MessageCounts(sent=0, queued=5, failed=7)
    assert "7 of 12 messages not generated" in run.workflow.steps[0].budget_note
    assert world.committed == world.ledger_month == 5 * SERVED_MICROS and world.store.reservations == {}


def test_fan_messages_all_refused_answer_402_naming_the_workflow():
    world, fans, request = fan_world(0)
    with pytest.raises(BudgetExceededError) as caught:
        fans.run(request, CALLER, Deadline(20))
    stored = world.workflows.get(caught.value.workflow_id)
    assert stored.status == "failed" and stored.error.code == "BUDGET_EXCEEDED"
    assert world.committed == 0


def test_the_resolver_answers_budget_exceeded_with_402_and_the_figures():
    app = build_resolver()

    @app.get("/spend")
    def spend():
        raise BudgetExceededError("over", workflow_id="wf_9", details=[{"capMicros": 1}])

    event_ = {
        "version": "2.0",
        "routeKey": "GET /spend",
        "rawPath": "/spend",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/spend"}, "requestId": "r", "stage": "$default"},
        "isBase64Encoded": False,
    }
    response = app.resolve(event_, None)
    body = json.loads(response["body"])
    assert response["statusCode"] == 402
    assert body["error"] == {
        "code": "BUDGET_EXCEEDED",
        "message": "over",
        "details": [{"capMicros": 1}],
        "workflowId": "wf_9",
    }


def test_a_fan_message_too_dear_on_its_route_runs_on_the_downgrade_route_and_the_step_says_so():
    world, fans, request = fan_world(1, recipients=1, action="downgrade")
    messages = fan_prompt(request.data, "fan-00")
    downgrade = max_call_micros(TABLE[DOWNGRADE_ROUTE], PRICES, messages, MAX_TOKENS)
    assert downgrade < max_call_micros(TABLE["fan_messages"], PRICES, messages, MAX_TOKENS)  # azure mini is dearer
    world.caps.caps["u1"] = cap("u1", downgrade, "downgrade")
    run = fans.run(request, CALLER, Deadline(20))
    assert run.counts == MessageCounts(sent=0, queued=1, failed=0)
    assert run.workflow.steps[0].budget_note == "1 of 1 messages ran on the cheaper route to fit the monthly budget"
    assert world.committed == world.ledger_month == SERVED_MICROS


class BrokenCaps:
    def hard_cap(self, user_id):
        raise ConnectionError("the costs table is unreachable")

    def tenant_cap(self, tenant_id):
        raise ConnectionError("the costs table is unreachable")


def test_a_budget_that_cannot_be_checked_refuses_the_call_and_fails_the_workflow():
    world = Setup()
    world.guard._caps = BrokenCaps()
    with pytest.raises(BudgetUnavailableError) as caught:
        world.service.run(PLANNING, CALLER, Deadline(20))
    assert all(not p.calls for p in world.router._providers.values())
    stored = world.workflows.get(caught.value.workflow_id)
    assert stored.status == "failed" and stored.error.code == "BUDGET_UNAVAILABLE"


def test_a_completion_filtered_on_output_is_billed_spend_in_the_ledger_the_step_and_the_budget():
    # Azure generates 1,200 in / 90 out on planner-gpt-4o, then withholds it; OpenAI gpt-4o serves 1,200 / 300.
    filtered = ContentFiltered("filtered on output", 200, usage=Usage(1_200, 90, cached_tokens=1_024))
    world = Setup(
        {"u1": cap("u1", 1_000_000)},
        spent=500,
        azure=[filtered],
        openai=[completion("Plan", input_tokens=1_200, output_tokens=300)],
    )
    run = world.service.run(PLANNING, CALLER, Deadline(20))
    azure_nanos = 176 * 2_750 + 1_024 * 1_375 + 90 * 11_000  # 2,882,000 n$: cached input at 1.375 $/M
    openai_nanos = 1_200 * 2_500 + 300 * 10_000  # 6,000,000 n$
    assert [(a.provider, a.status, a.cost.nanos if a.cost else None) for a in run.outcome.attempts] == [
        ("azure", "content_filter", azure_nanos),
        ("openai", "ok", openai_nanos),
    ]
    assert (run.cost.nanos, run.cost.cached_tokens) == (azure_nanos + openai_nanos, 1_024)
    (step,) = run.workflow.steps
    assert (step.cost_nanos, step.tokens.cached, step.attempts[0].cost_nanos) == (8_882_000, 1_024, azure_nanos)
    stats = world.ledger.stats(Scope("u1"), date(2026, 3, 14))
    assert stats.day_by_provider["azure"].nanos == azure_nanos and stats.day_by_provider["azure"].cached_tokens == 1_024
    assert (stats.day_total.requests, stats.day_total.nanos) == (1 + 2, 500_000 + 8_882_000)  # spent=500 µ$ before
    assert world.committed == 500 + 8_882 and world.store.reservations == {}


def test_the_bound_covers_a_filtered_completion_on_every_candidate_before_the_last():
    prompt = {"theme": "spring", "prompt": "a" * 4000}
    messages = build_messages("content_planning", ["instagram"], CampaignData.model_validate(prompt))
    candidates = TABLE["content_planning"]
    worst = 0
    for candidate in candidates:  # each billing its largest possible call once
        usage = chat_completion(candidate.provider, candidate.model, messages, {"max_tokens": MAX_TOKENS})["usage"]
        worst += PRICES.cost(candidate.provider, candidate.model, usage["prompt_tokens"], MAX_TOKENS).nanos
    assert nanos_to_micros_ceiling(worst) <= max_call_micros(candidates, PRICES, messages, MAX_TOKENS)
