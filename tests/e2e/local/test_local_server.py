"""The local API over HTTP, playing API Gateway: routing, the JWT authorizer, limits, extras.

The event-shape test runs a second LocalApi with a fake route whose handler records the event,
so it checks exactly what a handler receives over a real socket without depending on any
product handler.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from local.server import MAX_BODY_BYTES, HandlerRegistry, LocalApi
from local.template import jwt_settings
from local.token import make_token
from stacks.route_table import ROUTES, HttpRoute

AUTHORIZED = next(r for r in ROUTES if r.authorized)
HEALTH = "/api/health/hybrid-orchestrator"


def error_code(reply):
    assert reply.body["success"] is False, reply.body
    return reply.body["error"]["code"]


def test_unknown_route_is_a_404_envelope(api):
    reply = api.call("GET", "/api/v2/nothing-here")
    assert reply.status == 404 and error_code(reply) == "NOT_FOUND"
    assert reply.headers["content-type"] == "application/json"


def test_known_path_with_another_method_is_a_405_envelope(api):
    other = "DELETE"
    reply = api.call(other, AUTHORIZED.path, token=api.token("u1"))
    assert reply.status == 405 and error_code(reply) == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "make",
    [
        lambda api: None,
        lambda api: "not-a-jwt",
        lambda api: api.token("u1", exp=int(time.time()) - 30),
        lambda api: make_token("u1", secret="some-other-secret"),
        lambda api: api.token("u1", iss="https://elsewhere.example/"),
        lambda api: api.token("u1", aud="another-api"),
    ],
    ids=["no-token", "garbage", "expired", "wrong-signature", "wrong-issuer", "wrong-audience"],
)
def test_authorized_route_rejects_bad_tokens_with_401(api, make):
    body = {"type": "caption", "platforms": ["instagram"], "data": {}, "mode": "sync"}
    reply = api.call(AUTHORIZED.method, AUTHORIZED.path, body=body, token=make(api))
    assert reply.status == 401 and error_code(reply) == "UNAUTHORIZED"


def test_health_needs_no_token(api):
    reply = api.call("GET", HEALTH)
    assert reply.status != 401, reply.body
    if reply.status == 500:
        pytest.skip(f"health handler itself fails (lead's handler, not the local server): {reply.body}")
    assert reply.status in (200, 503) and {"status", "checks"} <= set(reply.body)


def test_bodies_over_the_api_gateway_limit_are_refused_with_413(api):
    reply = api.call("POST", AUTHORIZED.path, body=b"x" * (MAX_BODY_BYTES + 1), token=api.token("u1"))
    assert reply.status == 413 and error_code(reply) == "PAYLOAD_TOO_LARGE"


def test_simulator_controls_and_emails_answer_on_the_api_port(api, sim):
    reply = api.call("POST", "/_sim/faults", body={"provider": "azure", "status": 500, "count": 1})
    assert reply.status == 200
    assert api.call("GET", "/_sim/faults").body[0]["provider"] == "azure"
    api.call("POST", "/_sim/faults", body={"provider": "azure", "count": 0})
    assert api.call("GET", "/_sim/health").status == 200
    emails = api.call("GET", "/_local/emails")
    assert emails.status == 200 and isinstance(emails.body, list)


def test_keep_alive_serves_several_requests_on_one_connection(api):
    parts = urlsplit(api.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/nope")
            response = connection.getresponse()
            assert response.status == 404 and response.getheader("Connection") == "keep-alive"
            response.read()
    finally:
        connection.close()


@pytest.fixture
def echo_api():
    """A LocalApi with one fake authorized route whose handler records its event and context."""
    calls = []

    def echo(event, context):
        calls.append((event, context))
        return {"statusCode": 207, "headers": {"x-echo": "1"}, "cookies": ["c=1"], "body": json.dumps({"ok": True})}

    issuer, audiences = jwt_settings()
    server = LocalApi(
        0,
        jwt_secret="echo-secret",
        jwt_issuer=issuer,
        jwt_audiences=audiences,
        registry=HandlerRegistry(overrides={"echo": echo}),
        routes=(HttpRoute("POST", "/api/echo", "echo"), HttpRoute("GET", "/api/admin-echo", "echo", admin=True)),
    ).start()
    try:
        yield server, calls
    finally:
        server.stop()


def test_handler_receives_api_gateway_event_and_context(echo_api):
    server, calls = echo_api
    parts = urlsplit(server.url)
    token = make_token("u7", admin=True, secret="echo-secret", tenant="t1")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", "/api/echo?a=1&a=2&b=")
    for name, value in [
        ("Authorization", f"Bearer {token}"),
        ("X-Dup", "one"),
        ("X-Dup", "two"),
        ("Cookie", "s=1; t=2"),
        ("Content-Length", "3"),
    ]:
        connection.putheader(name, value)
    connection.endheaders(b"\xff\xfe\x00")
    response = connection.getresponse()
    assert response.status == 207 and response.getheader("x-echo") == "1" and response.getheader("set-cookie") == "c=1"
    assert json.loads(response.read()) == {"ok": True}
    connection.close()

    [(event, context)] = calls
    assert event["routeKey"] == "POST /api/echo" and event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-dup"] == "one,two" and event["cookies"] == ["s=1", "t=2"]
    assert event["isBase64Encoded"] is True and event["body"] == "//4A"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "u7" and claims["scope"] == "user admin" and claims["tenant"] == "t1"
    assert claims["exp"] == str(jwt.decode(token, options={"verify_signature": False})["exp"])
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["user", "admin"]
    assert context.function_name == "echo" and context.get_remaining_time_in_millis() > 0


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"scope": "user admin"}, 207),
        ({"scope": "admin"}, 207),
        ({"scope": "user"}, 403),
        ({}, 403),  # no scope claim at all
        ({"scope": "user", "groups": ["admin"]}, 403),  # API Gateway checks the scopes, never the groups
        ({"scope": "administrator"}, 403),  # a whole scope, not a substring
    ],
    ids=["user-and-admin", "admin", "user", "no-scope", "admin-group-only", "lookalike-scope"],
)
def test_admin_routes_refuse_tokens_without_the_admin_scope_before_the_handler(echo_api, claims, status):
    server, calls = echo_api
    issuer, audiences = jwt_settings()
    token = jwt.encode(
        {"sub": "u8", "iss": issuer, "aud": audiences[0], "exp": int(time.time()) + 60, **claims},
        "echo-secret",
        algorithm="HS256",
    )
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", "/api/admin-echo", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == status
    if status == 403:
        assert body == {
            "success": False,
            "error": {"code": "FORBIDDEN", "message": "Forbidden: this route needs the admin scope", "details": []},
        }
        assert calls == []  # the gate answered; the handler never ran
    else:
        assert body == {"ok": True} and len(calls) == 1


def test_chunked_request_bodies_are_reassembled(echo_api):
    server, calls = echo_api
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    token = make_token("u7", secret="echo-secret")
    headers = {"Authorization": f"Bearer {token}", "Transfer-Encoding": "chunked"}
    connection.request("POST", "/api/echo", body=iter([b'{"a":', b" 1}"]), headers=headers, encode_chunked=True)
    assert connection.getresponse().status == 207
    connection.close()
    assert calls[-1][0]["body"] == '{"a": 1}' and calls[-1][0]["isBase64Encoded"] is False


def test_any_method_reaches_the_router_never_a_501(api) -> None:
    """API Gateway answers unknown methods through its routes; so does the local server."""
    import requests

    for method in ("QUERY", "TRACE", "PATCH", "BREW"):
        response = requests.request(method, f"{api.url}/api/v2/campaigns/hybrid", timeout=5)
        assert response.status_code == 405, method
        assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_a_path_variable_matches_one_segment_and_reaches_the_handler_as_path_parameters():
    calls = []

    def echo(event, context):
        calls.append(event)
        return {"statusCode": 200, "body": "{}"}

    issuer, audiences = jwt_settings()
    server = LocalApi(
        0,
        jwt_secret="echo-secret",
        jwt_issuer=issuer,
        jwt_audiences=audiences,
        registry=HandlerRegistry(overrides={"echo": echo}),
        routes=(HttpRoute("PUT", "/api/things/{thingId}", "echo"),),
    ).start()
    token = make_token("u7", secret="echo-secret")
    try:
        put = requests.put(f"{server.url}/api/things/t-1", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert put.status_code == 200
        (event,) = calls
        assert event["routeKey"] == "PUT /api/things/{thingId}" and event["rawPath"] == "/api/things/t-1"
        assert event["pathParameters"] == {"thingId": "t-1"}
        assert requests.get(f"{server.url}/api/things/t-1", timeout=10).status_code == 405
        assert requests.put(f"{server.url}/api/things/t-1/more", timeout=10).status_code == 404
        assert requests.put(f"{server.url}/api/things/", timeout=10).status_code == 404
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("method", "path", "token", "status", "code"),
    [
        ("GET", "/api/v2/nothing-here", None, 404, "NOT_FOUND"),
        ("DELETE", AUTHORIZED.path, "u1", 405, "METHOD_NOT_ALLOWED"),
        (AUTHORIZED.method, AUTHORIZED.path, None, 401, "UNAUTHORIZED"),
    ],
)
def test_the_local_servers_own_answers_use_the_handlers_envelope(api, method, path, token, status, code):
    reply = api.call(method, path, body={} if method == "POST" else None, token=api.token(token) if token else None)
    assert reply.status == status
    assert set(reply.body) == {"success", "error"} and reply.body["success"] is False
    assert reply.body["error"]["code"] == code and isinstance(reply.body["error"]["message"], str)
    assert isinstance(reply.body["error"]["details"], list)
    if status == 401:
        assert reply.body["error"]["details"][0]["field"] == "authorization"
    if status == 405:
        assert AUTHORIZED.method in reply.headers["allow"]


def test_every_documented_operation_is_filed_under_one_known_tag(api):
    from shared.api.schemas import ApiTag

    document = api.call("GET", "/api/openapi.json").body
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len(operations) >= 15
    for path, method, operation in operations:
        assert len(operation.get("tags", [])) == 1 and operation["tags"][0] in set(ApiTag), (path, method)
    tags = {op["tags"][0] for _, _, op in operations}
    assert tags == set(ApiTag)


def test_the_swagger_pages_json_link_returns_the_document(api):
    page = api.call("GET", "/api/docs")
    assert page.status == 200 and '?format=json"' in page.body  # where Swagger UI's link points
    linked = api.call("GET", "/api/docs?format=json")
    assert linked.status == 200 and linked.headers["content-type"].startswith("application/json")
    assert linked.body == api.call("GET", "/api/openapi.json").body
