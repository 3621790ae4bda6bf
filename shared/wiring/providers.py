"""Imported at init by the functions that call providers, so SnapStart's snapshot already holds the SDK."""

import shared.routing.clients  # noqa: F401
