"""GET /api/v2/campaigns/status?workflowId= — a workflow, to its owner or an admin."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import ApiTag, BEARER_AUTH, WorkflowEnvelope, error_responses, ok
from shared.api.views import workflow_response
from shared.container import workflow_store
from shared.errors import WorkflowNotFoundError
from shared.observability import logger, metrics, tracer

app = build_resolver()


@app.get(
    "/api/v2/campaigns/status",
    tags=[ApiTag.CAMPAIGNS],
    summary="A workflow, to its owner or an admin",
    security=BEARER_AUTH,
    responses={**ok(WorkflowEnvelope, "The workflow"), **error_responses(401, 404, 422, 500)},
)
@tracer.capture_method
def get_status(
    workflow_id: Annotated[str, Query(alias="workflowId", pattern=r"^wf_[0-9a-f]{32}$", description="Workflow id")],
) -> Response[dict]:
    """Another user's workflow answers exactly like a missing one, so ids cannot be probed."""
    caller = current_caller(app)
    workflow = workflow_store().get(workflow_id)
    if workflow is None or not caller.can_read(workflow.owner_id):
        raise WorkflowNotFoundError("No such workflow.")
    return workflow_response(workflow)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
