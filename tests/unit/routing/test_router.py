from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.core.pricing import PriceTable
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE, RouteCandidate
from shared.routing.deadline import Deadline
from shared.routing.errors import (
    ContentFiltered,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejectedRequest,
    ProviderServerError,
    ProviderTimeout,
)
from shared.routing.router import (
    AllProvidersFailedError,
    ProviderRequestRejectedError,
    ProviderRouter,
    RetryPolicy,
    breaker_config,
)
from tests.support.fakes import InMemoryCircuitStore, ScriptedProvider, completion

MESSAGES = [{"role": "user", "content": "hi"}]


class Harness:
    def __init__(self, openai=(), azure=(), routing=None, policy=None, store=None, failure_threshold=5):
        self.openai = ScriptedProvider("openai", openai)
        self.azure = ScriptedProvider("azure", azure)
        self.sleeps: list[float] = []
        self.store = store or InMemoryCircuitStore()
        self.router = ProviderRouter(
            routing_table=routing or DEFAULT_ROUTING_TABLE,
            providers={"openai": self.openai, "azure": self.azure},
            prices=PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS),
            breaker_store=self.store,
            breaker_config=breaker_config(failure_threshold, 30, 1, 0),
            policy=policy or RetryPolicy(max_attempts=2, retry_after_max_s=5),
            sleep=self.sleeps.append,
            rng=lambda: 0.5,
        )

    def run(self, campaign_type="caption", budget_s=20.0):
        return self.router.complete(campaign_type, MESSAGES, Deadline(budget_s), max_tokens=100)


@pytest.fixture(autouse=True)
def _fresh_breaker_counters():
    # Powertools keeps per-environment failure streaks at module level; tests are separate "containers".
    from aws_lambda_powertools.utilities.circuit_breaker import base

    base._LOCAL_FAILURES.clear()
    base._LOCAL_SUCCESSES.clear()
    base._LAST_OBSERVED_STATE.clear()


def test_routes_by_campaign_type():
    h = Harness()
    planning = h.run("content_planning")
    caption = h.run("caption")
    assert (planning.provider, planning.model, planning.priced_model) == ("azure", "planner-gpt-4o", "gpt-4o")
    assert (caption.provider, caption.model) == ("openai", "gpt-4o-mini")
    assert not planning.fallback_used and not caption.fallback_used


def test_server_error_retries_once_with_jittered_backoff_then_falls_back():
    h = Harness(openai=[ProviderServerError("boom", 500), ProviderServerError("boom", 500)])
    served = h.run("caption")
    assert served.provider == "azure"
    assert [a.status for a in served.outcome.attempts] == ["server_error", "server_error", "ok"]
    assert served.outcome.fallback_reasons == ["openai:gpt-4o-mini:server_error"]
    assert h.sleeps == [0.5 * 0.2]  # rng 0.5 of the first backoff step


def test_a_retry_that_succeeds_does_not_fall_back():
    h = Harness(openai=[ProviderTimeout("slow")])
    served = h.run("caption")
    assert served.provider == "openai" and not served.fallback_used
    assert len(h.openai.calls) == 2


def test_rate_limit_waits_retry_after_when_within_bound():
    h = Harness(openai=[ProviderRateLimited("429", retry_after_s=1.5)])
    served = h.run("caption")
    assert served.provider == "openai"
    assert h.sleeps == [1.5]
    assert served.outcome.attempts[0].waited_ms == 1500


def test_rate_limit_beyond_bound_falls_back_without_waiting():
    h = Harness(openai=[ProviderRateLimited("429", retry_after_s=60)])
    served = h.run("caption")
    assert served.provider == "azure"
    assert h.sleeps == []
    assert served.outcome.fallback_reasons == ["openai:gpt-4o-mini:rate_limited"]


def test_content_filter_falls_back_immediately():
    h = Harness(azure=[ContentFiltered("filtered", 400)])
    served = h.run("content_planning")
    assert (served.provider, served.model) == ("openai", "gpt-4o")
    assert len(h.azure.calls) == 1
    assert served.outcome.fallback_reasons == ["azure:planner-gpt-4o:content_filter"]


def test_refused_key_falls_back_without_retry():
    h = Harness(openai=[ProviderAuthError("bad key", 401)])
    assert h.run("caption").provider == "azure"
    assert len(h.openai.calls) == 1


def test_bad_request_goes_back_to_the_caller_without_fallback():
    h = Harness(openai=[ProviderRejectedRequest("bad", 400)])
    with pytest.raises(ProviderRequestRejectedError) as caught:
        h.run("caption")
    assert h.azure.calls == []
    assert [a.status for a in caught.value.outcome.attempts] == ["bad_request"]


def test_all_candidates_failing_raises_with_every_reason():
    h = Harness(openai=[ProviderServerError("x", 500)] * 2, azure=[ProviderServerError("y", 503)] * 2)
    with pytest.raises(AllProvidersFailedError) as caught:
        h.run("caption")
    assert caught.value.outcome.fallback_reasons == [
        "openai:gpt-4o-mini:server_error",
        "azure:chat-gpt-4o-mini:server_error",
    ]
    assert len(caught.value.outcome.attempts) == 4


def test_no_attempt_starts_after_the_deadline():
    h = Harness()
    with pytest.raises(AllProvidersFailedError) as caught:
        h.run("caption", budget_s=0.0)
    assert h.openai.calls == [] and h.azure.calls == []
    assert caught.value.outcome.fallback_reasons[0].endswith(":deadline")


def test_attempt_timeout_is_capped_by_the_deadline():
    h = Harness(policy=RetryPolicy(attempt_timeout_s=10))
    h.run("caption", budget_s=3.0)
    assert h.openai.calls[0]["timeout_s"] <= 3.0


def test_breaker_opens_after_repeated_failures_and_skips_the_candidate():
    h = Harness(openai=[ProviderServerError("x", 500)] * 4, failure_threshold=3)
    h.run("caption")  # two failures, falls back
    h.run("caption")  # third failure trips the circuit, then falls back
    calls_before = len(h.openai.calls)
    served = h.run("caption")
    assert len(h.openai.calls) == calls_before  # open circuit: not even tried
    assert served.provider == "azure"
    assert served.outcome.attempts[0].status == "circuit_open"
    assert served.outcome.breaker_states["openai:gpt-4o-mini"] == "OPEN"


def test_bad_requests_do_not_trip_the_breaker():
    h = Harness(openai=[ProviderRejectedRequest("bad", 400)] * 5, failure_threshold=2)
    for _ in range(5):
        with pytest.raises(ProviderRequestRejectedError):
            h.run("caption")
    assert h.router.breaker_state(RouteCandidate(provider="openai", model="gpt-4o-mini")) == "CLOSED"


def test_unpriced_candidate_is_skipped_loudly_never_served_at_zero():
    routing = {"caption": [RouteCandidate(provider="openai", model="gpt-unknown"), *DEFAULT_ROUTING_TABLE["caption"]]}
    h = Harness(routing=routing)
    served = h.run("caption")
    assert served.model == "gpt-4o-mini"
    assert served.outcome.fallback_reasons == ["openai:gpt-unknown:unpriced_model"]
    assert all(call["model"] != "gpt-unknown" for call in h.openai.calls)


def test_overhead_excludes_provider_time_and_waits():
    h = Harness(openai=[ProviderRateLimited("429", retry_after_s=0.01), completion()])
    served = h.run("caption")
    outcome = served.outcome
    assert outcome.total_ms >= outcome.provider_ms
    assert outcome.overhead_ms == pytest.approx(outcome.total_ms - outcome.provider_ms - outcome.waited_ms, abs=1e-6)


CAPTION_CIRCUIT = "openai:gpt-4o-mini"


def tripped_and_recovered(*probe_answers):
    """A harness whose caption circuit opened on two 500s and whose recovery window has passed."""
    h = Harness(openai=[ProviderServerError("x", 500)] * 2 + list(probe_answers), failure_threshold=2)
    assert h.run("caption").outcome.breaker_states[CAPTION_CIRCUIT] == "OPEN"
    h.store.age_open_circuit(CAPTION_CIRCUIT, 60)
    h.sleeps.clear()
    return h


def in_another_container(call, *args):
    # Powertools' probe owner is per thread: another thread is another container as far as the lock goes.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args).result()


def test_a_400_during_the_half_open_probe_closes_the_circuit_at_once():
    h = tripped_and_recovered(ProviderRejectedRequest("bad", 400))
    with pytest.raises(ProviderRequestRejectedError) as caught:
        h.run("caption")  # the probe: the provider answered, so it is reachable
    assert caught.value.outcome.breaker_states[CAPTION_CIRCUIT] == "CLOSED"
    served = in_another_container(h.run, "caption")  # no recovery window spent waiting for a lock
    assert served.provider == "openai" and not served.fallback_used


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(ContentFiltered("filtered", 400), "content_filter"), (ProviderAuthError("bad key", 401), "auth_error")],
)
def test_a_refusal_during_the_half_open_probe_closes_the_circuit_and_falls_back(answer, reason):
    h = tripped_and_recovered(answer)
    served = h.run("caption")
    assert served.provider == "azure"
    assert served.outcome.fallback_reasons == [f"{CAPTION_CIRCUIT}:{reason}"]
    assert served.outcome.breaker_states[CAPTION_CIRCUIT] == "CLOSED"
    assert in_another_container(h.run, "caption").provider == "openai"


def test_a_429_during_the_half_open_probe_is_reported_rate_limited_and_reopens_without_holding_the_lock():
    h = tripped_and_recovered(ProviderRateLimited("429", retry_after_s=1))
    served = h.run("caption")
    assert served.provider == "azure"
    # Reported as what the provider said, not as the open circuit a retry would have run into.
    assert [a.status for a in served.outcome.attempts] == ["rate_limited", "ok"]
    assert served.outcome.fallback_reasons == [f"{CAPTION_CIRCUIT}:rate_limited"]
    assert h.sleeps == []  # no waiting out Retry-After only to meet the reopened circuit
    record = h.store.records[CAPTION_CIRCUIT]
    assert record.state == "OPEN" and record.half_open_owner is None  # lock released, a fresh window
    assert in_another_container(h.run, "caption").outcome.attempts[0].status == "circuit_open"


def test_a_5xx_during_the_half_open_probe_reopens_and_is_reported_as_the_server_error():
    h = tripped_and_recovered(ProviderServerError("still down", 503))
    served = h.run("caption")
    assert served.outcome.fallback_reasons == [f"{CAPTION_CIRCUIT}:server_error"]
    assert h.store.records[CAPTION_CIRCUIT].state == "OPEN"


def test_an_error_no_one_classified_still_ends_the_probe():
    h = tripped_and_recovered(ValueError("malformed answer"))
    with pytest.raises(ValueError):
        h.run("caption")
    assert h.store.records[CAPTION_CIRCUIT].half_open_owner is None
