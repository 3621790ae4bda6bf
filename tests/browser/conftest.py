"""The browser tier: the dashboard in headless Chromium (Debian's package, installed on first use), on the local API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the tier; each test opens its own context (its own sessionStorage)."""
    from local.browser import headless_chromium

    with headless_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab in a fresh context, failing the test on any script error or blocked resource."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # Console errors too (a CSP violation is one), but not the network log of an answer a test asked for (a 401).
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()
    assert not errors, errors
