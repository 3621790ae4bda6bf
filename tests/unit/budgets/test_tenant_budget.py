"""A tenant's monthly cap beside a user's, with fakes: both held in one step, the lower remaining one binds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from shared.budgets.guard import DOWNGRADE_ROUTE, BudgetGuard, ledger_month_spend, max_call_micros, with_downgrade_route
from shared.budgets.store import tenant_budget, user_budget
from shared.core.errors import BudgetExceededError
from shared.core.pricing import PriceTable
from shared.ledger.ledger import CostLedger
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from tests.support.budget_fakes import FixedCaps, InMemoryBudgetStore, cap, tenant_cap
from tests.support.factories import event
from tests.support.fakes import InMemoryCostStore, scripted_router

NOW = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()
MONTH = "2026-03"
MAX_TOKENS = 500
PRICES = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
TABLE = with_downgrade_route(DEFAULT_ROUTING_TABLE, [RouteCandidate(provider="openai", model="gpt-4o-mini")])
MESSAGES = [{"role": "user", "content": "a caption about morning runs"}]
ROUTER = scripted_router(TABLE, PRICES)
CAPTION_BOUND = max_call_micros(ROUTER.candidates("caption"), PRICES, MESSAGES, MAX_TOKENS)
DOWNGRADE_BOUND = max_call_micros(ROUTER.candidates(DOWNGRADE_ROUTE), PRICES, MESSAGES, MAX_TOKENS)


class World:
    """The guard over fakes; the ledger already holds ``tenant_spent`` of another user of tenant t1."""

    def __init__(self, caps: dict, tenant_spent: int = 0) -> None:
        self.ledger = CostLedger(InMemoryCostStore())
        if tenant_spent:
            self.ledger.record(event(900, micros=tenant_spent, user="u9", tenant="t1", at=NOW - 3600))
        self.ledger.record(event(901, micros=7_000, user="u8", tenant="t2", at=NOW - 3600))  # another tenant's
        self.store = InMemoryBudgetStore()
        self.caps = FixedCaps(caps)
        self.guard = BudgetGuard(self.caps, self.store, ROUTER, PRICES, ledger_month_spend(self.ledger), lambda: NOW)

    def admit(self, user: str, rid: str, tenant: str | None = "t1"):
        return self.guard.admit(user, rid, "caption", MESSAGES, MAX_TOKENS, tenant=tenant)

    def committed(self, budget: str) -> int | None:
        return self.store.committed_by_month.get((budget, MONTH))


def test_the_downgrade_route_is_cheaper_than_the_caption_route():
    assert 0 < DOWNGRADE_BOUND < CAPTION_BOUND  # what the downgrade tests below rely on


def test_a_tenant_cap_alone_is_seeded_from_the_tenants_ledger_spend_and_held_and_settled():
    world = World({"TENANT#t1": tenant_cap("t1", 1_000_000)}, tenant_spent=300)
    admission = world.admit("u1", "r1")
    assert admission.reservation.budgets == (tenant_budget("t1"),)  # the user has no cap: nothing held on theirs
    assert world.committed(tenant_budget("t1")) == 300 + CAPTION_BOUND  # t2's 7,000 µ$ is not t1's
    assert world.committed(user_budget("u1")) is None
    world.guard.settle(admission, 45_000)  # 45 µ$ in nanos
    assert world.committed(tenant_budget("t1")) == 300 + 45 and world.store.reservations == {}


def test_a_caller_without_a_tenant_is_held_on_their_own_cap_only():
    world = World({"u1": cap("u1", 1_000_000), "TENANT#t1": tenant_cap("t1", 1)})
    assert world.admit("u1", "r1", tenant=None).reservation.budgets == (user_budget("u1"),)


def test_with_both_caps_one_reservation_holds_on_both_and_settles_both():
    world = World({"u1": cap("u1", 1_000_000), "TENANT#t1": tenant_cap("t1", 2_000_000)}, tenant_spent=100)
    admission = world.admit("u1", "r1")
    assert set(admission.reservation.budgets) == {user_budget("u1"), tenant_budget("t1")}
    assert (world.committed(user_budget("u1")), world.committed(tenant_budget("t1"))) == (
        CAPTION_BOUND,
        100 + CAPTION_BOUND,
    )
    world.guard.settle(admission, 60_000)
    assert (world.committed(user_budget("u1")), world.committed(tenant_budget("t1"))) == (60, 160)


@pytest.mark.parametrize("binding", ["user", "tenant"])
def test_the_cap_with_less_left_binds_and_a_refused_call_holds_on_neither(binding):
    roomy, tight = 10 * CAPTION_BOUND, CAPTION_BOUND - 1
    user_micros, tenant_micros = (tight, roomy) if binding == "user" else (roomy, tight)
    world = World({"u1": cap("u1", user_micros), "TENANT#t1": tenant_cap("t1", tenant_micros)})
    with pytest.raises(BudgetExceededError) as refused:
        world.admit("u1", "r1")
    (detail,) = refused.value.details
    assert (detail["scope"], detail["capMicros"], detail["neededMicros"]) == (binding, tight, CAPTION_BOUND)
    assert detail.get("tenant") == ("t1" if binding == "tenant" else None)
    assert world.committed(user_budget("u1")) == 0 and world.committed(tenant_budget("t1")) == 0  # seeded, nothing held
    assert world.store.reservations == {}


def test_a_binding_tenant_downgrade_cap_runs_on_the_cheaper_route_held_on_both_caps():
    world = World({"u1": cap("u1", 10 * CAPTION_BOUND), "TENANT#t1": tenant_cap("t1", DOWNGRADE_BOUND, "downgrade")})
    admission = world.admit("u1", "r1")
    assert admission.route == DOWNGRADE_ROUTE and "tenant's monthly cap" in admission.note
    assert world.committed(user_budget("u1")) == world.committed(tenant_budget("t1")) == DOWNGRADE_BOUND


def test_a_binding_block_cap_refuses_even_when_the_other_cap_would_downgrade():
    world = World({"u1": cap("u1", 10 * CAPTION_BOUND, "downgrade"), "TENANT#t1": tenant_cap("t1", DOWNGRADE_BOUND)})
    with pytest.raises(BudgetExceededError) as refused:
        world.admit("u1", "r1")
    assert refused.value.details[0]["scope"] == "tenant"


def test_fifty_concurrent_calls_of_ten_users_never_pass_the_tenant_cap():
    cap_micros = 7 * CAPTION_BOUND + CAPTION_BOUND // 2  # room for seven holds at a time
    world = World({"TENANT#t1": tenant_cap("t1", cap_micros), "u3": cap("u3", 2 * CAPTION_BOUND)})
    outcomes: list[str] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        try:
            admission = world.admit(f"u{n % 10}", f"r{n}")
            assert world.committed(tenant_budget("t1")) <= cap_micros
            world.guard.settle(admission, CAPTION_BOUND * 1_000)  # every call bills its whole bound
            result = "ran"
        except BudgetExceededError as exc:
            result = f"refused:{exc.details[0]['scope']}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = outcomes.count("ran")
    assert ran == 7 and len(outcomes) == 50  # settled at the bound, seven fit and no more
    assert world.committed(tenant_budget("t1")) == 7 * CAPTION_BOUND <= cap_micros
    assert world.committed(user_budget("u3")) <= 2 * CAPTION_BOUND
