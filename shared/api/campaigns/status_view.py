"""Shaping stored workflows into API responses."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.api.schemas import WorkflowCost, WorkflowView
from shared.campaigns.models import Workflow
from shared.core.pricing import usd_amount


def workflow_response(workflow: Workflow) -> Response[dict]:
    """The stored workflow as its owner sees it, with its cost in USD next to the exact micro-dollars."""
    cost = WorkflowCost(
        tokens=workflow.total_tokens,
        cost=usd_amount(workflow.cost_micros),
        cost_micros=workflow.cost_micros,
    )
    view = WorkflowView(**workflow.model_dump(), cost=cost)
    return success(view.model_dump(by_alias=True, mode="json"))
