"""Hard budgets against the moto server: the real conditional writes, and 50 concurrent campaigns through the
real CampaignService, router, ledger and budget guard (the container's) against the provider simulator."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from shared.alerts.thresholds import SpendThreshold, new_threshold_id, tenant_owner
from shared.budgets.guard import input_token_bound
from shared.budgets.store import DynamoBudgetStore, Reservation, tenant_budget, user_budget
from shared.campaigns.models import CampaignRequest
from shared.campaigns.prompts import build_messages
from shared.core.errors import BudgetExceededError
from shared.core.identity import Caller
from shared.core.time import utc_day
from shared.ledger.keys import Scope
from shared.routing.deadline import Deadline
from shared.wiring import container
from tests.support.factories import event

PLANNING = CampaignRequest(type="content_planning", platforms=["instagram"], data={"theme": "spring launch"})
CAP = 1_000_000  # $1.00
LEFT = 50_000  # $0.05 of it left
CONCURRENT = 50


def new_user() -> str:
    return f"budget-{uuid.uuid4().hex[:12]}"


def record_spend(user_id: str, micros: int, at: float, tenant: str | None = None) -> None:
    """Spend from before the cap, through the real ledger."""
    container.cost_ledger().record(
        event(
            micros=micros,
            user=user_id,
            at=at,
            request_id=f"seed-{user_id}",
            model="gpt-4o",
            deployment="gpt-4o",
            campaign_type="content_planning",
            campaign_id=f"wf_seed_{user_id}",
            tenant=tenant,
        )
    )


def set_cap(user_id: str, micros: int, action: str = "block") -> None:
    container.threshold_store().put(
        SpendThreshold(new_threshold_id(), "user", user_id, user_id, "monthly", micros, action, "admin", time.time())
    )


def set_tenant_cap(tenant: str, micros: int, action: str = "block") -> None:
    container.threshold_store().put(
        SpendThreshold(
            new_threshold_id(), "tenant", tenant, tenant_owner(tenant), "monthly", micros, action, "admin", time.time()
        )
    )


def month_spend(user_id: str, at: float) -> int:
    return container.cost_ledger().stats(Scope(user_id), utc_day(at)).month_total.micros


def tenant_month_spend(tenant: str, at: float) -> int:
    return container.cost_ledger().stats(Scope(tenant_id=tenant), utc_day(at)).month_total.micros


def test_the_store_reserves_within_the_cap_and_settles_once(settings):
    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    user, month = new_user(), "2026-03"
    budget = user_budget(user)
    caps = {budget: 1_000}
    first = Reservation(f"{user}-1", (budget,), month, 600, "caption")
    missing = store.reserve(first, caps)
    assert (missing.status, missing.missing) == ("missing", (budget,))  # no budget item yet: nothing was held
    assert store.seed(budget, month, 100) and not store.seed(budget, month, 999)  # put-if-absent
    assert store.reserve(first, caps).status == "reserved" and store.committed(budget, month) == 700
    again = store.reserve(first, caps)  # the same id again (a redelivered job): its hold is reused
    assert (again.status, again.reservation) == ("held", first) and store.committed(budget, month) == 700
    over = store.reserve(Reservation(f"{user}-2", (budget,), month, 301, "caption"), caps)
    assert (over.status, over.committed) == ("over", {budget: 700})
    assert store.reserve(Reservation(f"{user}-3", (budget,), month, 300, "caption"), caps).status == "reserved"
    assert store.committed(budget, month) == 1_000  # exactly the cap
    assert store.settle(first, 250) and store.committed(budget, month) == 650
    assert not store.settle(first, 250) and store.committed(budget, month) == 650  # a retried settle: no change


def test_a_reservation_on_two_budgets_holds_on_both_or_neither(settings):
    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    user, tenant, month = new_user(), f"t-{uuid.uuid4().hex[:8]}", "2026-03"
    mine, theirs = user_budget(user), tenant_budget(tenant)
    store.seed(mine, month, 0)
    store.seed(theirs, month, 900)
    caps = {mine: 10_000, theirs: 1_000}
    over = store.reserve(Reservation(f"{user}-1", (mine, theirs), month, 101, "caption"), caps)
    assert (over.status, over.committed) == ("over", {mine: 0, theirs: 900})  # the tenant's cap refused it: neither
    fits = Reservation(f"{user}-2", (mine, theirs), month, 100, "caption")
    assert store.reserve(fits, caps).status == "reserved"
    assert (store.committed(mine, month), store.committed(theirs, month)) == (100, 1_000)
    assert store.settle(fits, 40)
    assert (store.committed(mine, month), store.committed(theirs, month)) == (40, 940)


def test_threads_of_ten_users_holding_on_their_caps_and_one_tenant_cap_never_pass_either(settings):
    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    tenant, month = f"t-{uuid.uuid4().hex[:8]}", "2026-03"
    users = [new_user() for _ in range(10)]
    tenant_cap, user_cap, hold = 2_000, 450, 100  # room for 20 holds in the tenant, 4 per user
    store.seed(tenant_budget(tenant), month, 0)
    for user in users:
        store.seed(user_budget(user), month, 0)

    def one(n: int) -> str:
        user = users[n % 10]
        budgets = (user_budget(user), tenant_budget(tenant))
        reservation = Reservation(f"{tenant}-{n}", budgets, month, hold, "caption")
        return store.reserve(reservation, {budgets[0]: user_cap, budgets[1]: tenant_cap}).status

    with ThreadPoolExecutor(CONCURRENT) as pool:
        outcomes = list(pool.map(one, range(CONCURRENT)))
    committed_tenant = store.committed(tenant_budget(tenant), month)
    assert outcomes.count("reserved") * hold == committed_tenant <= tenant_cap
    assert all(store.committed(user_budget(u), month) <= user_cap for u in users)
    assert outcomes.count("reserved") == 20 and outcomes.count("over") == CONCURRENT - 20


def test_fifty_concurrent_campaigns_with_five_cents_left_never_spend_past_the_cap(settings, sim, cost_stream):
    user, now = new_user(), time.time()
    record_spend(user, CAP - LEFT, now)
    cost_stream(lambda: month_spend(user, now) == CAP - LEFT)  # the budget is seeded from the folded counters
    set_cap(user, CAP)
    sim.add_fault({"provider": "azure", "delayMs": 150, "count": CONCURRENT})  # calls overlap while reserved
    service = container.campaign_service()
    barrier = threading.Barrier(CONCURRENT)

    def one(_: int) -> str:
        barrier.wait()
        try:
            service.run(PLANNING, Caller(user_id=user), Deadline(25))
        except BudgetExceededError as exc:
            refused = container.workflow_store().get(exc.workflow_id)
            assert refused.status == "failed" and refused.error.code == "BUDGET_EXCEEDED"
            return "402"
        return "ok"

    with ThreadPoolExecutor(CONCURRENT) as pool:
        outcomes = list(pool.map(one, range(CONCURRENT)))

    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    committed = store.committed(user_budget(user), f"{utc_day(now):%Y-%m}")
    spent = cost_stream(lambda: (lambda m: m if m == committed else 0)(month_spend(user, now)))
    assert spent <= CAP  # the cap plus nothing
    assert 0 < outcomes.count("ok") < CONCURRENT and outcomes.count("402") == CONCURRENT - outcomes.count("ok")
    served = [r for r in sim.requests() if r["status"] == 200]
    assert len(served) == outcomes.count("ok")  # a refused request never reached a provider
    prices = container.price_table()
    billed = sum(prices.cost("azure", r["model"], r["promptTokens"], r["completionTokens"]).micros for r in served)
    assert spent == CAP - LEFT + billed  # every served call is in the ledger, exactly
    assert store.committed(user_budget(user), f"{utc_day(now):%Y-%m}") == spent  # every reservation settled
    bound = input_token_bound(build_messages(PLANNING.type, PLANNING.platforms, PLANNING.data))
    assert all(r["promptTokens"] <= bound for r in sim.requests())


def test_fifty_concurrent_campaigns_of_ten_users_of_one_tenant_never_pass_the_tenant_cap(settings, sim, cost_stream):
    tenant, now = f"t-{uuid.uuid4().hex[:8]}", time.time()
    users = [new_user() for _ in range(10)]
    record_spend(users[0], CAP - LEFT, now, tenant=tenant)  # the tenant spent all but five cents already
    cost_stream(lambda: tenant_month_spend(tenant, now) == CAP - LEFT)
    set_tenant_cap(tenant, CAP)
    sim.add_fault({"provider": "azure", "delayMs": 150, "count": CONCURRENT})
    service = container.campaign_service()
    barrier = threading.Barrier(CONCURRENT)

    def one(n: int) -> str:
        barrier.wait()
        try:
            service.run(PLANNING, Caller(user_id=users[n % 10], tenant=tenant), Deadline(25))
        except BudgetExceededError as exc:
            assert exc.details[0]["scope"] == "tenant" and exc.details[0]["tenant"] == tenant
            return "402"
        return "ok"

    with ThreadPoolExecutor(CONCURRENT) as pool:
        outcomes = list(pool.map(one, range(CONCURRENT)))
    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    committed = store.committed(tenant_budget(tenant), f"{utc_day(now):%Y-%m}")
    spent = cost_stream(lambda: (lambda m: m if m == committed else 0)(tenant_month_spend(tenant, now)))
    assert CAP - LEFT < spent <= CAP
    assert 0 < outcomes.count("ok") < CONCURRENT and outcomes.count("402") == CONCURRENT - outcomes.count("ok")
    assert all(store.committed(user_budget(u), f"{utc_day(now):%Y-%m}") is None for u in users)  # no user caps
