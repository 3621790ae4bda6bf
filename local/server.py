"""The local API: API Gateway's part, in front of the same handlers that deploy.

Each request is matched against ``stacks.route_table.ROUTES`` (the table CDK deploys), checked
by a JWT authorizer as API Gateway's would, turned into a payload 2.0 event, and handed to
``functions/<name>/app.py``'s ``lambda_handler`` in this process. The simulators' controls
(``/_sim/...``) and the local outbox (``/_local/...``) are answered on the same port.

Errors that API Gateway itself would produce (no route, wrong method, bad token, a token without
one of the route's authorization scopes, too large, handler crash) use our envelope
``{"success": false, "error": {...}}`` rather than API Gateway's ``{"message": ...}`` so clients
see one error shape everywhere; the status codes are API Gateway's.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from local.console import Console, response_summary
from local.events import (
    LambdaContext,
    Unauthorized,
    authorizer_context,
    build_http_event,
    parse_handler_result,
    verify_bearer,
)
from local.slack_sim import WEBHOOK_PREFIX as SLACK_WEBHOOK_PREFIX
from shared.alerts.slack_webhook import mask_webhook_url
from shared.api.envelope import error_body
from stacks.route_table import FUNCTIONS, ROUTES, HttpRoute

_ONE_REQUEST_AT_A_TIME = threading.Lock()

REPO_ROOT = Path(__file__).resolve().parent.parent
# API Gateway HTTP API's payload limit. (A deployed Lambda proxy integration is further capped by
# Lambda's 6 MB invocation payload; we keep API Gateway's number and let handlers see big bodies.)
MAX_BODY_BYTES = 10 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}

Handler = Callable[[dict[str, Any], Any], Any]
_PATH_VARIABLE = re.compile(r"\{(\w+)\}")


def path_matcher(template: str) -> re.Pattern[str]:
    """A route path's regular expression: each ``{name}`` matches one non-empty segment, as API Gateway's."""
    parts = _PATH_VARIABLE.split(template)  # literal, name, literal, name, ...
    pattern = "".join(f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$")


def envelope_error(
    status: int, code: str, message: str, details: list[dict] | None = None, headers: list[tuple[str, str]] = ()
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A response in the handlers' own error envelope (``details`` always a list)."""
    body = json.dumps(error_body(code, message, details)).encode()
    return status, [("content-type", "application/json"), *headers], body


def _has_required_scope(route: HttpRoute, authorizer: Mapping[str, Any]) -> bool:
    """API Gateway's check of a route's ``AuthorizationScopes``: the token's scopes (as the event carries
    them) must include one of them; a route without any lets every valid token through."""
    if not route.authorization_scopes:
        return True
    scopes = authorizer.get("jwt", {}).get("scopes") or []
    return any(scope in scopes for scope in route.authorization_scopes)


class HandlerRegistry:
    """Loads each function's module once, like a warm Lambda container, under a unique name."""

    def __init__(self, repo_root: Path = REPO_ROOT, overrides: Mapping[str, Handler] | None = None) -> None:
        self.repo_root = repo_root
        self._overrides = dict(overrides or {})
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        if str(repo_root) not in sys.path:
            sys.path.insert(0, str(repo_root))  # so handlers import `shared` as they do in the layer

    def get(self, function: str) -> Handler:
        """The ``lambda_handler`` of ``functions/<function>/app.py`` (or a test's override)."""
        if function in self._overrides:
            return self._overrides[function]
        with self._lock:
            module = self._modules.get(function)
            if module is None:
                path = self.repo_root / "functions" / function / "app.py"
                if not path.exists():
                    raise FileNotFoundError(f"{path.relative_to(self.repo_root)} does not exist")
                name = f"local_function_{function.replace('-', '_')}_app"  # unique: every handler is app.py
                spec = importlib.util.spec_from_file_location(name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # pydantic and dataclasses resolve annotations through it
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]
                    raise
                self._modules[function] = module
        return module.lambda_handler


class LocalApi(ThreadingHTTPServer):
    """ThreadingHTTPServer with the routing table, authorizer settings and local extras."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        *,
        jwt_secret: str,
        jwt_issuer: str,
        jwt_audiences: list[str],
        registry: HandlerRegistry | None = None,
        routes: tuple[HttpRoute, ...] = ROUTES,
        proxies: Mapping[str, str] | None = None,
        local_routes: Mapping[str, Callable[[str, bytes], Any]] | None = None,
        console: Console | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.jwt = (jwt_secret, jwt_issuer, jwt_audiences)
        self.registry = registry or HandlerRegistry()
        self.routes = {(r.method, r.path): r for r in routes}
        self.paths = {r.path for r in routes}
        self.templates = [(path_matcher(r.path), r) for r in routes if _PATH_VARIABLE.search(r.path)]
        self.proxies = dict(proxies or {})  # path prefix -> upstream base URL
        self.local_routes = dict(local_routes or {})  # exact path -> fn(method, body) -> JSON-able
        self.console = console  # one line per request, when set (`make run`)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:3000``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LocalApi:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()

    def dispatch(self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, ip: str) -> Any:
        """Answer one API request: route, authorize, invoke the handler, translate its result."""
        route, path_parameters = self.match(method, path)
        if route is None:
            matching = [r for matcher, r in self.templates if matcher.match(path)]
            if path in self.paths or matching:
                allowed = sorted({m for m, p in self.routes if p == path} | {r.method for r in matching})
                detail = {"field": "method", "message": f"allowed: {', '.join(allowed)}", "type": "method_not_allowed"}
                allow = [("allow", ", ".join(allowed))]
                return envelope_error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}", [detail], allow)
            return envelope_error(404, "NOT_FOUND", f"no route for {method} {path}")
        authorizer = None
        if route.authorized:
            secret, issuer, audiences = self.jwt
            authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
            try:
                authorizer = authorizer_context(verify_bearer(authorization, secret, issuer, audiences))
            except Unauthorized as exc:
                detail = {"field": "authorization", "message": str(exc), "type": "unauthorized"}
                return envelope_error(401, "UNAUTHORIZED", f"Unauthorized: {exc}", [detail])
            if not _has_required_scope(route, authorizer):
                needed = " or ".join(route.authorization_scopes)
                return envelope_error(403, "FORBIDDEN", f"Forbidden: this route needs the {needed} scope")
        route_key = f"{route.method} {route.path}"
        event = build_http_event(
            method=method,
            raw_path=path,
            raw_query=query,
            headers=headers,
            body=body,
            route_key=route_key,
            source_ip=ip,
            authorizer=authorizer,
            path_parameters=path_parameters,
        )
        spec = FUNCTIONS.get(route.function)
        context = LambdaContext(
            function_name=route.function,
            memory_limit_in_mb=spec.memory_mb if spec else 256,
            timeout_s=spec.timeout_s if spec else 30,
        )
        try:
            # Powertools keeps the event being resolved on a class attribute (BaseRouter.current_event)
            # shared by every resolver in the process; Lambda runs one request per container, so one
            # handler at a time here keeps each request's event its own.
            with _ONE_REQUEST_AT_A_TIME:
                return parse_handler_result(self.registry.get(route.function)(event, context))
        except Exception:
            traceback.print_exc()
            return envelope_error(500, "INTERNAL_ERROR", "Internal Server Error")

    def match(self, method: str, path: str) -> tuple[HttpRoute | None, dict[str, str]]:
        """The route serving ``method path`` and its path parameters; an exact path wins over a template."""
        route = self.routes.get((method, path))
        if route is not None:
            return route, {}
        for matcher, candidate in self.templates:
            found = matcher.match(path)
            if found and candidate.method == method:
                return candidate, found.groupdict()
        return None, {}

    def proxy(self, upstream: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        """Forward a control request to a simulator and relay its answer."""
        parts = urlsplit(upstream)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        try:
            forwarded = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP}
            connection.request(method, target, body=body or None, headers=forwarded)
            response = connection.getresponse()
            relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, relayed, response.read()
        except OSError as exc:
            return envelope_error(502, "BAD_GATEWAY", f"{upstream} is not answering: {exc}")
        finally:
            connection.close()


class _RequestHandler(BaseHTTPRequestHandler):
    """One connection: keep-alive HTTP/1.1, TCP_NODELAY, one write per response."""

    protocol_version = "HTTP/1.1"
    server: LocalApi

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default: handlers log through Powertools, and tests read responses."""

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over the limit.

        An oversized body is still read (and dropped, never held in memory) so that clients that
        send the whole body before reading, as most do, receive the 413 instead of a broken pipe.
        """
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("content-length") or 0)
        if length <= MAX_BODY_BYTES:
            return self.rfile.read(length)
        self._discard(length)
        return None

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks) if total <= MAX_BODY_BYTES else None
            total += size
            if total > MAX_BODY_BYTES:
                chunks.clear()
                self._discard(size)
            else:
                chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _discard(self, length: int) -> None:
        while length > 0:
            read = len(self.rfile.read(min(length, 1 << 20)))
            if not read:
                break
            length -= read

    def _handle(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        path, query = split.path, split.query
        headers = list(self.headers.items())
        body = self._read_body()
        if body is None:
            result = envelope_error(413, "PAYLOAD_TOO_LARGE", f"request body is over {MAX_BODY_BYTES} bytes")
        elif path in self.server.local_routes:
            result = self._local(path, body)
        else:
            upstream = next(
                (u for p, u in sorted(self.server.proxies.items(), key=lambda i: -len(i[0])) if path.startswith(p)),
                None,
            )
            if upstream is not None:
                result = self.server.proxy(upstream, self.command, self.path, headers, body)
            else:
                result = self.server.dispatch(self.command, path, query, headers, body, self.client_address[0])
        if self.server.console is not None:  # before the answer leaves, so a client reading it finds the line
            elapsed_ms = (time.perf_counter() - started) * 1000
            workflow_id, provider = response_summary(result[1], result[2])
            shown = mask_webhook_url(path) if path.startswith(SLACK_WEBHOOK_PREFIX) else path  # the path is the secret
            self.server.console.request(self.command, shown, result[0], elapsed_ms, workflow_id, provider)
        self._send(*result)

    def _local(self, path: str, body: bytes) -> Any:
        try:
            payload = self.server.local_routes[path](self.command, body)
        except LookupError as exc:
            return envelope_error(405, "METHOD_NOT_ALLOWED", str(exc))
        except ValueError as exc:
            return envelope_error(400, "INVALID_BODY", str(exc))
        return 200, [("content-type", "application/json")], json.dumps(payload).encode()

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        reason = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("content-length", "connection")]
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close" if self.close_connection else "Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + (b"" if self.command == "HEAD" else body))

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers every method (QUERY, TRACE, ...) through its routes: a 404/405 envelope, never 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
