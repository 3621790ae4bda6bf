"""Hard budgets against the moto server: the real conditional writes, and 50 concurrent campaigns through the
real CampaignService, router, ledger and budget guard (the container's) against the provider simulator."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from shared.alerts.thresholds import SpendThreshold, new_threshold_id
from shared.budgets.guard import input_token_bound
from shared.budgets.store import DynamoBudgetStore, Reservation
from shared.campaigns.models import CampaignRequest
from shared.campaigns.prompts import build_messages
from shared.core.errors import BudgetExceededError
from shared.core.identity import Caller
from shared.core.time import utc_day
from shared.ledger.events import CostEvent
from shared.ledger.keys import Scope
from shared.routing.deadline import Deadline
from shared.wiring import container

PLANNING = CampaignRequest(type="content_planning", platforms=["instagram"], data={"theme": "spring launch"})
CAP = 1_000_000  # $1.00
LEFT = 50_000  # $0.05 of it left
CONCURRENT = 50


def new_user() -> str:
    return f"budget-{uuid.uuid4().hex[:12]}"


def record_spend(user_id: str, micros: int, at: float) -> None:
    """Spend from before the cap, through the real ledger."""
    container.cost_ledger().record(
        CostEvent(
            request_id=f"seed-{user_id}",
            provider="openai",
            model="gpt-4o",
            deployment="gpt-4o",
            campaign_type="content_planning",
            campaign_id=f"wf_seed_{user_id}",
            user_id=user_id,
            tenant=None,
            input_tokens=1_000,
            output_tokens=500,
            micros=micros,
            at=at,
        )
    )


def set_cap(user_id: str, micros: int, action: str = "block") -> None:
    container.threshold_store().put(
        SpendThreshold(new_threshold_id(), "user", user_id, user_id, "monthly", micros, action, "admin", time.time())
    )


def month_spend(user_id: str, at: float) -> int:
    return container.cost_ledger().stats(Scope(user_id), utc_day(at)).month_total.micros


def test_the_store_reserves_within_the_cap_and_settles_once(settings):
    store = DynamoBudgetStore(settings.cost_table_name, container.dynamodb_client())
    user, month = new_user(), "2026-03"
    first = Reservation(f"{user}-1", user, month, 600, "caption")
    assert store.reserve(first, 1_000).status == "missing"  # no budget item yet: nothing was held
    assert store.seed(user, month, 100) and not store.seed(user, month, 999)  # put-if-absent
    assert store.reserve(first, 1_000).status == "reserved" and store.committed(user, month) == 700
    again = store.reserve(first, 1_000)  # the same id again (a redelivered job): its hold is reused
    assert (again.status, again.reservation) == ("held", first) and store.committed(user, month) == 700
    over = store.reserve(Reservation(f"{user}-2", user, month, 301, "caption"), 1_000)
    assert (over.status, over.committed_micros) == ("over", 700)
    assert store.reserve(Reservation(f"{user}-3", user, month, 300, "caption"), 1_000).status == "reserved"
    assert store.committed(user, month) == 1_000  # exactly the cap
    assert store.settle(first, 250) and store.committed(user, month) == 650
    assert not store.settle(first, 250) and store.committed(user, month) == 650  # a retried settle: no change


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
    committed = store.committed(user, f"{utc_day(now):%Y-%m}")
    spent = cost_stream(lambda: (lambda m: m if m == committed else 0)(month_spend(user, now)))
    assert spent <= CAP  # the cap plus nothing
    assert 0 < outcomes.count("ok") < CONCURRENT and outcomes.count("402") == CONCURRENT - outcomes.count("ok")
    served = [r for r in sim.requests() if r["status"] == 200]
    assert len(served) == outcomes.count("ok")  # a refused request never reached a provider
    prices = container.price_table()
    billed = sum(prices.cost("azure", r["model"], r["promptTokens"], r["completionTokens"]).micros for r in served)
    assert spent == CAP - LEFT + billed  # every served call is in the ledger, exactly
    assert store.committed(user, f"{utc_day(now):%Y-%m}") == spent  # every reservation settled to its cost
    bound = input_token_bound(build_messages(PLANNING.type, PLANNING.platforms, PLANNING.data))
    assert all(r["promptTokens"] <= bound for r in sim.requests())
