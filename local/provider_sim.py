"""OpenAI / Azure OpenAI chat-completions simulator, so the real `openai` SDK runs offline.

Standard library only. Speed matters because every integration and end-to-end test goes through
it: each accepted socket gets TCP_NODELAY and each response leaves in one write with
Content-Length over HTTP/1.1 keep-alive; otherwise Nagle plus delayed ACK stalls every call ~40 ms.
Faults (429 / 500 / 400 / content filter on the prompt or on the output / delays) are queued over
HTTP at `/_sim/faults` or in-process with `add_fault`; prompts of 1,024 tokens and more are cached
as OpenAI does (`local.sim_prompt_cache`). `handle()` is transport-free, so the local API server can answer
`/_sim/...` on its own port by delegating to it. Shapes live in `local.sim_protocol`. Near 400
lines because routing, the control API and the socket layer only make sense together.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import signal
import socket
import socketserver
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from local import sim_protocol as proto
from local.sim_prompt_cache import PromptCache

DEFAULT_KEYS = {"openai": "sim-openai-key", "azure": "sim-azure-key"}
REQUEST_LOG_LIMIT = 10_000  # bounded so a long `make run` cannot grow without end
_AZURE_CHAT = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
_CONTROL_ROUTES = {"/_sim/health", "/_sim/faults", "/_sim/reset", "/_sim/requests"}


@dataclass
class Reply:
    """A response before it meets a transport: status, extra headers and the JSON body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The whole HTTP/1.1 response as one buffer, so it leaves the socket in a single write."""
        payload = json.dumps(self.body, separators=(",", ":")).encode()
        phrase = HTTPStatus(self.status).phrase
        head = [
            f"HTTP/1.1 {self.status} {phrase}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{k}: {v}" for k, v in self.headers.items()),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


class ProviderSimulator:
    """Both providers on one port: OpenAI under `/v1`, Azure under `/openai`, controls under `/_sim`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, keys: dict[str, str] | None = None
    ) -> None:
        self.host, self.port, self.latency_ms = host, port, latency_ms
        self.keys = {**DEFAULT_KEYS, **(keys or {})}
        self.faults = proto.FaultQueue()
        self.prompt_cache = PromptCache()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns once the port is listening."""
        if self._server is not None:
            return
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="provider-sim", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut idle keep-alive connections and wake any simulated delay."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ProviderSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base address, e.g. http://127.0.0.1:40123 (OpenAI clients append /v1, Azure ones nothing)."""
        if self._server is None:
            raise RuntimeError("the provider simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def add_fault(self, spec: dict[str, Any]) -> None:
        """Queue a fault in the `POST /_sim/faults` spelling; raises FaultSpecError when invalid."""
        self.faults.add(proto.parse_fault(spec))

    def clear_faults(self, provider: str | None = None) -> None:
        """Drop pending faults of one provider, or all."""
        self.faults.clear(provider)

    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def reset(self) -> None:
        """Clear faults, the prompt cache and the request log, as between tests."""
        self.faults.clear()
        self.prompt_cache.clear()
        with self._log_lock:
            self._log.clear()

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one request (headers keyed in lower case), independent of any socket."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path in _CONTROL_ROUTES:
            return self._control(method, path, body)
        if path == "/v1/chat/completions":
            provider, action, deployment = "openai", "chat", None
        elif match := _AZURE_CHAT.match(path):
            provider, action, deployment = "azure", "chat", unquote(match[1])
        elif path in ("/v1/models", "/openai/models"):
            provider, action, deployment = ("openai" if path.startswith("/v1") else "azure"), "models", None
        else:
            return _not_found(method, path)
        expected = "POST" if action == "chat" else "GET"
        if method != expected:
            error = proto.error_body(provider, "invalid", f"{method} is not allowed on {path}")
            return Reply(405, error, {"Allow": expected})
        if action == "models":
            return self._models(provider, headers, query)
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        try:
            request = json.loads(body) if body else None
        except ValueError:
            request = None
        model = deployment if deployment is not None else _model_of(request)
        reply, usage = self._chat(provider, model, headers, query, request)
        entry = {"provider": provider, "model": model, "status": reply.status, "at": at}
        entry.update(
            {
                "promptTokens": usage.get("prompt_tokens", 0),
                "completionTokens": usage.get("completion_tokens", 0),
                "cachedTokens": usage.get("prompt_tokens_details", {}).get("cached_tokens", 0),
            }
        )
        with self._log_lock:
            self._log.append(entry)
        return reply

    def _chat(
        self, provider: str, model: str | None, headers: dict[str, str], query: dict[str, list[str]], request: object
    ) -> tuple[Reply, dict[str, int]]:
        if not self._authorized(provider, headers):
            return Reply(401, proto.error_body(provider, "auth")), {}
        if provider == "azure" and not query.get("api-version"):
            return _missing_api_version(), {}
        problem, param = proto.validate_chat_params(provider, request)
        if problem or not isinstance(request, dict) or model is None:
            return Reply(400, proto.error_body(provider, "invalid", problem, param)), {}
        fault = self.faults.take(provider, model)
        if fault is not None:
            self._sleep(fault.delay_ms)
            if fault.refuses:
                return _fault_reply(provider, fault), {}
        self._sleep(self.latency_ms)
        reported = proto.azure_model_for(model) if provider == "azure" else model
        cached = self.prompt_cache.serve(provider, model, request["messages"], request.get("tools"))
        filter_output = fault is not None and fault.content_filter == "output"
        completion = proto.chat_completion(
            provider, reported, request["messages"], request, cached_tokens=cached, filter_output=filter_output
        )
        return Reply(200, completion, _success_headers(provider, completion["usage"])), completion["usage"]

    def _models(self, provider: str, headers: dict[str, str], query: dict[str, list[str]]) -> Reply:
        if not self._authorized(provider, headers):
            return Reply(401, proto.error_body(provider, "auth"))
        if provider == "azure" and not query.get("api-version"):
            return _missing_api_version()
        names = proto.OPENAI_MODELS if provider == "openai" else proto.AZURE_MODEL_VERSIONS.values()
        owner = "openai" if provider == "openai" else "system"
        data = [{"id": name, "object": "model", "created": 1715367049, "owned_by": owner} for name in names]
        return Reply(200, {"object": "list", "data": data})

    def _authorized(self, provider: str, headers: dict[str, str]) -> bool:
        key = self.keys[provider]
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip() == key:
            return True
        return provider == "azure" and headers.get("api-key") == key

    def _sleep(self, milliseconds: float) -> None:
        if milliseconds > 0:
            self._stopping.wait(milliseconds / 1000)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        route = (method, path)
        if route == ("GET", "/_sim/health"):
            return Reply(200, {"status": "ok"})
        if route == ("GET", "/_sim/faults"):
            return Reply(200, self.faults.pending())
        if route == ("POST", "/_sim/faults"):
            return self._post_fault(body)
        if route == ("DELETE", "/_sim/faults"):
            self.faults.clear()
            return Reply(200, {"pending": []})
        if route == ("POST", "/_sim/reset"):
            self.reset()
            return Reply(200, {"status": "reset"})
        if route == ("GET", "/_sim/requests"):
            return Reply(200, self.requests())
        if route == ("DELETE", "/_sim/requests"):
            with self._log_lock:
                cleared = len(self._log)
                self._log.clear()
            return Reply(200, {"cleared": cleared})
        return Reply(405, {"error": {"code": "method_not_allowed", "message": f"{method} is not allowed on {path}"}})

    def _post_fault(self, body: bytes) -> Reply:
        try:
            spec = json.loads(body) if body else None
        except ValueError as exc:
            return Reply(400, {"error": {"code": "invalid_json", "field": "body", "message": f"not JSON: {exc}"}})
        try:
            self.add_fault(spec)  # type: ignore[arg-type]  # parse_fault rejects non-objects itself
        except proto.FaultSpecError as exc:
            return Reply(400, {"error": {"code": "invalid_fault", "field": exc.field, "message": str(exc)}})
        return Reply(200, {"pending": self.faults.pending()})


def _model_of(request: object) -> str | None:
    model = request.get("model") if isinstance(request, dict) else None
    return model if isinstance(model, str) and model else None


def _not_found(method: str, path: str) -> Reply:
    if path.startswith("/v1/"):
        return Reply(404, proto.error_body("openai", "not_found", f"Invalid URL ({method} {path})"))
    if path.startswith("/openai/"):
        return Reply(404, proto.error_body("azure", "not_found"))
    return Reply(404, {"error": {"code": "not_found", "message": f"no route for {method} {path}"}})


def _missing_api_version() -> Reply:
    message = "The api-version query parameter (?api-version=) is required for all requests."
    return Reply(400, {"error": {"code": "MissingApiVersionParameter", "message": message}})


def _fault_reply(provider: str, fault: proto.Fault) -> Reply:
    """The error a queued fault stands for, with the headers the provider sends alongside it."""
    if fault.content_filter == "prompt":
        return Reply(400, proto.error_body(provider, "content_filter"))
    if fault.status == 429:
        wait = f"{fault.retry_after:g}"
        headers = {"Retry-After": wait, "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "0"}
        if provider == "azure":
            headers["retry-after-ms"] = str(round(fault.retry_after * 1000))
        else:
            headers.update({"x-ratelimit-limit-requests": "500", "x-ratelimit-reset-requests": f"{wait}s"})
        return Reply(429, proto.error_body(provider, "rate_limit"), headers)
    if fault.status == 400:
        return Reply(400, proto.error_body(provider, "invalid", "Invalid request (simulated fault)."))
    return Reply(fault.status or 500, proto.error_body(provider, "server"))


def _success_headers(provider: str, usage: dict[str, int]) -> dict[str, str]:
    request_id = uuid.uuid4().hex
    remaining = {
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": str(2_000_000 - usage["total_tokens"]),
    }
    if provider == "azure":
        return {"apim-request-id": request_id, "x-request-id": request_id, "x-ms-region": "Sweden Central", **remaining}
    return {
        "x-request-id": f"req_{request_id}",
        "openai-version": "2020-10-01",
        "openai-processing-ms": "1",
        **remaining,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: ProviderSimulator) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Skip HTTPServer's getfqdn(), a reverse-DNS lookup that can stall start-up for seconds."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Shut idle keep-alive sockets so their handler threads end with the server."""
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's pool reuses one connection
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        try:
            body = _read_body(self.rfile, self.headers.get("Transfer-Encoding", ""), self.headers.get("Content-Length"))
        except ValueError:
            reply = Reply(400, {"error": {"code": "bad_request", "message": "unreadable request body"}})
            self.close_connection = True
        else:
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                reply = self.server.sim.handle(self.command, self.path, headers, body)
            except Exception as exc:  # a simulator bug must surface as a 500, not a dropped connection
                reply = Reply(500, {"error": {"code": "simulator_error", "message": repr(exc)}})
        if self.close_connection:
            reply.headers["Connection"] = "close"
        try:
            self.wfile.write(reply.encode())
        except OSError:  # the client gave up (e.g. its timeout fired during a simulated delay)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log at /_sim/requests is the record, and tests stay quiet."""


def _read_body(rfile: BinaryIO, transfer_encoding: str, content_length: str | None) -> bytes:
    if transfer_encoding.lower() == "chunked":
        chunks = []
        while size := int(rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(rfile.read(size))
            rfile.readline()
        while rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)
    length = int(content_length or 0)
    if length < 0:
        raise ValueError("negative Content-Length")
    return rfile.read(length) if length else b""


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in its own process until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m local.provider_sim", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every successful call")
    parser.add_argument("--openai-key", default=DEFAULT_KEYS["openai"])
    parser.add_argument("--azure-key", default=DEFAULT_KEYS["azure"])
    args = parser.parse_args(argv)
    sim = ProviderSimulator(args.host, args.port, args.latency_ms, {"openai": args.openai_key, "azure": args.azure_key})
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sim.start()
    print(f"provider simulator listening on {sim.url}", flush=True)
    while not stop.wait(0.2):
        pass
    sim.stop()


if __name__ == "__main__":
    main()
