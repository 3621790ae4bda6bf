"""Retrying an HTTP call within a deadline: the backoff policy and the server's ``Retry-After``.

The provider router (``shared.routing.router``) and the Slack webhook poster
(``shared.alerts.slack_webhook``) retry the same way: full-jitter exponential backoff after a 5xx or a
lost connection, a 429 waiting what ``Retry-After`` asks when that fits ``retry_after_max_s`` and the time
left, and no attempt started with less than :data:`MIN_ATTEMPT_S` to go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Below this, an attempt could not get an answer back in time: don't start it.
MIN_ATTEMPT_S = 0.05


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long each may take, and how long to wait between them."""

    max_attempts: int = 2
    attempt_timeout_s: float = 10.0
    backoff_base_s: float = 0.2
    backoff_max_s: float = 2.0
    retry_after_max_s: float = 5.0

    def backoff_s(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        return rng() * min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))


def retry_after_s(headers: object) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` wins over ``retry-after``), if it said."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = get(name)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            continue
    return None
