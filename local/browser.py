"""Headless Chromium for the browser tests, found or installed on demand (as local/redis_server.py finds Redis).

Playwright drives it, but its own browser download cannot work here (no internet beyond the package
registries), so the tests run Debian's ``chromium`` package through ``executable_path``. Where it
comes from, in order: ``CHROMIUM`` (a path), ``chromium`` on ``PATH``, then, as root with
``apt-get``, ``apt-get install -y chromium`` (``apt-get update`` first if needed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

_BINARIES = ("chromium", "chromium-browser")
# No sandbox (we may be root in a container), nothing fetched or synced behind the test's back.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _which() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return next((found for name in _BINARIES if (found := shutil.which(name))), None)


def _apt_install() -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(install, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], **quiet)
        subprocess.run(install, **quiet)


def find_chromium() -> str:
    """A runnable Chromium, installing Debian's package if that is the only way."""
    binary = _which()
    if binary is None:
        _apt_install()
        binary = _which()
    if binary is None:
        raise RuntimeError("No Chromium: set CHROMIUM=/path/to/chromium, or install Debian's chromium package")
    return binary


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium, closed afterwards.

    Playwright's ``launch`` gives Chromium a fresh ``--user-data-dir`` of its own (a temporary
    directory it removes), so no profile carries over between runs; each test opens its own context.
    """
    from playwright.sync_api import sync_playwright  # a dev dependency: only the browser tests need it

    binary = find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, headless=True, args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()
