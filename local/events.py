"""What API Gateway (HTTP API, payload 2.0) hands a Lambda, built from a local HTTP request.

The local server plays API Gateway's part so the handlers run unchanged: it verifies the JWT as
the route's JWT authorizer would, places the claims where API Gateway puts them (every value a
string, lists rendered the way API Gateway renders them: ``[admin user]``), and builds the event
and context objects a deployed function receives. Reference shape: the payload 2.0 example in
the API Gateway developer guide and Powertools' ``tests/events/apiGatewayProxyV2Event.json``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import jwt

DEFAULT_JWT_SECRET = "local-dev-secret-not-for-production"  # the documented local default (DESIGN.md §6)
ACCOUNT_ID = "123456789012"
API_ID = "local"
REGION = "us-east-1"


class Unauthorized(Exception):
    """The request would not pass API Gateway's JWT authorizer; the message says why (for logs)."""


def render_claim(value: Any) -> str:
    """A claim value as API Gateway writes it into the event: always a string.

    API Gateway formats non-string claims the way Go prints them: ``["admin", "user"]`` becomes
    ``"[admin user]"``, ``true`` becomes ``"true"``, ``1700000000`` stays ``"1700000000"``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + " ".join(render_claim(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{render_claim(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def verify_bearer(authorization: str | None, secret: str, issuer: str, audiences: Iterable[str]) -> dict[str, Any]:
    """Validate ``Authorization: Bearer <jwt>`` (HS256 signature, exp, iss, aud); return its claims."""
    if not authorization:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization is not a Bearer token")
    try:
        return jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            audience=list(audiences),
            issuer=issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(str(exc)) from exc


def authorizer_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` for a verified token: stringified claims and the scopes."""
    return {"jwt": {"claims": {k: render_claim(v) for k, v in claims.items()}, "scopes": token_scopes(claims)}}


def token_scopes(claims: Mapping[str, Any]) -> list[str] | None:
    """The scopes API Gateway reads from a token: ``scope`` (space-separated) or else ``scp``.

    ``scp`` may be a list of strings or one space-separated string. None when the token has neither,
    as API Gateway puts ``null`` in the event.
    """
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str) and value.split():
            return value.split()
        if claim == "scp" and isinstance(value, list) and value:
            return [str(item) for item in value]
    return None


def _join_duplicates(pairs: Iterable[tuple[str, str]], lower: bool) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower() if lower else key
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route_key: str,
    source_ip: str,
    authorizer: Mapping[str, Any] | None = None,
    protocol: str = "HTTP/1.1",
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for one request.

    Cookies move from the ``cookie`` header(s) to ``cookies``; duplicate headers and query
    parameters are comma-joined; a body that is not UTF-8 travels base64-encoded.
    """
    header_pairs = list(headers)
    cookies = [part.strip() for name, value in header_pairs if name.lower() == "cookie" for part in value.split(";")]
    event_headers = _join_duplicates(((n, v) for n, v in header_pairs if n.lower() != "cookie"), lower=True)
    now = datetime.now(UTC)
    host = event_headers.get("host", "127.0.0.1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": event_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": event_headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = [c for c in cookies if c]
    if raw_query:
        event["queryStringParameters"] = _join_duplicates(parse_qsl(raw_query, keep_blank_values=True), lower=False)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    return event


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation's timeout, as the Lambda runtime reports it."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def parse_handler_result(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's reading of a handler's return value: (status, header pairs, body bytes).

    A dict with ``statusCode`` is used as given (``headers``, ``multiValueHeaders``, ``cookies``
    become headers; ``isBase64Encoded`` bodies are decoded). Anything else is, as in payload 2.0,
    a 200 whose JSON body is the value itself.
    """
    if not isinstance(result, Mapping) or "statusCode" not in result:
        body = result if isinstance(result, str) else json.dumps(result)
        return 200, [("content-type", "application/json")], body.encode()
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(v)) for v in values if (str(name), str(v)) not in headers]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return int(result["statusCode"]), headers, body
