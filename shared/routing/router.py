"""The provider router: the fallback matrix, retries, and a circuit breaker per (provider, deployment).

For a campaign type the routing table gives ordered candidates. Each candidate gets up to
``max_attempts`` tries through its circuit breaker (Powertools, state in DynamoDB so every
container sees an outage at once). 5xx, timeouts and connection errors retry with jittered
backoff; a 429 waits what ``Retry-After`` asks when that fits the bound and the deadline; a
content-filter refusal or a refused key moves straight to the next candidate; a plain 400 is the
caller's error and ends the request. No attempt starts once the deadline has passed. Every attempt
the provider billed (an answer, or one filtered on output) is priced here, once, on its ``Attempt``.

What ends a half-open probe: Powertools closes the circuit when the protected call returns and
reopens it when the call raises a counted failure; any other exception leaves it HALF_OPEN with
this container holding the probe lock for a whole recovery window. So the protected call returns
every refusal (400, content filter, 401/403: the provider answered, it is reachable) as a value,
raised again outside the breaker, and counts every other exception as a failure: each probe ends.
A failure that leaves the circuit open (it tripped it, or a probe failed) is not retried into the
open circuit: the candidate falls back at once, reported with what the provider said.

The module runs a little over 300 lines on purpose: the attempt loop, the breaker's probe rules and the
fallback decisions above are one state machine, and split across modules they would be read apart.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from aws_lambda_powertools.utilities.circuit_breaker import (
    CircuitBreakerConfig,
    CircuitBreakerOpenError,
    CircuitState,
    circuit_breaker,
)
from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerPersistenceLayer

from shared.core.pricing import PriceTable, UnpricedModelError
from shared.core.retry import MIN_ATTEMPT_S, RetryPolicy
from shared.routing.candidates import RouteCandidate
from shared.routing.deadline import Deadline
from shared.routing.errors import (
    ProviderError,
    ProviderFailure,
    ProviderRateLimited,
    ProviderRefusal,
    ProviderRejectedRequest,
)
from shared.routing.types import (
    Attempt,
    ChatMessage,
    ChatProvider,
    Completion,
    RoutedCompletion,
    RoutingOutcome,
    Usage,
)


class AllProvidersFailedError(Exception):
    """Every candidate failed, was skipped or ran out of time; the outcome says how."""

    def __init__(self, outcome: RoutingOutcome) -> None:
        reasons = ", ".join(outcome.fallback_reasons) or "no candidate"
        super().__init__(f"no provider could serve the request ({reasons})")
        self.outcome = outcome


class ProviderRequestRejectedError(Exception):
    """A provider rejected the request itself (400): the caller's error, not retried elsewhere."""

    def __init__(self, message: str, outcome: RoutingOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome


class RouteOverrides(Protocol):
    """Routes applied at run time (the cost optimizer's), which take precedence over the configured table."""

    def routes(self) -> Mapping[str, Sequence[RouteCandidate]]: ...


class ProviderRouter:
    """Serves a campaign type from its candidates; one instance per container.

    With ``overrides``, a hybrid route an admin applied at run time replaces the configured one on
    the next request; legacy routes (``legacy:<type>``) never change: they are the rollback path.
    """

    def __init__(
        self,
        routing_table: Mapping[str, Sequence[RouteCandidate]],
        providers: Mapping[str, ChatProvider],
        prices: PriceTable,
        breaker_store: CircuitBreakerPersistenceLayer,
        breaker_config: CircuitBreakerConfig,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        overrides: RouteOverrides | None = None,
    ) -> None:
        self._routing_table = routing_table
        self._overrides = overrides
        self._providers = providers
        self._prices = prices
        self._breaker_store = breaker_store
        self._breaker_config = breaker_config
        self._policy = policy
        self._sleep = sleep
        self._rng = rng
        self._guarded: dict[str, Callable[..., Completion]] = {}

    def candidates(
        self, campaign_type: str, overrides: Mapping[str, Sequence[RouteCandidate]] | None = None
    ) -> Sequence[RouteCandidate]:
        """The ordered candidates for a campaign type: an applied override, else the configured route.

        Only campaign types are overridden; the fixed routes (``legacy:<type>``, ``budget:downgrade``)
        are read from the table without looking at the overrides. ``overrides``: the ones the caller
        already read for this request (else they are read here).
        """
        if ":" not in campaign_type and (overrides is not None or self._overrides is not None):
            override = (overrides if overrides is not None else self._overrides.routes()).get(campaign_type)
            if override:
                return override
        return self._routing_table[campaign_type]

    def breaker_state(self, candidate: RouteCandidate) -> str:
        """The circuit's state as this container sees it (read through the breaker's short cache)."""
        self._breaker_store.configure(config=self._breaker_config, circuit_name=candidate.circuit_name)
        return str(self._breaker_store.get_state(candidate.circuit_name).state)

    def complete(
        self,
        campaign_type: str,
        messages: Sequence[ChatMessage],
        deadline: Deadline,
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
    ) -> RoutedCompletion:
        """Serve the request from the first candidate that can, recording every attempt.

        ``candidates`` are the route's, when the caller already read them for this request.
        """
        started = time.perf_counter()
        outcome = RoutingOutcome()
        try:
            for candidate in self.candidates(campaign_type) if candidates is None else candidates:
                try:
                    served = self._try_candidate(candidate, messages, deadline, max_tokens, outcome)
                finally:  # a rejected request's outcome says what its probe did to the circuit too
                    outcome.breaker_states[candidate.circuit_name] = self.breaker_state(candidate)
                if served is not None:
                    return served
            raise AllProvidersFailedError(outcome)
        finally:
            outcome.total_ms = (time.perf_counter() - started) * 1000

    def _try_candidate(
        self,
        candidate: RouteCandidate,
        messages: Sequence[ChatMessage],
        deadline: Deadline,
        max_tokens: int,
        outcome: RoutingOutcome,
    ) -> RoutedCompletion | None:
        """Up to ``max_attempts`` tries of one candidate; ``None`` means fall back, with the reason recorded."""
        try:
            priced_model = self._prices.priced_model(candidate.provider, candidate.model)
        except UnpricedModelError:
            outcome.fallback_reasons.append(f"{candidate.circuit_name}:unpriced_model")
            outcome.attempts.append(Attempt(candidate.provider, candidate.model, "unpriced_model", 0.0))
            return None
        call = self._guarded_call(candidate)
        for attempt_no in range(1, self._policy.max_attempts + 1):
            timeout_s = min(self._policy.attempt_timeout_s, deadline.remaining())
            if timeout_s < MIN_ATTEMPT_S:
                outcome.fallback_reasons.append(f"{candidate.circuit_name}:deadline")
                return None
            t0 = time.perf_counter()
            try:
                completion = call(candidate.model, messages, timeout_s=timeout_s, max_tokens=max_tokens)
            except CircuitBreakerOpenError:
                outcome.attempts.append(Attempt(candidate.provider, candidate.model, "circuit_open", 0.0))
                outcome.fallback_reasons.append(f"{candidate.circuit_name}:circuit_open")
                return None
            except ProviderError as exc:
                latency_ms = self._spent(outcome, t0)
                attempt = self._attempt(candidate, exc.reason, latency_ms, exc.status, exc.usage)
                if isinstance(exc, ProviderRejectedRequest):
                    outcome.attempts.append(attempt)
                    raise ProviderRequestRejectedError(str(exc), outcome) from exc
                wait_s = self._retry_wait(exc, attempt_no, deadline)
                # A failure that tripped the circuit or failed its probe: a retry would only meet it open.
                if wait_s is None or self.breaker_state(candidate) == CircuitState.OPEN:
                    outcome.attempts.append(attempt)
                    outcome.fallback_reasons.append(f"{candidate.circuit_name}:{exc.reason}")
                    return None
                outcome.attempts.append(replace(attempt, waited_ms=wait_s * 1000))
                self._wait(wait_s, outcome)
                continue
            latency_ms = self._spent(outcome, t0)
            outcome.attempts.append(self._attempt(candidate, "ok", latency_ms, 200, completion.usage))
            return RoutedCompletion(completion, candidate.provider, candidate.model, priced_model, outcome)
        return None  # pragma: no cover - the loop always returns or continues to its last attempt

    def _attempt(
        self, candidate: RouteCandidate, status: str, latency_ms: float, http_status: int | None, usage: Usage
    ) -> Attempt:
        """One attempt as recorded, priced here once when the provider billed it (an answer, or an
        answer filtered on output): every later use of its cost reads this one result."""
        cost = None
        if usage.billed:
            cost = self._prices.cost(
                candidate.provider,
                candidate.model,
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_tokens,
                usage.reasoning_tokens,
            )
        return Attempt(
            candidate.provider,
            candidate.model,
            status,
            latency_ms,
            http_status,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost=cost,
        )

    def _retry_wait(self, exc: ProviderError, attempt_no: int, deadline: Deadline) -> float | None:
        """Seconds to wait before retrying the same candidate, or ``None`` to fall back now."""
        if not isinstance(exc, ProviderFailure) or attempt_no >= self._policy.max_attempts:
            return None
        if isinstance(exc, ProviderRateLimited) and exc.retry_after_s is not None:
            if exc.retry_after_s > self._policy.retry_after_max_s:
                return None
            wait_s = exc.retry_after_s
        else:
            wait_s = self._policy.backoff_s(attempt_no, self._rng)
        # Waiting only to have no time left for the retry itself helps nobody.
        if wait_s + MIN_ATTEMPT_S > deadline.remaining():
            return None
        return wait_s

    def _wait(self, seconds: float, outcome: RoutingOutcome) -> None:
        t0 = time.perf_counter()
        self._sleep(seconds)
        outcome.waited_ms += (time.perf_counter() - t0) * 1000

    @staticmethod
    def _spent(outcome: RoutingOutcome, t0: float) -> float:
        latency_ms = (time.perf_counter() - t0) * 1000
        outcome.provider_ms += latency_ms
        return latency_ms

    def _guarded_call(self, candidate: RouteCandidate) -> Callable[..., Completion]:
        """The provider's ``complete`` behind this candidate's circuit, built once per container."""
        call = self._guarded.get(candidate.circuit_name)
        if call is None:
            breaker = circuit_breaker(
                name=candidate.circuit_name,
                persistence_store=self._breaker_store,
                config=self._breaker_config,
            )
            call = _refusals_count_as_reached(breaker, self._providers[candidate.provider].complete)
            self._guarded[candidate.circuit_name] = call
        return call


def _refusals_count_as_reached(
    breaker: Callable[[Callable[..., Completion | ProviderRefusal]], Callable[..., Completion | ProviderRefusal]],
    complete: Callable[..., Completion],
) -> Callable[..., Completion]:
    """``complete`` behind ``breaker``, which sees a refusal as the answer it is and the caller sees it raised.

    Powertools has no "record a success" call: a protected call that returns is its success. So a
    refusal comes back through the breaker as a value (a probe that gets one closes the circuit, a
    closed circuit's failure streak restarts) and is raised again here, outside it.
    """

    @breaker
    def reached(*args: Any, **kwargs: Any) -> Completion | ProviderRefusal:
        try:
            return complete(*args, **kwargs)
        except ProviderRefusal as refusal:
            return refusal

    def call(*args: Any, **kwargs: Any) -> Completion:
        answer = reached(*args, **kwargs)
        if isinstance(answer, ProviderRefusal):
            raise answer
        return answer

    return call


def breaker_config(
    failure_threshold: int, recovery_timeout_s: int, success_threshold: int, cache_s: int
) -> CircuitBreakerConfig:
    """The breaker's tunables; every exception out of the protected call counts as a failure.

    Refusals never reach it (they come back as answers, see ``_refusals_count_as_reached``), so what
    is left is provider trouble, 429s included: a probe that gets a 429 reopens the circuit for a
    fresh recovery window. The provider is up but refusing our volume; closing would send the whole
    fleet at it, and holding the probe lock would stall every container, whereas reopening releases
    the lock and moves the traffic to the fallback until the next probe asks again. Retry-After is a
    hint for one caller's retry; the window is the fleet's. An exception nobody classified (a
    malformed answer) counts too, so that no exception can leave a probe holding the lock.
    """
    return CircuitBreakerConfig(
        failure_threshold=failure_threshold,
        recovery_timeout=recovery_timeout_s,
        success_threshold=success_threshold,
        local_cache_max_age=cache_s,
    )
