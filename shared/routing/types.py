"""Plain data passed between the router, the providers and the workflow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict

from shared.core.pricing import CallCost


class ChatMessage(TypedDict):
    """One chat message in the OpenAI wire shape."""

    role: str
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens a provider reported for one call: cached tokens are part of the input, reasoning
    tokens part of the output (as the providers count them)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def billed(self) -> bool:
        """True when the provider counted tokens, so it bills the call."""
        return bool(self.input_tokens or self.output_tokens)


@dataclass(frozen=True)
class Completion:
    """What a provider answered, with the usage it reported (the only source of cost)."""

    content: str
    input_tokens: int
    output_tokens: int
    reported_model: str
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def usage(self) -> Usage:
        """The reported token counts."""
        return Usage(self.input_tokens, self.output_tokens, self.cached_tokens, self.reasoning_tokens)


class ChatProvider(Protocol):
    """A provider the router can call: one attempt, no retries, classified errors."""

    name: str

    def complete(
        self, model: str, messages: Sequence[ChatMessage], *, timeout_s: float, max_tokens: int
    ) -> Completion: ...


@dataclass(frozen=True)
class Attempt:
    """One try of one candidate, as recorded on the workflow step."""

    provider: str
    model: str
    status: str  # "ok", or the error reason ("server_error", "rate_limited", "circuit_open", ...)
    latency_ms: float
    http_status: int | None = None
    waited_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: CallCost | None = None  # priced once, by the router, when the provider reported usage


@dataclass
class RoutingOutcome:
    """How a request was served (or not): every attempt, the fallbacks taken and the time spent."""

    attempts: list[Attempt] = field(default_factory=list)
    fallback_reasons: list[str] = field(default_factory=list)
    breaker_states: dict[str, str] = field(default_factory=dict)
    provider_ms: float = 0.0
    waited_ms: float = 0.0
    total_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        """Time the router itself added: everything but provider calls and deliberate waits."""
        return max(self.total_ms - self.provider_ms - self.waited_ms, 0.0)

    @property
    def billed_costs(self) -> list[CallCost]:
        """The priced cost of every attempt the provider billed: the served one and any filtered answer."""
        return [attempt.cost for attempt in self.attempts if attempt.cost is not None]


@dataclass(frozen=True)
class RoutedCompletion:
    """A successful completion and the candidate that produced it."""

    completion: Completion
    provider: str
    model: str
    priced_model: str
    outcome: RoutingOutcome

    @property
    def fallback_used(self) -> bool:
        """True when the first candidate did not serve."""
        return bool(self.outcome.fallback_reasons)
