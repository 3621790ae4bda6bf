"""The answer to an async campaign: 202 with the workflow id to poll."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.api.schemas import envelope
from shared.campaigns.models import Workflow
from shared.core.models import CamelModel


class AcceptedResult(CamelModel):
    """An async campaign was queued; ``GET /api/v2/campaigns/status?workflowId=`` shows its progress."""

    workflow_id: str
    status: str
    type: str
    mode: str
    path: str


AcceptedEnvelope = envelope("AcceptedEnvelope", AcceptedResult)
STATUS_PATH = "/api/v2/campaigns/status"


def accepted_response(workflow: Workflow) -> Response[dict]:
    """202 with the queued workflow's id (also in ``X-Workflow-Id``) and, in ``Location``, where to poll it."""
    result = AcceptedResult(
        workflow_id=workflow.workflow_id,
        status=workflow.status,
        type=workflow.type,
        mode=workflow.mode,
        path=workflow.path,
    )
    headers = {"X-Workflow-Id": workflow.workflow_id, "Location": status_location(workflow.workflow_id)}
    return success(result.model_dump(by_alias=True), status=202, headers=headers)


def status_location(workflow_id: str) -> str:
    """The status URL of a workflow, relative to the API's base (the ids are URL-safe: ``wf_<hex>``)."""
    return f"{STATUS_PATH}?workflowId={workflow_id}"
