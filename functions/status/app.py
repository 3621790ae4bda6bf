"""GET /api/v2/campaigns/status?workflowId= — a workflow, to its owner or an admin."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.campaigns.schemas import WorkflowEnvelope
from shared.api.campaigns.status_view import MESSAGES_PAGE_MAX, workflow_response
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.campaigns import workflow_reader

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
    limit: Annotated[int, Query(ge=1, le=MESSAGES_PAGE_MAX, description="Fan messages per page")] = MESSAGES_PAGE_MAX,
    next_token: Annotated[
        str | None, Query(alias="nextToken", pattern=r"^[0-9]{1,4}$", description="`messagesNextToken` of a page")
    ] = None,
) -> Response[dict]:
    """Another user's workflow answers exactly like a missing one, so ids cannot be probed."""
    workflow, messages, following = workflow_reader().read(
        current_caller(app), workflow_id, limit, int(next_token or 0)
    )
    return workflow_response(workflow, messages, following)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
