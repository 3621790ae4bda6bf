"""The threaded HTTP scaffolding the gateway and Slack simulators share: a server bound to 127.0.0.1 that knows
its simulator, started in a daemon thread, and a handler base that answers in one keep-alive response.

The provider simulator keeps its own socket layer (lazy bind, one-write replies, cut keep-alive connections on
stop): it is on every test's hot path and does not fit this shape.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class SimServer(ThreadingHTTPServer):
    """A threaded server whose handlers reach their simulator as ``self.server.sim``."""

    daemon_threads = True
    allow_reuse_address = True
    sim: Any


class ServedSimulator:
    """A simulator's HTTP side: bound on construction, so ``url`` is known before ``start()``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int, thread_name: str) -> None:
        self._server = SimServer(("127.0.0.1", port), handler)
        self._server.sim = self
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()


class SimHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive with TCP_NODELAY (else Nagle plus delayed ACK stalls each call ~40 ms), quiet logs."""

    protocol_version = "HTTP/1.1"
    server: SimServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the simulator's records, not access lines (and a Slack request line holds a secret)."""

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Answer ``payload``: a string as text/plain, anything else as JSON."""
        text = isinstance(payload, str)
        data = payload.encode() if text else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain" if text else "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
