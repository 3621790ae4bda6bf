"""Shaping domain results into API responses: data, metrics and the orchestrator's headers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.models import Workflow
from shared.pricing import micros_to_usd


def workflow_response(workflow: Workflow) -> Response[dict]:
    """The stored workflow as its owner sees it, with its cost in USD next to the exact micro-dollars."""
    data = workflow.model_dump(by_alias=True, exclude={"expires_at"})
    data["cost"] = {
        "tokens": workflow.total_tokens,
        "cost": float(micros_to_usd(workflow.cost_micros)),
        "costMicros": workflow.cost_micros,
    }
    return success(data)
