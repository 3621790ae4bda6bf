"""The platform's sending gateway, simulated: it records every message it accepts, and fails on demand.

Wire (what ``shared.sending.gateway.SendingGateway`` speaks): ``POST /v1/messages`` with
``Authorization: Bearer <key>`` and ``{"accountId", "recipientId", "messageId", "text", "onBehalfOf"}`` →
``200 {"id", "status": "sent"}``. Like the platform's, it honours an ``Idempotency-Key`` header: a
repeated key answers the first receipt (same ``id``) and delivers nothing. The repeat is not lost:
it goes to the replay log, the evidence tests use to prove our side never sends a message twice
(its own guard held), while the sent log proves no fan received one twice even when that guard
was lost. Without the header every request delivers (``messageId`` alone deduplicates nothing).

Controls (also answered on the local API's port):

* ``GET /_sim/sent`` → ``[{"accountId", "recipientId", "messageId", "onBehalfOf", "text", "at"}]`` (``at``:
  ISO 8601 UTC, microseconds, when the gateway accepted it), oldest first; ``DELETE /_sim/sent`` empties it
  (and forgets the idempotency keys and replays);
* ``GET /_sim/gateway/replays`` → ``[{"idempotencyKey", "id", "at"}]``: every request that repeated a key
  already delivered, answered with that first receipt's ``id``, oldest first;
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
        self._receipts: dict[str, str] = {}  # idempotency key -> the first delivery's gateway id
        self._replays: list[dict[str, str]] = []
        super().__init__(_Handler, port, thread_name="gateway-sim")

    def sent(self) -> list[dict[str, str]]:
        """Every accepted send, oldest first."""
        with self._lock:
            return list(self._sent)

    def replays(self) -> list[dict[str, str]]:
        """Every request that repeated a delivered idempotency key, oldest first."""
        with self._lock:
            return list(self._replays)

    def clear_sent(self) -> None:
        """Forget every send, the idempotency keys and the replays."""
        with self._lock:
            self._sent.clear()
            self._receipts.clear()
            self._replays.clear()

    def add_fault(self, fault: GatewayFault) -> None:
        """Queue a fault; ``count == 0`` clears the faults it would match."""
        with self._lock:
            if fault.count == 0:
                self._faults = [f for f in self._faults if fault.recipient_id not in (None, f.recipient_id)]
            else:
                self._faults.append(fault)

    def _fault_view(self, fault: GatewayFault) -> dict[str, Any]:
        return fault_view(fault)

    def accept(self, body: dict[str, Any], idempotency_key: str | None = None) -> tuple[int, dict[str, Any]]:
        """One send: the first receipt again for a delivered ``idempotency_key`` (logged as a replay), else a
        pending fault's status, or 200 and a record in the sent log."""
        if idempotency_key:
            with self._lock:
                replayed = self._replay(idempotency_key)
            if replayed is not None:
                return replayed
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
            "at": _now(),
        }
        gateway_id = f"gw_{uuid.uuid4().hex[:16]}"
        with self._lock:
            if idempotency_key:
                replayed = self._replay(idempotency_key)  # a concurrent request with the key delivered first
                if replayed is not None:
                    return replayed
                self._receipts[idempotency_key] = gateway_id
                while len(self._receipts) > SENT_LIMIT:
                    del self._receipts[next(iter(self._receipts))]
            self._sent.append(record)
            del self._sent[:-SENT_LIMIT]
        return 200, {"id": gateway_id, "status": "sent"}

    def _replay(self, idempotency_key: str) -> tuple[int, dict[str, Any]] | None:
        """The first receipt's answer when the key was delivered (logged); ``None`` otherwise. Under the lock."""
        first_id = self._receipts.get(idempotency_key)
        if first_id is None:
            return None
        self._replays.append({"idempotencyKey": idempotency_key, "id": first_id, "at": _now()})
        del self._replays[:-SENT_LIMIT]
        return 200, {"id": first_id, "status": "sent"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


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
        if path == "/_sim/gateway/replays" and method == "GET":
            return self._reply(200, sim.replays())
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
        self._reply(*sim.accept(body, self.headers.get("idempotency-key")))
