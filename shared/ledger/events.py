"""One billed provider call, as the ledger records it, and the UTC day it counts in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.core.time import utc_day


@dataclass(frozen=True)
class CostEvent:
    """A provider call that used tokens; ``request_id`` is stable across retries of the same call."""

    request_id: str
    provider: str
    model: str  # the priced base model (an Azure deployment's mapped model, never the reported name)
    deployment: str  # what the router called: OpenAI model or Azure deployment
    campaign_type: str
    campaign_id: str
    user_id: str
    tenant: str | None
    input_tokens: int
    output_tokens: int
    micros: int  # the cost rounded half up to a whole micro-dollar: for display, never summed
    at: float  # epoch seconds
    status: str = "ok"  # the attempt's status: a call the provider billed is recorded even if it failed
    fallback: bool = False  # served by a candidate other than the route's first choice
    nanos: int | None = None  # the exact cost in nano-dollars, what counters sum (None: micros x 1,000)
    cached_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    reasoning_tokens: int = 0  # of output_tokens, spent reasoning (billed as output, once)
    latency_ms: int | None = None  # the attempt's provider time (experiment counters keep its histogram)
    experiment: str | None = None  # the routing experiment the call's route came from, if any
    variant: str | None = None  # that experiment's variant the caller was assigned to

    def __post_init__(self) -> None:
        if self.nanos is None:  # an event priced in whole micro-dollars only
            object.__setattr__(self, "nanos", self.micros * 1_000)

    @property
    def day(self) -> date:
        """The UTC day the call counts in."""
        return utc_day(self.at)


class CostRecorder(Protocol):
    """Where the campaign service sends each billed call (the ledger, behind :class:`CostTracker`)."""

    def record(self, event: CostEvent) -> bool: ...
