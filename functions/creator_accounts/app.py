"""GET /api/v2/creator-accounts, PUT|DELETE /api/v2/creator-accounts/{accountId} — who may send as which account."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.creator_accounts.schemas import (
    ACCOUNT_ID_PATTERN,
    USER_ID,
    CreatorAccountEnvelope,
    CreatorAccountsEnvelope,
    LinkUsersRequest,
)
from shared.api.creator_accounts.views import account_response, listing_response
from shared.api.envelope import no_content
from shared.api.resolver import build_resolver, current_caller
from shared.api.schemas import BEARER_AUTH, ApiTag, error_responses, ok
from shared.core.observability import logger, metrics, tracer
from shared.wiring.creator_accounts import creator_account_service

app = build_resolver()

AccountIdPath = Annotated[
    str, Path(alias="accountId", pattern=ACCOUNT_ID_PATTERN, description="Creator account: 3-64 of [A-Za-z0-9_-]")
]


@app.get(
    "/api/v2/creator-accounts",
    tags=[ApiTag.CREATOR_ACCOUNTS],
    summary="The creator accounts the caller may send as; admins: every one or a user's; tenant admins: their tenant's",
    security=BEARER_AUTH,
    responses={**ok(CreatorAccountsEnvelope, "A page of accounts, in id order"), **error_responses(401, 403, 422, 500)},
)
@tracer.capture_method
def list_accounts(
    user_id: Annotated[
        str | None, Query(alias="userId", pattern=USER_ID, description="Admins: one user's accounts")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 50,
    next_token: Annotated[
        str | None, Query(alias="nextToken", max_length=512, description="From the previous page")
    ] = None,
) -> Response[dict]:
    """One Query (every account), or one Query and one BatchGetItem (one user's)."""
    return listing_response(creator_account_service(), current_caller(app), user_id, limit, next_token)


@app.put(
    "/api/v2/creator-accounts/<accountId>",
    tags=[ApiTag.CREATOR_ACCOUNTS],
    summary="Set who may send as a creator account (admin; tenant admin: their tenant's): replaces the whole set",
    security=BEARER_AUTH,
    responses={
        **ok(CreatorAccountEnvelope, "The account as stored"),
        **error_responses(400, 401, 403, 404, 409, 415, 422, 500),
    },
)
@tracer.capture_method
def link_users(account_id: AccountIdPath, request: LinkUsersRequest) -> Response[dict]:
    """One transaction: the record, its directory entry and the links that change."""
    return account_response(creator_account_service().link(current_caller(app), account_id, request.user_ids))


@app.delete(
    "/api/v2/creator-accounts/<accountId>",
    tags=[ApiTag.CREATOR_ACCOUNTS],
    summary="Remove a creator account (admin; tenant admin: their tenant's): later sends as it are refused",
    security=BEARER_AUTH,
    responses={
        204: {"description": "Removed (no body)", "content": {}},
        **error_responses(401, 403, 404, 409, 422, 500),
    },
)
@tracer.capture_method
def remove_account(account_id: AccountIdPath) -> Response[str]:
    """The record, its directory entry and every link."""
    creator_account_service().remove(current_caller(app), account_id)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
