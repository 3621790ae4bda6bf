"""The campaign answer: the result, and how it was served in ``metrics`` and headers.

``CampaignRequest`` is the route's request model, re-exported for the handler's signature.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.campaigns.async_view import accepted_response
from shared.api.campaigns.schemas import CallCostView, CampaignMetrics, CampaignResult
from shared.api.envelope import success
from shared.api.served_headers import routing_headers
from shared.campaigns.fan_messages import FanCampaignRun
from shared.campaigns.models import CampaignRequest, Workflow
from shared.campaigns.service import CampaignRun
from shared.core.pricing import usd_amount
from shared.sending.messages import MessageCounts

__all__ = ["CampaignRequest", "campaign_answer", "campaign_response"]


def campaign_answer(outcome: Workflow | CampaignRun | FanCampaignRun) -> Response[dict]:
    """What the dispatcher returned: a queued workflow (202) or a finished run (200)."""
    if isinstance(outcome, Workflow):
        return accepted_response(outcome)
    return campaign_response(outcome, counts=outcome.counts if isinstance(outcome, FanCampaignRun) else None)


def campaign_response(run: CampaignRun | FanCampaignRun, counts: MessageCounts | None = None) -> Response[dict]:
    """The sync campaign answer: the result, and how it was served in ``metrics`` and headers.

    A fan_messages run answers the same way, with its message ``counts`` and no ``content``
    (each fan's message is on the queue, not in the answer).
    """
    workflow, outcome, cost = run.workflow, run.outcome, run.cost
    result = CampaignResult(
        workflow_id=workflow.workflow_id,
        status=workflow.status,
        content=workflow.content,
        provider=workflow.provider,
        model=workflow.model,
        deployment=workflow.deployment,
        fallback_used=run.fallback_used,
        path=workflow.path,
        counts=counts,
    )
    metrics = CampaignMetrics(
        duration=round(run.duration_ms),
        cost=CallCostView(
            tokens=cost.total_tokens,
            input_tokens=cost.input_tokens,
            output_tokens=cost.output_tokens,
            cached_tokens=cost.cached_tokens,
            reasoning_tokens=cost.reasoning_tokens,
            cost=usd_amount(cost.micros),
            cost_micros=cost.micros,
            cost_nanos=cost.nanos,
        ),
        attempts=len(outcome.attempts),
        fallbacks=outcome.fallback_reasons,
        breaker=outcome.breaker_states,
        overhead_ms=round(run.overhead_ms, 2),
        router_overhead_ms=round(outcome.overhead_ms, 2),
        provider_ms=round(outcome.provider_ms, 1),
    )
    headers = {
        "X-Workflow-Id": workflow.workflow_id,
        "X-Orchestrator-Provider": f"{workflow.provider}:{workflow.deployment}",
        **routing_headers(outcome, run.overhead_ms),
    }
    return success(
        result.model_dump(by_alias=True, exclude_none=True),
        metrics=metrics.model_dump(by_alias=True),
        headers=headers,
    )
