"""Stopping the local services' child processes the same way everywhere."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen | None, timeout_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout_s``; nothing if it already exited."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
