"""Shaping stored workflows into API responses."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.campaigns.schemas import WorkflowCost, WorkflowView
from shared.api.envelope import success
from shared.campaigns.models import Workflow
from shared.core.pricing import usd_amount
from shared.sending.message_states import READ_BATCH
from shared.sending.messages import FanMessageStatus

MESSAGES_PAGE_MAX = READ_BATCH  # fan messages per status page: one BatchGetItem


def workflow_response(
    workflow: Workflow, messages: list[FanMessageStatus] | None = None, next_token: str | None = None
) -> Response[dict]:
    """The stored workflow as its owner sees it, with its cost in USD next to the exact micro-dollars,
    and a page of its fans' messages (fan_messages)."""
    cost = WorkflowCost(
        tokens=workflow.total_tokens,
        cached_tokens=sum(step.tokens.cached for step in workflow.steps),
        cost=usd_amount(workflow.cost_micros),
        cost_micros=workflow.cost_micros,
        cost_nanos=workflow.cost_nanos,
    )
    view = WorkflowView(**workflow.model_dump(), cost=cost, messages=messages or [], messages_next_token=next_token)
    return success(view.model_dump(by_alias=True, mode="json"))
