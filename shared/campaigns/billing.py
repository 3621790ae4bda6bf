"""A routed call's billed attempts as the ledger's cost events: priced once, passed on as they are."""

from __future__ import annotations

from shared.campaigns.models import Workflow
from shared.core.pricing import PriceTable
from shared.ledger.events import CostEvent
from shared.routing.types import RoutingOutcome


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
