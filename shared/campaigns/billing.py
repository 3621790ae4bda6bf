"""A routed call's billed attempts as the ledger's cost events: priced once (by the router), passed on as they are."""

from __future__ import annotations

from shared.campaigns.models import Workflow
from shared.experiments.assignment import RouteChoice
from shared.ledger.events import CostEvent
from shared.routing.types import RoutingOutcome


def request_id(campaign_id: str, step: str, attempt_index: int) -> str:
    """Deterministic per provider call, so a retried invocation of the same step records nothing new."""
    return f"{campaign_id}#{step}#{attempt_index}"


def billed_events(
    outcome: RoutingOutcome, *, workflow: Workflow, step: str, at: float, choice: RouteChoice | None = None
) -> list[CostEvent]:
    """Every attempt of a routed call the provider billed, with the cost the router priced it at, its
    latency, and the experiment and variant its route came from (``choice``).

    Billed attempts are the answer that served and any completion filtered on output (Azure bills
    those: status ``content_filter``); failures before an answer carry no usage and cost nothing.
    """
    events = []
    first_choice = (outcome.attempts[0].provider, outcome.attempts[0].model) if outcome.attempts else None
    for index, attempt in enumerate(outcome.attempts):
        cost = attempt.cost
        if cost is None:
            continue
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
                nanos=cost.nanos,
                cached_tokens=cost.cached_tokens,
                reasoning_tokens=cost.reasoning_tokens,
                latency_ms=round(attempt.latency_ms),
                experiment=choice.experiment if choice else None,
                variant=choice.variant if choice else None,
            )
        )
    return events
