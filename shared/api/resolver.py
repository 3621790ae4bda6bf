"""The Powertools resolver every route uses, with the single mapping from errors to HTTP answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from shared.api.auth import caller_from_claims
from shared.api.envelope import failure
from shared.api.json_body import api_json
from shared.api.schemas import API_TITLE, API_VERSION, SECURITY_SCHEMES
from shared.api.served_headers import routing_headers
from shared.core.errors import (
    AccountNotAllowedError,
    AlertRuleNotFoundError,
    BudgetExceededError,
    BudgetUnavailableError,
    CampaignInputError,
    CreatorAccountConflictError,
    CreatorAccountNotFoundError,
    DomainError,
    ExperimentConflictError,
    ExperimentInputError,
    ExperimentNotFoundError,
    ForbiddenError,
    LimitReachedError,
    OutcomeConflictError,
    ProviderRejectedCampaignError,
    ProvidersUnavailableError,
    QueueUnavailableError,
    RecommendationNotFoundError,
    RouteChangeNotFoundError,
    RoutingConflictError,
    RoutingError,
    StaleRecommendationError,
    TenantNotFoundError,
    ThresholdNotFoundError,
    UnauthenticatedError,
    WorkflowNotFoundError,
)
from shared.core.identity import Caller
from shared.core.observability import logger

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    UnauthenticatedError: 401,
    ForbiddenError: 403,
    WorkflowNotFoundError: 404,
    ProviderRejectedCampaignError: 400,
    ProvidersUnavailableError: 503,
    CampaignInputError: 422,
    QueueUnavailableError: 503,
    BudgetExceededError: 402,
    BudgetUnavailableError: 503,
    RecommendationNotFoundError: 404,
    RouteChangeNotFoundError: 404,
    RoutingConflictError: 409,
    StaleRecommendationError: 409,
    ThresholdNotFoundError: 404,
    TenantNotFoundError: 404,
    AlertRuleNotFoundError: 404,
    AccountNotAllowedError: 403,
    CreatorAccountNotFoundError: 404,
    CreatorAccountConflictError: 409,
    LimitReachedError: 409,
    OutcomeConflictError: 409,
    ExperimentInputError: 422,
    ExperimentNotFoundError: 404,
    ExperimentConflictError: 409,
}


def build_resolver(exact_decimals: bool = False) -> APIGatewayHttpResolver:
    """A resolver with request validation on, numbers in fixed notation, and every error answered in the envelope.

    ``exact_decimals``: the body's fractional numbers are parsed as ``Decimal`` (money the caller sends,
    e.g. an outcome's ``revenueUsd``), never through a float.
    """
    deserializer = partial(json.loads, parse_float=Decimal) if exact_decimals else None
    app = APIGatewayHttpResolver(enable_validation=True, serializer=api_json, json_body_deserializer=deserializer)
    app._request_validation_middleware = CallerFirstJsonValidation()  # see the class: no public hook for this
    app.configure_openapi(title=API_TITLE, version=API_VERSION, security_schemes=SECURITY_SCHEMES)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[dict]:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return failure(400, "MALFORMED_JSON", "The request body is not valid JSON.", _details(errors))
        return failure(422, "VALIDATION_ERROR", "The request is not valid.", _details(errors))

    @app.exception_handler(ResponseValidationError)
    def _invalid_response(exc: ResponseValidationError) -> Response[dict]:
        logger.error("response failed its own schema", extra={"errors": str(exc.errors())})
        return failure(500, "INTERNAL_ERROR", "Something went wrong on our side.")

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_type(exc: RequestUnsupportedContentType) -> Response[dict]:
        return failure(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.", _details(exc.errors()))

    @app.exception_handler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response[dict]:
        # json.loads recurses once per nesting level: a hostile body exhausts the stack before any model sees it.
        return failure(400, "MALFORMED_JSON", "The request body is nested too deeply.")

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response[dict]:
        return failure(400, "MALFORMED_BODY", "The request body is not UTF-8 text.")

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response[dict]:
        status = STATUS_BY_ERROR.get(type(exc), 500)
        if status >= 500:
            logger.warning("request failed", extra={"code": exc.code, "workflow_id": exc.workflow_id})
        headers = routing_headers(exc.outcome) if isinstance(exc, RoutingError) else None
        return failure(status, exc.code, exc.message, exc.details, exc.workflow_id, headers)

    @app.not_found
    def _no_route(exc: Exception) -> Response[dict]:
        return failure(404, "NOT_FOUND", "No such route.")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[dict]:
        logger.exception("unhandled error")
        return failure(500, "INTERNAL_ERROR", "Something went wrong on our side.")

    return app


class CallerFirstJsonValidation(OpenAPIRequestValidationMiddleware):
    """Request validation that checks who the caller is first, for an API whose bodies are JSON only.

    A token whose subject is refused must be a 401 on every route, before a malformed body could
    make it a 422, so the caller is checked (when the route is authorized: the event carries the
    authorizer's claims) ahead of validation. Powertools would also parse form and multipart
    bodies, and a malformed multipart header makes its parser raise a bare ``ValueError`` (a 500);
    refusing other media types first keeps that a 415. The resolver has no public way to swap its
    validation middleware, hence the attribute.
    """

    def handler(self, app: Any, next_middleware: Any) -> Any:
        """Refuse an unacceptable caller, then validate the request."""
        authorizer = app.current_event.request_context.authorizer
        if authorizer and authorizer.jwt_claim:
            current_caller(app)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type", "").strip().lower()
        if content_type and not content_type.startswith("application/json"):
            error = {"type": "unsupported_content_type", "loc": ("body",), "msg": f"Unsupported: {content_type}"}
            raise RequestUnsupportedContentType("Unsupported content type", errors=[error])
        return super()._get_body(app)


def current_caller(app: APIGatewayHttpResolver) -> Caller:
    """The caller of the request being resolved."""
    authorizer = app.current_event.request_context.authorizer
    if not authorizer:
        return caller_from_claims(None)
    return caller_from_claims(authorizer.jwt_claim, authorizer.jwt_scopes)


def _details(errors: Sequence[Any]) -> list[dict]:
    """Field-level details: where (``data.theme``), what went wrong, and the error type."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path"):
            location = location[1:]
        details.append(
            {
                "field": ".".join(location) or "body",
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "invalid")),
            }
        )
    return details
