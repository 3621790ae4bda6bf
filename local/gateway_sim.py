"""The platform's sending gateway, simulated: it records every message it accepts, and fails on demand.

Wire (what ``shared.sending.gateway.SendingGateway`` speaks): ``POST /v1/messages`` with
``Authorization: Bearer <key>`` and ``{"accountId", "recipientId", "messageId", "text", "onBehalfOf"}`` →
``200 {"id", "status": "sent"}``. It deliberately does NOT deduplicate on ``messageId``: the
record is the evidence tests use to prove that our side never sends a message twice.

Controls (also answered on the local API's port):

* ``GET /_sim/sent`` → ``[{"accountId", "recipientId", "messageId", "onBehalfOf", "text", "at"}]`` (``at``:
  ISO 8601 UTC, microseconds, when the gateway accepted it), oldest first; ``DELETE /_sim/sent`` empties it;
* ``POST /_sim/gateway/faults`` ``{"status": 500, "count": N, "recipientId"?: "fan-7", "delayMs"?: 0}``:
  the next N sends (to that fan only, when given) answer ``status`` (after ``delayMs``);
  ``"count": 0`` clears; ``GET`` lists pending faults, ``DELETE`` clears them all.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.sim_server import ServedSimulator, SimHandler

DEFAULT_GATEWAY_KEY = "sim-gateway-key"
SENT_LIMIT = 100_000  # bounded so a long `make run` cannot grow without end


@dataclass
class GatewayFault:
    """Answer ``status`` to the next ``count`` sends (to ``recipient_id`` only, when set)."""

    status: int
    count: int
    recipient_id: str | None = None
    delay_ms: int = 0


def parse_fault(spec: Any) -> GatewayFault:
    """Validate a fault control body; ``ValueError`` names the bad field."""
    if not isinstance(spec, dict):
        raise ValueError("body: expected a JSON object")
    status, count = spec.get("status", 500), spec.get("count", 1)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status: an HTTP error status, 400..599")
    if not isinstance(count, int) or count < 0:
        raise ValueError("count: a whole number >= 0")
    recipient, delay = spec.get("recipientId"), spec.get("delayMs", 0)
    if recipient is not None and not isinstance(recipient, str):
        raise ValueError("recipientId: a string")
    if not isinstance(delay, int) or not 0 <= delay <= 60_000:
        raise ValueError("delayMs: 0..60000")
    return GatewayFault(status, count, recipient, delay)


def fault_view(fault: GatewayFault) -> dict[str, Any]:
    """A pending fault as the control echoes it: the same camelCase fields it is posted with."""
    return {"status": fault.status, "count": fault.count, "recipientId": fault.recipient_id, "delayMs": fault.delay_ms}


class GatewaySimulator(ServedSimulator[GatewayFault]):
    """State (sent log, faults) plus an HTTP server on 127.0.0.1."""

    def __init__(self, port: int = 0, key: str = DEFAULT_GATEWAY_KEY) -> None:
        self.key = key
        self._sent: list[dict[str, str]] = []
        super().__init__(_Handler, port, thread_name="gateway-sim")

    def sent(self) -> list[dict[str, str]]:
        """Every accepted send, oldest first."""
        with self._lock:
            return list(self._sent)

    def clear_sent(self) -> None:
        """Forget every send."""
        with self._lock:
            self._sent.clear()

    def add_fault(self, fault: GatewayFault) -> None:
        """Queue a fault; ``count == 0`` clears the faults it would match."""
        with self._lock:
            if fault.count == 0:
                self._faults = [f for f in self._faults if fault.recipient_id not in (None, f.recipient_id)]
            else:
                self._faults.append(fault)

    def _fault_view(self, fault: GatewayFault) -> dict[str, Any]:
        return fault_view(fault)

    def accept(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One send: a pending fault's status, or 200 and a record in the sent log."""
        recipient = body.get("recipientId")
        fault = self._take_fault(lambda f: f.recipient_id in (None, recipient))
        if fault is not None:
            time.sleep(fault.delay_ms / 1000)
            return fault.status, {"error": {"code": "SIMULATED_FAULT", "status": fault.status}}
        record = {
            "accountId": str(body["accountId"]),
            "recipientId": str(recipient),
            "messageId": str(body["messageId"]),
            "onBehalfOf": str(body["onBehalfOf"]),
            "text": str(body["text"]),
            "at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }
        with self._lock:
            self._sent.append(record)
            del self._sent[:-SENT_LIMIT]
        return 200, {"id": f"gw_{uuid.uuid4().hex[:16]}", "status": "sent"}


class _Handler(SimHandler):
    def _body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        return json.loads(raw) if raw else None

    def _handle(self) -> None:
        sim, path, method = self.server.sim, self.path.split("?")[0], self.command
        try:
            body = self._body()
        except ValueError:
            return self._reply(400, {"error": {"code": "MALFORMED_JSON"}})
        if path == "/v1/messages" and method == "POST":
            return self._send(sim, body)
        if path == "/_sim/sent" and method in ("GET", "DELETE"):
            if method == "DELETE":
                sim.clear_sent()
            return self._reply(200, sim.sent())
        if path == "/_sim/gateway/faults":
            return self._fault_control(method, lambda: sim.add_fault(parse_fault(body)))
        if path == "/_sim/gateway/health":
            return self._reply(200, {"status": "ok"})
        return self._reply(404, {"error": {"code": "NOT_FOUND", "message": f"no {method} {path}"}})

    def _send(self, sim: GatewaySimulator, body: Any) -> None:
        if self.headers.get("authorization") != f"Bearer {sim.key}":
            return self._reply(401, {"error": {"code": "UNAUTHORIZED"}})
        required = ("accountId", "recipientId", "messageId", "text", "onBehalfOf")
        if not isinstance(body, dict) or any(not isinstance(body.get(k), str) or not body[k] for k in required):
            return self._reply(400, {"error": {"code": "INVALID_MESSAGE", "required": list(required)}})
        self._reply(*sim.accept(body))
