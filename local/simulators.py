"""The provider simulator, in this process (tests) or in its own (``make run``, benchmarks).

Both handles answer the same calls (``url``, ``add_fault``, ``clear_faults``, ``requests``,
``reset``, ``stop``), so a test does not care where the simulator runs. A separate process keeps
the simulator's work off the API's GIL, which matters when measuring the orchestrator's overhead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Literal, Protocol

from local.processes import terminate
from local.provider_sim import ProviderSimulator
from local.redis_server import free_port
from local.template import REPO_ROOT


class SimulatorHandle(Protocol):
    """What the local stack and the tests use of a simulator."""

    @property
    def url(self) -> str: ...
    def add_fault(self, spec: dict[str, Any]) -> None: ...
    def clear_faults(self, provider: str | None = None) -> None: ...
    def requests(self) -> list[dict[str, Any]]: ...
    def reset(self) -> None: ...
    def stop(self) -> None: ...


class SimulatorProcess:
    """``python -m local.provider_sim`` as a child process, controlled over its ``/_sim`` API."""

    def __init__(self, port: int = 0, latency_ms: int = 0) -> None:
        self.port = port or free_port()
        self.latency_ms = latency_ms
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base address (OpenAI clients append ``/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def start(self, timeout_s: float = 15.0) -> SimulatorProcess:
        """Start the process and wait for ``/_sim/health``."""
        args = [sys.executable, "-m", "local.provider_sim", "--port", str(self.port)]
        args += ["--latency-ms", str(self.latency_ms)]
        self._process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"provider simulator exited with {self._process.returncode}")
            try:
                self._call("GET", "/_sim/health")
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"provider simulator did not answer on {self.url}")

    def add_fault(self, spec: dict[str, Any]) -> None:
        """Queue a fault (``POST /_sim/faults``)."""
        self._call("POST", "/_sim/faults", spec)

    def clear_faults(self, provider: str | None = None) -> None:
        """Clear one provider's faults (``count: 0``), or all of them."""
        for name in [provider] if provider else ["openai", "azure"]:
            self._call("POST", "/_sim/faults", {"provider": name, "count": 0})

    def requests(self) -> list[dict[str, Any]]:
        """The simulator's request log."""
        return list(self._call("GET", "/_sim/requests") or [])

    def reset(self) -> None:
        """Clear faults and the request log."""
        self._call("POST", "/_sim/reset")

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL)."""
        process, self._process = self._process, None
        terminate(process)


def start_simulator(mode: Literal["thread", "process"] = "thread", latency_ms: int = 0) -> SimulatorHandle:
    """A started provider simulator on a free port."""
    if mode == "process":
        return SimulatorProcess(latency_ms=latency_ms).start()
    sim = ProviderSimulator("127.0.0.1", 0, latency_ms)
    sim.start()
    return sim
