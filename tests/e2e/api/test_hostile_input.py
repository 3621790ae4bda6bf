"""Hostile bodies get a clear 4xx in the envelope, never a 500 (and never a hung worker)."""

from __future__ import annotations

import pytest

CAMPAIGN = "/api/v2/campaigns/hybrid"


@pytest.fixture(scope="module")
def token(api):
    return api.token("hostile")


def post(api, token, body, content_type="application/json"):
    return api.call("POST", CAMPAIGN, body, token=token, headers={"content-type": content_type})


@pytest.mark.parametrize(
    ("name", "raw", "status", "code"),
    [
        ("deeply nested arrays", b"[" * 100_000 + b"]" * 100_000, 400, "MALFORMED_JSON"),
        ("deeply nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "MALFORMED_JSON"),
        ("not UTF-8", b'{"type": "caption", "platforms": ["\xff\xfe"]}', 400, "MALFORMED_BODY"),
        ("truncated JSON", b'{"type": "caption", "platforms": [', 400, "MALFORMED_JSON"),
        ("JSON that is not an object", b'"just a string"', 422, "VALIDATION_ERROR"),
        ("empty body", b"", 422, "VALIDATION_ERROR"),
    ],
)
def test_malformed_bodies(api, token, name, raw, status, code):
    reply = post(api, token, raw)
    assert reply.status == status, (name, reply.body)
    assert reply.body["error"]["code"] == code


def test_huge_strings_are_refused_by_field_limits(api, token):
    body = {"type": "caption", "platforms": ["x"], "data": {"theme": "a" * 2_000_000}}
    reply = post(api, token, body)
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["field"] == "data.theme"


def test_wrong_content_type_is_415(api, token):
    reply = post(api, token, b"type=caption", content_type="text/plain")
    assert reply.status == 415 and reply.body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_form_encoded_body_is_not_silently_accepted(api, token):
    reply = post(api, token, b"type=caption&platforms=x", content_type="application/x-www-form-urlencoded")
    assert 400 <= reply.status < 500, reply.body
