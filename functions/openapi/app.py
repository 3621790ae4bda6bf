"""GET /api/openapi.json and GET /api/docs — the API's OpenAPI document and a Swagger page."""

import json
from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.openapi import openapi_document
from shared.api.resolver import build_resolver
from shared.api.schemas import ApiTag, error_responses
from shared.core.observability import logger, metrics, tracer

# Deployed, this function's code is the whole functions/ folder, so its siblings are here too.
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent

app = build_resolver()


@app.get(
    "/api/openapi.json",
    tags=[ApiTag.HEALTH],
    summary="This document",
    responses={200: {"description": "The OpenAPI document"}, **error_responses(500)},
)
def openapi_json() -> Response[dict]:
    """The document itself (not wrapped in the envelope: tools read it as is)."""
    return Response(200, content_types.APPLICATION_JSON, openapi_document(FUNCTIONS_DIR))


@app.get("/api/docs", include_in_schema=False)
def swagger_page() -> Response[str]:
    """Swagger UI with its assets inlined from Powertools, so it renders without a CDN.

    The page links its document as ``/api/docs?format=json`` (Powertools' page points its download
    link at its own path), so that URL answers the document too, locally and behind API Gateway.
    """
    document = json.dumps(openapi_document(FUNCTIONS_DIR))
    if app.current_event.get_query_string_value("format") == "json":
        return Response(200, content_types.APPLICATION_JSON, document)
    # Imported here: the page's generator pulls in Powertools' OpenAPI models and its OAuth2 config (~150 ms),
    # which the JSON route's cold start does not need to pay before its first request.
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(generate_swagger_html.__code__.co_filename).parent
    html = generate_swagger_html(
        spec=document,
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(),
        swagger_css=(assets / "swagger-ui.min.css").read_text(),
        swagger_base_url="",
        oauth2_config=None,
    )
    return Response(200, content_types.TEXT_HTML, html)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
