"""``python -m local.run`` as ``make run`` starts it, in a process of its own, for the tests that need the real thing.

The stack's output goes to a file the test reads; :func:`served_local_run` waits until the health
route answers and the banner is out, and stops the process (SIGTERM, as Ctrl-C's handler does) when the block ends.
:func:`kill_hard` is the crash instead: SIGKILL for the process and every process it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from local.redis_server import free_port
from local.template import REPO_ROOT
from tests.conftest import ApiClient

BANNER_END = "Ctrl-C stops everything."  # the banner's last line: everything it reports has happened


@dataclass
class ServedStack:
    """A running ``local.run``: its API, its process and where its output goes."""

    api: ApiClient
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """Everything the process printed so far (the banner, request lines, its last words)."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, as Ctrl-C's handler does, and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


@contextlib.contextmanager
def served_local_run(env: Mapping[str, str], log_path: Path, timeout_s: float = 120.0) -> Iterator[ServedStack]:
    """Start ``local.run`` on a free port with ``env`` over this environment; stopped (SIGTERM) afterwards."""
    port = free_port()
    environ = {**os.environ, "PORT": str(port), "SIM_LATENCY_MS": "0", "PYTHONUNBUFFERED": "1", **env}
    environ.pop("REDIS_URL", None)  # its own Redis, as `make run` has (a session's Redis is not its to keep)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run"], cwd=REPO_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT
        )
    served = ServedStack(ApiClient(f"http://127.0.0.1:{port}"), process, log_path)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{served.api.url}/api/health/hybrid-orchestrator", timeout=2)
                if BANNER_END in served.output():
                    break
                raise OSError("no banner yet")
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(served.output()[-3000:]) from None
                time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            served.stop()


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and, first, every process it started (moto and Redis run in groups of their own)."""
    for child in _descendants(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    process.kill()
    process.wait(timeout=30)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *_descendants(int(child))]
    return found
