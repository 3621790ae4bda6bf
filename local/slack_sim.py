"""Slack's incoming webhooks, simulated: every message posted is recorded, and faults are answered on demand.

Served behind the local API's port (its ``/_sim/slack`` prefix is proxied here), so the webhook URLs a local
rule names are ``http://127.0.0.1:<API port>/_sim/slack/services/<id>[/<id>[/<token>]]``, the base the stack
puts in ``SLACK_WEBHOOK_LOCAL_BASE``.

Wire, as Slack answers it: ``POST /_sim/slack/services/...`` with a JSON body holding ``text`` or ``blocks``
→ ``200 ok`` (text/plain); a body that is not JSON → ``400 invalid_payload``; neither field → ``400 no_text``.

Controls:

* ``GET /_sim/slack`` → ``[{"webhook", "text", "blocks", "at"}]``, oldest first (``webhook``: the URL's path,
  masked as answers mask it — the simulator's record is an answer too); ``DELETE`` empties it;
* ``POST /_sim/slack/faults`` ``{"status": 429, "count": N, "retryAfterS"?: 1, "delayMs"?: 0}``: the next N
  posts answer ``status`` (a 429 with ``Retry-After: retryAfterS``, default 1); ``"count": 0`` clears;
  ``GET`` lists pending faults, ``DELETE`` clears them all. ``GET /_sim/slack/attempts`` counts every post
  received, faulted ones included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.gateway_sim import SENT_LIMIT, parse_fault
from local.sim_server import ServedSimulator, SimHandler
from shared.alerts.slack_webhook import mask_webhook_url

PREFIX = "/_sim/slack"
WEBHOOK_PREFIX = f"{PREFIX}/services/"


@dataclass
class SlackFault:
    """Answer ``status`` to the next ``count`` posts (a 429 says ``Retry-After: retry_after_s``)."""

    status: int
    count: int
    retry_after_s: int = 1
    delay_ms: int = 0


def parse_slack_fault(spec: Any) -> SlackFault:
    """Validate a fault control body (the gateway simulator's rules, plus ``retryAfterS``); ``ValueError`` names
    the bad field."""
    if isinstance(spec, dict) and "recipientId" in spec:
        raise ValueError("recipientId: not a Slack fault field")
    common = parse_fault({k: v for k, v in spec.items() if k != "retryAfterS"} if isinstance(spec, dict) else spec)
    retry_after = spec.get("retryAfterS", 1)
    if not isinstance(retry_after, int) or not 0 <= retry_after <= 3600:
        raise ValueError("retryAfterS: 0..3600")
    return SlackFault(common.status, common.count, retry_after, common.delay_ms)


class SlackSimulator(ServedSimulator[SlackFault]):
    """State (posts, faults, attempts) plus an HTTP server on 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        self._posts: list[dict[str, Any]] = []
        self._attempts = 0
        super().__init__(_Handler, port, thread_name="slack-sim")

    def posts(self) -> list[dict[str, Any]]:
        """Every message accepted, oldest first."""
        with self._lock:
            return list(self._posts)

    def attempts(self) -> int:
        """Every post received, faulted ones included."""
        with self._lock:
            return self._attempts

    def clear(self) -> None:
        """Forget every message and the attempt count."""
        with self._lock:
            self._posts.clear()
            self._attempts = 0

    def add_fault(self, fault: SlackFault) -> None:
        """Queue a fault; ``count == 0`` clears them all."""
        with self._lock:
            if fault.count == 0:
                self._faults.clear()
            else:
                self._faults.append(fault)

    def _fault_view(self, fault: SlackFault) -> dict[str, Any]:
        return {
            "status": fault.status,
            "count": fault.count,
            "retryAfterS": fault.retry_after_s,
            "delayMs": fault.delay_ms,
        }

    def accept(self, path: str, raw: bytes) -> tuple[int, str, dict[str, str]]:
        """One post: a pending fault, a refusal of a malformed body, or 200 ``ok`` and a record."""
        with self._lock:
            self._attempts += 1
        fault = self._take_fault(lambda f: True)
        if fault is not None:
            time.sleep(fault.delay_ms / 1000)
            headers = {"retry-after": str(fault.retry_after_s)} if fault.status == 429 else {}
            return fault.status, "rate_limited" if fault.status == 429 else "simulated_fault", headers
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, "invalid_payload", {}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, "no_text", {}
        record = {
            "webhook": mask_webhook_url(path),
            "text": body.get("text"),
            "blocks": body.get("blocks"),
            "at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }
        with self._lock:
            self._posts.append(record)
            del self._posts[:-SENT_LIMIT]
        return 200, "ok", {}


class _Handler(SimHandler):
    def _handle(self) -> None:
        sim, path, method = self.server.sim, self.path.split("?")[0], self.command
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if path.startswith(WEBHOOK_PREFIX) and method == "POST":
            return self._reply(*sim.accept(path, raw))
        if path == PREFIX and method in ("GET", "DELETE"):
            if method == "DELETE":
                sim.clear()
            return self._reply(200, sim.posts())
        if path == f"{PREFIX}/attempts" and method == "GET":
            return self._reply(200, {"attempts": sim.attempts()})
        if path == f"{PREFIX}/faults":
            return self._fault_control(
                method, lambda: sim.add_fault(parse_slack_fault(json.loads(raw) if raw else None))
            )
        if path == f"{PREFIX}/health":
            return self._reply(200, {"status": "ok"})
        return self._reply(404, "no_service" if path.startswith(WEBHOOK_PREFIX) else {"error": {"code": "NOT_FOUND"}})
