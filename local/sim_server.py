"""The threaded HTTP scaffolding the gateway and Slack simulators share: a server bound to 127.0.0.1 that knows
its simulator, started in a daemon thread, a queue of counted faults under one lock, and a handler base that
answers in one keep-alive response and serves the faults control (``POST`` queues, ``DELETE`` clears, ``GET``
lists).

The provider simulator keeps its own socket layer (lazy bind, one-write replies, cut keep-alive connections on
stop): it is on every test's hot path and does not fit this shape.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar


class SimServer(ThreadingHTTPServer):
    """A threaded server whose handlers reach their simulator as ``self.server.sim``."""

    daemon_threads = True
    allow_reuse_address = True
    sim: Any


class CountedFault(Protocol):
    """A fault answered to the next ``count`` requests it matches."""

    count: int


FaultT = TypeVar("FaultT", bound=CountedFault)


class ServedSimulator(Generic[FaultT]):
    """A simulator's HTTP side and its pending faults: bound on construction, so ``url`` is known before
    ``start()``; ``_lock`` guards the faults and whatever the simulator records."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int, thread_name: str) -> None:
        self._lock = threading.Lock()
        self._faults: list[FaultT] = []
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

    def faults(self) -> list[dict[str, Any]]:
        """Pending faults, in the fields they are posted with."""
        with self._lock:
            return [self._fault_view(f) for f in self._faults]

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, matches: Callable[[FaultT], bool]) -> FaultT | None:
        """The first pending fault that ``matches``, one of its uses spent (gone after its last)."""
        with self._lock:
            fault = next((f for f in self._faults if matches(f)), None)
            if fault is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
        return fault

    def _fault_view(self, fault: FaultT) -> dict[str, Any]:
        raise NotImplementedError


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

    def _fault_control(self, method: str, add_fault: Callable[[], None]) -> None:
        """The faults control: ``POST`` calls ``add_fault`` (its ``ValueError`` is a 422 naming the field),
        ``DELETE`` clears, ``GET`` lists; the pending faults answer each."""
        sim = self.server.sim
        if method == "POST":
            try:
                add_fault()
            except ValueError as exc:
                return self._reply(422, {"error": {"code": "INVALID_FAULT", "message": str(exc)}})
        elif method == "DELETE":
            sim.clear_faults()
        elif method != "GET":
            return self._reply(405, {"error": {"code": "METHOD_NOT_ALLOWED"}})
        self._reply(200, sim.faults())

    def _handle(self) -> None:
        raise NotImplementedError

    def _dispatch(self) -> None:
        self._handle()

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch
