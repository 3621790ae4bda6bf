"""The sync campaign answer: the result, and how it was served in ``metrics`` and headers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.api.schemas import CallCostView, CampaignMetrics, CampaignResult
from shared.api.served_headers import routing_headers
from shared.campaigns.fan_messages import FanCampaignRun
from shared.campaigns.service import CampaignRun
from shared.core.pricing import micros_to_usd
from shared.sending.messages import MessageCounts


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
        priced_model=cost.priced_model,
        fallback_used=run.fallback_used,
        path=workflow.path,
        counts=counts,
    )
    metrics = CampaignMetrics(
        duration=round(run.duration_ms, 1),
        cost=CallCostView(
            tokens=cost.total_tokens,
            input_tokens=cost.input_tokens,
            output_tokens=cost.output_tokens,
            cached_tokens=cost.cached_tokens,
            reasoning_tokens=cost.reasoning_tokens,
            cost=float(micros_to_usd(cost.micros)),
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
        "X-Orchestrator-Provider": f"{workflow.provider}:{workflow.model}",
        **routing_headers(outcome, run.overhead_ms),
    }
    return success(
        result.model_dump(by_alias=True, exclude_none=True),
        metrics=metrics.model_dump(by_alias=True),
        headers=headers,
    )
