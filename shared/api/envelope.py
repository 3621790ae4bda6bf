"""The one JSON envelope every route answers with."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def success(data: Any, status: int = 200, metrics: dict | None = None, headers: dict | None = None) -> Response[dict]:
    """``{"success": true, "data": ..., "metrics": ...}``."""
    body: dict[str, Any] = {"success": True, "data": data}
    if metrics is not None:
        body["metrics"] = metrics
    return _json(status, body, headers)


def failure(
    status: int,
    code: str,
    message: str,
    details: list[dict] | None = None,
    workflow_id: str | None = None,
    headers: dict | None = None,
) -> Response[dict]:
    """``{"success": false, "error": {"code", "message", "details"}}``, plus the workflow id when one exists.

    The workflow id then also goes in ``X-Workflow-Id``, as on a success, so a client finds the failed
    workflow the same way whatever the answer.
    """
    if workflow_id:
        headers = {**(headers or {}), "X-Workflow-Id": workflow_id}
    return _json(status, error_body(code, message, details, workflow_id), headers)


def error_body(code: str, message: str, details: list[dict] | None = None, workflow_id: str | None = None) -> dict:
    """The error envelope as a plain dict: what :func:`failure` sends, and what the local server's own
    answers (no route, bad token, ...) send, so a client parses one shape whoever answered."""
    error: dict[str, Any] = {"code": code, "message": message, "details": details or []}
    if workflow_id:
        error["workflowId"] = workflow_id
    return {"success": False, "error": error}


def _json(status: int, body: dict, headers: dict | None) -> Response[dict]:
    # The resolver serializes the dict, after validating it against the route's return annotation.
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers or {})


def unwrapped(body: dict, status: int = 200) -> Response[dict]:
    """A JSON answer outside the envelope, for the one route whose shape the product documents fix (health)."""
    return _json(status, body, None)


def no_content() -> Response[str]:
    """204: done, nothing to say (no envelope: a 204 has no body)."""
    return Response(status_code=204, body="")
