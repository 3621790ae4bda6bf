"""API Gateway HTTP API (payload 2.0) events for the resolver's tests."""

from __future__ import annotations

import base64
import json


def event(method, path, body=None, claims=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    is_b64 = isinstance(data, bytes)
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": content_type},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1"},
            "requestId": "r1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "authorizer": {"jwt": {"claims": claims, "scopes": None}} if claims else None,
        },
        "body": base64.b64encode(data).decode() if is_b64 else data,
        "isBase64Encoded": is_b64,
    }
