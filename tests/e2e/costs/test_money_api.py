"""Billing what the provider bills, over HTTP: cached prompt prefixes, completions filtered on output, and
period totals that are exactly the price of their tokens (never a sum of rounded calls)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from shared.core.pricing import nanos_to_micros, nanos_to_micros_ceiling
from tests.conftest import eventually

# A content plan near the request model's limits: a 4,000-character prompt (CampaignData.prompt's
# maximum) and a 500-character theme make a prompt of about 1,200 tokens, past the 1,024 from which
# the providers (and the simulator) cache its prefix.
LONG_BRIEF = ("Plan a month of posts for a trail-running creator: race prep, recovery, gear, nutrition. " * 45)[:4000]


def long_plan(theme: str) -> dict:
    return {
        "type": "content_planning",
        "platforms": ["instagram"],
        "data": {"theme": theme, "prompt": LONG_BRIEF},
        "mode": "sync",
    }


def as_user(api, user: str, method: str, path: str, body=None, admin: bool = False, **params):
    query = f"?{urlencode(params)}" if params else ""
    return api.call(method, path + query, body, token=api.token(user, admin=admin))


def stats_of(api, user: str, requests: int | None = None, timeout_s: float = 60) -> dict:
    """The user's stats; with ``requests``, once the stream has folded that many calls (bounded)."""

    def read() -> dict | None:
        reply = as_user(api, user, "GET", "/api/v2/costs/stats")
        assert reply.status == 200, reply.body
        data = reply.body["data"]
        return data if requests is None or data["requests"]["today"] >= requests else None

    return eventually(read, timeout_s=timeout_s)


def test_the_same_long_prompt_costs_less_the_second_time_and_stats_are_the_exact_sum(api, sim):
    user = f"cached-{uuid.uuid4().hex[:8]}"
    body = long_plan(f"Spring trail season {uuid.uuid4().hex}")
    first, second = (as_user(api, user, "POST", "/api/v2/campaigns/hybrid", body) for _ in range(2))
    assert first.status == second.status == 200, (first.body, second.body)
    one, two = first.body["metrics"]["cost"], second.body["metrics"]["cost"]
    assert one["inputTokens"] == two["inputTokens"] >= 1_024
    assert one["cachedTokens"] == 0 and two["cachedTokens"] >= 1_024 and two["cachedTokens"] % 128 == 0
    assert two["costNanos"] < one["costNanos"]
    # Azure planner-gpt-4o (prices.json: 2.75 in, 1.375 cached, 11.00 out per million) = n$ per token x 1,000.
    uncached = two["inputTokens"] - two["cachedTokens"]
    assert two["costNanos"] == uncached * 2_750 + two["cachedTokens"] * 1_375 + two["outputTokens"] * 11_000
    assert two["costMicros"] == nanos_to_micros(two["costNanos"])
    assert [r["cachedTokens"] for r in sim.requests()] == [0, two["cachedTokens"]]
    workflow = second.body["data"]["workflowId"]
    status = as_user(api, user, "GET", "/api/v2/campaigns/status", workflowId=workflow).body["data"]
    (step,) = status["steps"]
    assert (step["tokens"]["cached"], step["costNanos"]) == (two["cachedTokens"], two["costNanos"])
    assert status["cost"]["cachedTokens"] == two["cachedTokens"]
    stats = stats_of(api, user, requests=2)
    assert (
        stats["monthTotalMicros"] == stats["todayTotalMicros"] == nanos_to_micros(one["costNanos"] + two["costNanos"])
    )
    assert stats["requests"] == {"today": 2, "month": 2}


def test_an_output_filtered_azure_answer_is_billed_spend_in_the_ledger_and_the_budget(api, sim, local_stack):
    from shared.budgets.store import DynamoBudgetStore, user_budget
    from shared.config.settings import get_settings
    from shared.wiring.aws import dynamodb_client

    user = f"filtered-{uuid.uuid4().hex[:8]}"
    cap = {"scope": "user", "userId": user, "period": "monthly", "amountUsd": "1", "action": "block"}
    assert as_user(api, "ops-admin", "POST", "/api/v2/costs/thresholds", cap, admin=True).status == 201
    sim.add_fault({"provider": "azure", "contentFilter": "output", "model": "planner-gpt-4o"})
    reply = as_user(api, user, "POST", "/api/v2/campaigns/hybrid", long_plan("Filtered then served"))
    assert reply.status == 200, reply.body
    assert reply.body["data"]["provider"] == "openai" and reply.body["metrics"]["attempts"] == 2
    assert reply.body["metrics"]["fallbacks"] == ["azure:planner-gpt-4o:content_filter"]
    azure_call, openai_call = sim.requests()
    assert (azure_call["provider"], azure_call["status"], openai_call["provider"]) == ("azure", 200, "openai")
    filtered_nanos = azure_call["promptTokens"] * 2_750 + azure_call["completionTokens"] * 11_000
    served_nanos = openai_call["promptTokens"] * 2_500 + openai_call["completionTokens"] * 10_000
    cost = reply.body["metrics"]["cost"]
    assert cost["costNanos"] == filtered_nanos + served_nanos and filtered_nanos > 0
    workflow = reply.body["data"]["workflowId"]
    (step,) = as_user(api, user, "GET", "/api/v2/campaigns/status", workflowId=workflow).body["data"]["steps"]
    assert [(a["provider"], a["status"], a["costNanos"]) for a in step["attempts"]] == [
        ("azure", "content_filter", filtered_nanos),
        ("openai", "ok", served_nanos),
    ]
    stats = stats_of(api, user, requests=2)
    assert stats["requests"]["month"] == 2 and stats["monthTotalMicros"] == nanos_to_micros(cost["costNanos"])
    azure = next(p for p in stats["byProvider"]["month"] if p["provider"] == "azure")
    assert azure["costMicros"] == nanos_to_micros(filtered_nanos)
    settings = get_settings()
    budget = DynamoBudgetStore(settings.cost_table_name, dynamodb_client())
    month = f"{datetime.now(UTC):%Y-%m}"
    assert budget.committed(user_budget(user), month) == nanos_to_micros_ceiling(
        cost["costNanos"]
    )  # settled, rounded up


def test_a_thousand_calls_of_ten_and_twenty_tokens_are_exactly_a_thousand_times_13_5_micro_dollars(api, local_stack):
    """The campaign path's own pieces: the router's priced attempt, its cost event, the ledger; then stats."""
    from shared.campaigns.billing import billed_events
    from shared.campaigns.models import Workflow
    from shared.routing.types import Attempt, RoutingOutcome
    from shared.wiring.ledger import cost_ledger
    from shared.wiring.routing import price_table

    user = f"small-calls-{uuid.uuid4().hex[:8]}"
    cost = price_table().cost("openai", "gpt-4o-mini", 10, 20)
    assert (cost.nanos, cost.micros) == (13_500, 14)  # 1,000 rounded calls would book 14,000 µ$
    now = time.time()
    ledger = cost_ledger()

    def record(n: int) -> bool:
        workflow = Workflow(
            workflow_id=f"wf_{user}_{n}",
            owner_id=user,
            type="caption",
            platforms=["instagram"],
            mode="sync",
            status="completed",
            created_at="x",
            updated_at="x",
            expires_at=0,
        )
        attempt = Attempt("openai", "gpt-4o-mini", "ok", 1.0, 200, 0.0, 10, 20, cost=cost)
        (event,) = billed_events(RoutingOutcome(attempts=[attempt]), workflow=workflow, step="generate", at=now)
        return ledger.record(event)

    assert all(record(n) for n in range(1_000))  # one PutItem each; the stream folds them in batches of 100
    stats = stats_of(api, user, requests=1_000, timeout_s=120)
    assert stats["todayTotalMicros"] == stats["monthTotalMicros"] == 1_000 * 27 // 2 == 13_500
    assert stats["requests"]["today"] == 1_000
    assert stats["tokens"]["today"] == {"input": 10_000, "output": 20_000, "total": 30_000}
