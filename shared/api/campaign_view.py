"""The sync campaign answer: the result, and how it was served in ``metrics`` and headers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.api.served_headers import routing_headers
from shared.campaigns import CampaignRun
from shared.pricing import micros_to_usd


def campaign_response(run: CampaignRun) -> Response[dict]:
    """The sync campaign answer: the result, and how it was served in ``metrics`` and headers."""
    workflow = run.workflow
    outcome = run.outcome
    data = {
        "workflowId": workflow.workflow_id,
        "status": workflow.status,
        "content": workflow.content,
        "provider": workflow.provider,
        "model": workflow.model,
        "pricedModel": run.cost.priced_model,
        "fallbackUsed": run.fallback_used,
        "path": "hybrid",
    }
    metrics = {
        "duration": round(run.duration_ms, 1),
        "cost": {
            "tokens": run.cost.total_tokens,
            "inputTokens": run.cost.input_tokens,
            "outputTokens": run.cost.output_tokens,
            "cost": float(micros_to_usd(run.cost.micros)),
            "costMicros": run.cost.micros,
        },
        "attempts": len(outcome.attempts),
        "fallbacks": outcome.fallback_reasons,
        "breaker": outcome.breaker_states,
        "overheadMs": round(run.overhead_ms, 2),
        "routerOverheadMs": round(outcome.overhead_ms, 2),
        "providerMs": round(outcome.provider_ms, 1),
    }
    headers = {
        "X-Workflow-Id": workflow.workflow_id,
        "X-Orchestrator-Provider": f"{workflow.provider}:{workflow.model}",
        **routing_headers(outcome, run.overhead_ms),
    }
    return success(data, metrics=metrics, headers=headers)
