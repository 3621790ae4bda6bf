"""The local API Gateway stand-in, without any socket: events, claims, tokens, SQS batch rules."""

from __future__ import annotations

import base64
import time

import jwt
import pytest

from local.aws import provider_key_for
from local.events import (
    LambdaContext,
    Unauthorized,
    authorizer_context,
    build_http_event,
    parse_handler_result,
    render_claim,
    token_scopes,
    verify_bearer,
)
from local.queue_poller import sqs_event, succeeded_records
from local.template import PhysicalResource, Resolver, Template, TemplateError
from local.token import make_token

SECRET = "unit-secret"
ISSUER, AUDIENCE = "https://issuer.test/", "aud-1"


def event(**overrides):
    args = {
        "method": "POST",
        "raw_path": "/api/echo",
        "raw_query": "",
        "headers": [("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")],
        "body": b"",
        "route_key": "POST /api/echo",
        "source_ip": "127.0.0.1",
    }
    return build_http_event(**{**args, **overrides})


def test_event_has_payload_2_0_shape():
    built = event(body=b'{"a": 1}')
    assert built["version"] == "2.0" and built["routeKey"] == "POST /api/echo" and built["rawPath"] == "/api/echo"
    context = built["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/api/echo",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["stage"] == "$default" and context["routeKey"] == "POST /api/echo"
    assert context["domainName"] == "127.0.0.1:3000" and context["accountId"] and context["apiId"]
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 5 and context["requestId"]
    assert built["body"] == '{"a": 1}' and built["isBase64Encoded"] is False
    assert "authorizer" not in context and "queryStringParameters" not in built and "cookies" not in built


def test_duplicate_headers_and_query_parameters_are_comma_joined_and_cookies_split():
    built = event(
        raw_query="tag=a&tag=b&empty=&x=1",
        headers=[("X-Multi", "one"), ("x-multi", "two"), ("Cookie", "a=1; b=2"), ("cookie", "c=3")],
    )
    assert built["headers"]["x-multi"] == "one,two"
    assert "cookie" not in built["headers"]
    assert built["cookies"] == ["a=1", "b=2", "c=3"]
    assert built["rawQueryString"] == "tag=a&tag=b&empty=&x=1"
    assert built["queryStringParameters"] == {"tag": "a,b", "empty": "", "x": "1"}


def test_binary_body_travels_base64():
    built = event(body=b"\xff\x00\xfe")
    assert built["isBase64Encoded"] is True and base64.b64decode(built["body"]) == b"\xff\x00\xfe"


def test_claims_are_rendered_as_api_gateway_renders_them():
    assert render_claim(["admin", "user"]) == "[admin user]"
    assert render_claim(1700000000) == "1700000000"
    assert render_claim(True) == "true"
    context = authorizer_context({"sub": "u1", "scope": "user admin", "groups": ["admin"], "exp": 1700000000})
    assert context == {
        "jwt": {
            "claims": {"sub": "u1", "scope": "user admin", "groups": "[admin]", "exp": "1700000000"},
            "scopes": ["user", "admin"],
        }
    }
    assert authorizer_context({"sub": "u1"})["jwt"]["scopes"] is None


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "user admin"}, ["user", "admin"]),
        ({"scp": ["user", "admin"]}, ["user", "admin"]),
        ({"scp": "user admin"}, ["user", "admin"]),
        ({"scope": "user", "scp": ["admin"]}, ["user"]),  # scope wins, as API Gateway reads it first
        ({"scope": "  "}, None),
        ({"groups": ["admin"]}, None),
        ({"cognito:groups": ["admin"]}, None),
    ],
)
def test_scopes_are_read_as_api_gateway_reads_them(claims, scopes):
    assert token_scopes(claims) == scopes


def token(**claims):
    now = int(time.time())
    base = {"sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


def test_valid_bearer_token_passes():
    assert verify_bearer(f"Bearer {token()}", SECRET, ISSUER, [AUDIENCE])["sub"] == "u1"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic dTE6cHc=",
        "Bearer ",
        f"Bearer {token(exp=int(time.time()) - 10)}",
        f"Bearer {token(iss='https://other/')}",
        f"Bearer {token(aud='other')}",
        "Bearer " + jwt.encode({"sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**31}, "wrong", algorithm="HS256"),
        "Bearer " + jwt.encode({"sub": "u1", "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256"),
    ],
    ids=["missing", "empty", "basic", "no-token", "expired", "issuer", "audience", "signature", "no-exp"],
)
def test_bad_authorization_is_unauthorized(authorization):
    with pytest.raises(Unauthorized):
        verify_bearer(authorization, SECRET, ISSUER, [AUDIENCE])


def test_make_token_claims(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    claims = jwt.decode(make_token("u9", admin=True, tenant="t1"), options={"verify_signature": False})
    assert claims["sub"] == "u9" and claims["scope"] == "user admin" and "groups" not in claims
    assert claims["tenant"] == "t1" and claims["exp"] - claims["iat"] == 3600
    plain = jwt.decode(make_token("u2"), options={"verify_signature": False})
    assert plain["scope"] == "user" and "groups" not in plain


def test_handler_result_translation():
    status, headers, body = parse_handler_result(
        {
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "cookies": ["a=1"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert (status, body) == (201, b"\x00\x01")
    assert ("set-cookie", "a=1") in headers and ("content-type", "application/json") in headers
    assert parse_handler_result({"ok": True}) == (200, [("content-type", "application/json")], b'{"ok": true}')


def test_context_counts_down_from_the_timeout():
    context = LambdaContext(function_name="campaign", memory_limit_in_mb=256, timeout_s=30)
    assert 29_000 < context.get_remaining_time_in_millis() <= 30_000
    assert context.invoked_function_arn.endswith(":function:campaign") and context.aws_request_id


def ids(records):
    return [r["messageId"] for r in records]


def test_partial_batch_rules():
    batch = sqs_event([{"MessageId": m, "ReceiptHandle": f"r-{m}", "Body": m} for m in ("a", "b", "c")], "arn:q")
    assert ids(succeeded_records(batch, None, report_failures=True)) == ["a", "b", "c"]
    assert ids(succeeded_records(batch, {"batchItemFailures": [{"itemIdentifier": "b"}]}, True)) == ["a", "c"]
    assert succeeded_records(batch, {"batchItemFailures": [{"itemIdentifier": "zzz"}]}, True) == []
    assert succeeded_records(batch, "not a dict", True) == []
    assert ids(succeeded_records(batch, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False)) == ["a", "b", "c"]


def test_provider_secret_names_map_to_the_right_key():
    keys = {"openai": "k-openai", "azure": "k-azure"}
    assert provider_key_for("hybrid-orch-dev-azure-openai-api-key", keys) == "k-azure"
    assert provider_key_for("hybrid-orch-dev-openai-api-key", keys) == "k-openai"
    assert provider_key_for("something-else", keys) is None


def test_resolver_intrinsics():
    template = Template.from_documents({"t": {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}})
    resolver = Resolver(template, {"Q": PhysicalResource("http://q", {"Arn": "arn:aws:sqs:us-east-1:1:q"})})
    assert resolver.resolve({"Fn::Join": ["/", [{"Ref": "Q"}, "x"]]}) == "http://q/x"
    assert (
        resolver.resolve({"Fn::Sub": "${Q.Arn}|${AWS::Region}|${!Lit}"}) == "arn:aws:sqs:us-east-1:1:q|us-east-1|${Lit}"
    )
    assert resolver.resolve({"Fn::Select": [5, {"Fn::Split": [":", {"Fn::GetAtt": ["Q", "Arn"]}]}]}) == "q"
    with pytest.raises(TemplateError, match="Missing"):
        resolver.resolve({"Ref": "Missing"})
