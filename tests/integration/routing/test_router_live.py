"""The router through the real openai SDK against the simulator, breaker state in the moto server; and what
it bills: cached prompt prefixes at the cached price, a completion Azure filtered on output before the fallback."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

from shared.core.pricing import PriceTable
from shared.routing.candidates import RouteCandidate
from shared.routing.clients import build_azure_provider, build_openai_provider
from shared.routing.deadline import Deadline
from shared.routing.router import (
    AllProvidersFailedError,
    ProviderRequestRejectedError,
    ProviderRouter,
    RetryPolicy,
    breaker_config,
)
from shared.wiring.aws import aws_client

MESSAGES = [{"role": "user", "content": "Write a caption about morning runs"}]


def make_router(settings, routing=None, prices=None, failure_threshold=5, recovery_s=30, attempt_timeout_s=5.0):
    """A router as one container builds it: own SDK clients, own breaker store (own local cache)."""
    providers = {
        "openai": build_openai_provider(
            _secret(settings.openai_api_key_secret_name) or settings.openai_api_key.get_secret_value(),
            settings.openai_base_url,
        ),
        "azure": build_azure_provider(
            _secret(settings.azure_openai_api_key_secret_name) or settings.azure_openai_api_key.get_secret_value(),
            settings.azure_openai_endpoint,
            settings.azure_openai_api_version,
        ),
    }
    store = CircuitBreakerDynamoDBPersistence(
        table_name=settings.circuit_table_name, boto3_client=aws_client("dynamodb")
    )
    return ProviderRouter(
        routing_table=routing or settings.routing_table,
        providers=providers,
        prices=prices or PriceTable.load(settings.azure_deployments, settings.price_overrides),
        breaker_store=store,
        breaker_config=breaker_config(failure_threshold, recovery_s, 1, 0),
        policy=RetryPolicy(
            max_attempts=2, attempt_timeout_s=attempt_timeout_s, backoff_base_s=0.05, retry_after_max_s=3
        ),
    )


def _secret(name: str) -> str:
    if not name:
        return ""
    return aws_client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def a_circuit_of_its_own(settings):
    """A caption route whose first candidate has a circuit no other test touches in the shared table."""
    model = f"gpt-4o-mini-{uuid.uuid4().hex[:6]}"
    routing = {
        "caption": [
            RouteCandidate(provider="openai", model=model),
            RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),
        ]
    }
    prices = PriceTable.load(settings.azure_deployments, {"openai": {model: {"input": "0.15", "output": "0.60"}}})
    return model, routing, prices


def in_another_container(call, *args):
    # Powertools' probe owner is per thread: another thread holds (or not) the lock as another container would.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args).result()


def served_by(sim):
    return [(r["provider"], r["status"]) for r in sim.requests()]


def test_routes_planning_to_azure_and_captions_to_openai(settings, sim):
    router = make_router(settings)
    planning = router.complete("content_planning", MESSAGES, Deadline(20), 200)
    caption = router.complete("caption", MESSAGES, Deadline(20), 200)
    assert (planning.provider, planning.model, planning.priced_model) == ("azure", "planner-gpt-4o", "gpt-4o")
    assert planning.completion.reported_model != "planner-gpt-4o"  # Azure reports its own name; we price ours
    assert (caption.provider, caption.model) == ("openai", "gpt-4o-mini")
    assert caption.completion.input_tokens > 0 and caption.completion.output_tokens > 0
    assert served_by(sim) == [("azure", 200), ("openai", 200)]


def test_falls_back_on_500_after_one_retry(settings, sim):
    sim.add_fault({"provider": "openai", "status": 500, "count": 2})
    served = make_router(settings).complete("caption", MESSAGES, Deadline(20), 200)
    assert served.provider == "azure" and served.fallback_used
    assert served_by(sim) == [("openai", 500), ("openai", 500), ("azure", 200)]


def test_429_waits_retry_after_then_retries_the_same_provider(settings, sim):
    sim.add_fault({"provider": "openai", "status": 429, "count": 1, "retryAfter": 1})
    started = time.monotonic()
    served = make_router(settings).complete("caption", MESSAGES, Deadline(20), 200)
    assert served.provider == "openai" and not served.fallback_used
    assert time.monotonic() - started >= 1.0
    assert served.outcome.attempts[0].status == "rate_limited" and served.outcome.attempts[0].waited_ms >= 1000


def test_429_that_persists_falls_back(settings, sim):
    sim.add_fault({"provider": "openai", "status": 429, "count": 2, "retryAfter": 1})
    served = make_router(settings).complete("caption", MESSAGES, Deadline(20), 200)
    assert served.provider == "azure"
    assert served.outcome.fallback_reasons == ["openai:gpt-4o-mini:rate_limited"]


def test_timeout_falls_back(settings, sim):
    sim.add_fault({"provider": "azure", "delayMs": 1500, "count": 2})
    served = make_router(settings, attempt_timeout_s=0.3).complete("content_planning", MESSAGES, Deadline(20), 200)
    assert (served.provider, served.model) == ("openai", "gpt-4o")
    assert [a.status for a in served.outcome.attempts] == ["timeout", "timeout", "ok"]
    # The simulator logs a request when it answers: let the two abandoned ones finish here, not in the next test.
    deadline = time.monotonic() + 10
    while sum(p == "azure" for p, _ in served_by(sim)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_content_filter_falls_back_without_retry(settings, sim):
    sim.add_fault({"provider": "azure", "status": 400, "contentFilter": True, "count": 1})
    served = make_router(settings).complete("content_planning", MESSAGES, Deadline(20), 200)
    assert served.provider == "openai"
    assert served.outcome.fallback_reasons == ["azure:planner-gpt-4o:content_filter"]
    assert served_by(sim) == [("azure", 400), ("openai", 200)]


def test_plain_400_returns_to_the_caller_without_fallback(settings, sim):
    sim.add_fault({"provider": "openai", "status": 400, "count": 1})
    with pytest.raises(ProviderRequestRejectedError):
        make_router(settings).complete("caption", MESSAGES, Deadline(20), 200)
    assert served_by(sim) == [("openai", 400)]


def test_breaker_is_shared_across_containers_and_closes_after_one_good_probe(settings, sim):
    model = f"gpt-4o-mini-{uuid.uuid4().hex[:6]}"  # a circuit of its own in the shared table
    routing = {
        "caption": [
            RouteCandidate(provider="openai", model=model),
            RouteCandidate(provider="azure", model="chat-gpt-4o-mini"),
        ]
    }
    prices = PriceTable.load(settings.azure_deployments, {"openai": {model: {"input": "0.15", "output": "0.60"}}})
    # Powertools stores opened_at in whole seconds, so a circuit stays open for recovery_s minus up to one
    # second: 3 s leaves the second container's read (milliseconds later, seconds on a loaded machine) inside it.
    first = make_router(settings, routing=routing, prices=prices, failure_threshold=2, recovery_s=3)
    second = make_router(settings, routing=routing, prices=prices, failure_threshold=2, recovery_s=3)
    sim.add_fault({"provider": "openai", "model": model, "status": 500, "count": 2})
    served = first.complete("caption", MESSAGES, Deadline(20), 200)  # two failures trip the circuit
    assert served.provider == "azure"
    assert served.outcome.breaker_states[f"openai:{model}"] == "OPEN"

    sim.reset()
    served = second.complete("caption", MESSAGES, Deadline(20), 200)  # another container sees it open
    assert served.provider == "azure"
    assert served.outcome.attempts[0].status == "circuit_open"
    assert [r["provider"] for r in sim.requests()] == ["azure"]

    time.sleep(3.1)  # the recovery timeout has passed: one probe is let through
    sim.reset()
    probe = second.complete("caption", MESSAGES, Deadline(20), 200)
    assert probe.provider == "openai"
    assert probe.outcome.breaker_states[f"openai:{model}"] == "CLOSED"
    again = first.complete("caption", MESSAGES, Deadline(20), 200)
    assert again.provider == "openai"


def test_both_providers_down_raises_with_every_reason(settings, sim):
    sim.add_fault({"provider": "openai", "status": 500, "count": 10})
    sim.add_fault({"provider": "azure", "status": 500, "count": 10})
    with pytest.raises(AllProvidersFailedError) as caught:
        make_router(settings).complete("caption", MESSAGES, Deadline(20), 200)
    assert len(caught.value.outcome.attempts) == 4


RECOVERY_S = 3  # Powertools stores opened_at in whole seconds: a window of a few seconds, waited out in full


def tripped_then_recovered(settings, sim, model, routing, prices):
    """A router whose circuit for ``model`` opened on two 500s, once its recovery window has passed."""
    router = make_router(settings, routing=routing, prices=prices, failure_threshold=2, recovery_s=RECOVERY_S)
    sim.add_fault({"provider": "openai", "model": model, "status": 500, "count": 2})
    assert router.complete("caption", MESSAGES, Deadline(20), 200).outcome.breaker_states[f"openai:{model}"] == "OPEN"
    time.sleep(RECOVERY_S + 0.1)
    sim.reset()
    return router


def test_a_400_during_half_open_then_a_good_call_closes_the_circuit_at_once(settings, sim):
    model, routing, prices = a_circuit_of_its_own(settings)
    prober = tripped_then_recovered(settings, sim, model, routing, prices)
    sim.add_fault({"provider": "openai", "model": model, "status": 400, "count": 1})
    with pytest.raises(ProviderRequestRejectedError) as caught:
        in_another_container(prober.complete, "caption", MESSAGES, Deadline(20), 200)
    assert caught.value.outcome.breaker_states[f"openai:{model}"] == "CLOSED"  # the provider answered: reachable

    other = make_router(settings, routing=routing, prices=prices, failure_threshold=2, recovery_s=RECOVERY_S)
    started = time.monotonic()
    served = other.complete("caption", MESSAGES, Deadline(20), 200)
    assert (served.provider, served.model) == ("openai", model) and not served.fallback_used
    assert time.monotonic() - started < RECOVERY_S  # served now, not after a recovery window behind a lock
    assert served_by(sim) == [("openai", 400), ("openai", 200)]


def test_a_content_filter_during_half_open_closes_the_circuit_and_falls_back(settings, sim):
    model, routing, prices = a_circuit_of_its_own(settings)
    prober = tripped_then_recovered(settings, sim, model, routing, prices)
    sim.add_fault({"provider": "openai", "model": model, "status": 400, "contentFilter": True, "count": 1})
    served = in_another_container(prober.complete, "caption", MESSAGES, Deadline(20), 200)
    assert served.provider == "azure"
    assert served.outcome.fallback_reasons == [f"openai:{model}:content_filter"]
    assert served.outcome.breaker_states[f"openai:{model}"] == "CLOSED"
    assert (
        make_router(settings, routing=routing, prices=prices).complete("caption", MESSAGES, Deadline(20), 200).provider
        == "openai"
    )


def test_a_429_during_half_open_is_reported_rate_limited_and_reopens_the_circuit(settings, sim):
    model, routing, prices = a_circuit_of_its_own(settings)
    prober = tripped_then_recovered(settings, sim, model, routing, prices)
    sim.add_fault({"provider": "openai", "model": model, "status": 429, "count": 1, "retryAfter": 1})
    served = prober.complete("caption", MESSAGES, Deadline(20), 200)
    assert served.provider == "azure"
    # What the provider said, not the reopened circuit a retry after Retry-After would have met.
    assert [a.status for a in served.outcome.attempts] == ["rate_limited", "ok"]
    assert served.outcome.fallback_reasons == [f"openai:{model}:rate_limited"]
    # Reachable but refusing our volume: the probe lock is released and the circuit reopens for a fresh window
    # (closing would send every container at it), so the next container falls back without calling it.
    assert served.outcome.breaker_states[f"openai:{model}"] == "OPEN"
    sim.reset()
    other = make_router(settings, routing=routing, prices=prices, failure_threshold=2, recovery_s=RECOVERY_S)
    again = in_another_container(other.complete, "caption", MESSAGES, Deadline(20), 200)
    assert again.outcome.attempts[0].status == "circuit_open" and served_by(sim) == [("azure", 200)]
    time.sleep(RECOVERY_S + 0.1)  # the fresh window passes: the next container's probe closes it
    assert in_another_container(other.complete, "caption", MESSAGES, Deadline(20), 200).provider == "openai"


# ---- what the router bills ----

# A shared system prompt long enough to be cached (the simulator counts 4 characters a token).
LONG_SYSTEM = "You write captions for a fitness creator. " * 110  # 4,620 characters, 1,155 tokens


def long_prompt(ask: str) -> list[dict]:
    return [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": ask}]


def test_the_same_long_prompt_costs_less_the_second_time_and_is_priced_at_the_cached_price(settings, sim):
    routing = {"caption": [RouteCandidate(provider="openai", model="gpt-4o-mini")]}
    router = make_router(settings, routing=routing)
    first = router.complete("caption", long_prompt("Morning runs"), Deadline(20), 60)
    second = router.complete("caption", long_prompt("Evening swims"), Deadline(20), 60)
    one, two = first.outcome.attempts[-1].cost, second.outcome.attempts[-1].cost
    assert (one.cached_tokens, two.cached_tokens) == (0, 1_152)  # the shared prefix, in 128-token steps
    assert (first.completion.cached_tokens, second.completion.cached_tokens) == (0, 1_152)
    uncached = two.input_tokens - two.cached_tokens
    assert two.nanos == uncached * 150 + 1_152 * 75 + two.output_tokens * 600  # prices.json x 1,000 per token
    assert one.nanos == one.input_tokens * 150 + one.output_tokens * 600
    assert two.nanos < one.nanos and sim.requests()[-1]["cachedTokens"] == 1_152


def test_an_azure_completion_filtered_on_output_is_billed_then_the_fallback_serves(settings, sim):
    sim.add_fault({"provider": "azure", "contentFilter": "output", "model": "planner-gpt-4o"})
    router = make_router(settings)
    served = router.complete("content_planning", long_prompt("A week of posts"), Deadline(20), 80)
    filtered, answer = served.outcome.attempts
    assert (filtered.provider, filtered.status, filtered.http_status) == ("azure", "content_filter", 200)
    assert served.outcome.fallback_reasons == ["azure:planner-gpt-4o:content_filter"]
    assert (answer.provider, answer.status, served.provider) == ("openai", "ok", "openai")
    logged = sim.requests()
    assert [(r["provider"], r["status"]) for r in logged] == [("azure", 200), ("openai", 200)]
    # Billed as Azure counted it: the simulator's usage, priced as the deployment's base model.
    assert (filtered.input_tokens, filtered.output_tokens) == (logged[0]["promptTokens"], logged[0]["completionTokens"])
    assert filtered.cost.priced_model == "gpt-4o" and filtered.output_tokens > 0
    assert filtered.cost.nanos == filtered.input_tokens * 2_750 + filtered.output_tokens * 11_000
    assert served.outcome.billed_costs == [filtered.cost, answer.cost]
