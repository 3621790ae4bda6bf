"""One billed provider call, as the ledger records it, and the UTC day it counts in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from shared.campaigns.models import Workflow
from shared.core.pricing import PriceTable
from shared.routing.types import RoutingOutcome


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
    micros: int
    at: float  # epoch seconds
    status: str = "ok"  # the attempt's status: a call the provider billed is recorded even if it failed
    fallback: bool = False  # served by a candidate other than the route's first choice

    @property
    def day(self) -> date:
        """The UTC day the call counts in."""
        return utc_day(self.at)


def utc_day(epoch_s: float) -> date:
    """The UTC calendar day of an instant: days and months roll over at midnight UTC."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).date()


def request_id(campaign_id: str, step: str, attempt_index: int) -> str:
    """Deterministic per provider call, so a retried invocation of the same step records nothing new."""
    return f"{campaign_id}#{step}#{attempt_index}"


def billed_events(
    outcome: RoutingOutcome, prices: PriceTable, *, workflow: Workflow, step: str, at: float
) -> list[CostEvent]:
    """Every attempt of a routed call that reported usage, priced, ready to record.

    Today's providers report usage only with a successful answer, so a failed attempt carries no
    tokens and costs nothing here; an attempt that does carry usage is recorded whatever its status.
    """
    events = []
    first_choice = (outcome.attempts[0].provider, outcome.attempts[0].model) if outcome.attempts else None
    for index, attempt in enumerate(outcome.attempts):
        if not (attempt.input_tokens or attempt.output_tokens):
            continue
        cost = prices.cost(attempt.provider, attempt.model, attempt.input_tokens, attempt.output_tokens)
        events.append(
            CostEvent(
                request_id=request_id(workflow.workflow_id, step, index),
                provider=attempt.provider,
                model=cost.priced_model,
                deployment=attempt.model,
                campaign_type=workflow.type,
                campaign_id=workflow.workflow_id,
                user_id=workflow.owner_id,
                tenant=workflow.tenant,
                input_tokens=cost.input_tokens,
                output_tokens=cost.output_tokens,
                micros=cost.micros,
                at=at,
                status=attempt.status,
                fallback=(attempt.provider, attempt.model) != first_choice,
            )
        )
    return events


class CostRecorder(Protocol):
    """Where the campaign service sends each billed call (the ledger, behind :class:`CostTracker`)."""

    def record(self, event: CostEvent) -> bool: ...
