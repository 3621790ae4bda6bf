"""GET /api/v2/campaigns/status?workflowId= — a workflow, to its owner or an admin."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.campaigns.status_view import workflow_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, WorkflowEnvelope, error_responses, ok
from shared.core.errors import WorkflowNotFoundError
from shared.core.observability import logger, metrics, tracer
from shared.sending.message_states import READ_BATCH, message_page
from shared.wiring.container import message_states, workflow_store

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
    limit: Annotated[int, Query(ge=1, le=READ_BATCH, description="Fan messages per page")] = READ_BATCH,
    next_token: Annotated[
        str | None, Query(alias="nextToken", pattern=r"^[0-9]{1,4}$", description="`messagesNextToken` of a page")
    ] = None,
) -> Response[dict]:
    """Another user's workflow answers exactly like a missing one, so ids cannot be probed."""
    caller = current_caller(app)
    workflow = workflow_store().get(workflow_id)
    if workflow is None or not caller.can_read(workflow.owner_id):
        raise WorkflowNotFoundError("No such workflow.")
    start = int(next_token or 0)
    messages, following = message_page(message_states(), workflow_id, workflow.recipient_ids, limit, start)
    return workflow_response(workflow, messages, following)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
