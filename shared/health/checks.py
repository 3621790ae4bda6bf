"""The health check: each dependency probed cheaply (no token-spending call), with its latency.

Providers are judged by their circuits' shared state, which every container keeps current, rather
than by a live call: a probe per health request would cost money and tell less.

The route is public, so :class:`HealthCheck` answers from a short per-container cache: within
``ttl_s`` every caller gets the same report and no dependency is touched again; one caller probes
when it expires while concurrent callers wait for its answer rather than probing too. The probes
reuse the container's clients (one Redis connection pool, the same AWS clients), never a new
connection per call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from shared.core.observability import logger

CheckStatus = Literal["healthy", "degraded", "unhealthy", "not_configured"]
OverallStatus = Literal["healthy", "degraded", "unhealthy"]

# Without these the service cannot work at all; anything else only degrades it.
CRITICAL_CHECKS = ("database",)
PROVIDER_CHECKS = ("azureProvider", "openaiProvider")
STATE_TO_STATUS: dict[str, CheckStatus] = {"CLOSED": "healthy", "HALF_OPEN": "degraded", "OPEN": "unhealthy"}


class NotConfiguredError(Exception):
    """The dependency is not configured in this deployment."""


@dataclass(frozen=True)
class CheckResult:
    """One dependency's status, how long the probe took, and why when not healthy."""

    status: CheckStatus
    latency_ms: float
    detail: str | None = None

    def as_dict(self) -> dict:
        """The check as the API shows it."""
        body: dict = {"status": self.status, "latencyMs": round(self.latency_ms, 1)}
        if self.detail:
            body["detail"] = self.detail
        return body


Probe = Callable[[], CheckStatus | None]


def run_check(probe: Probe) -> CheckResult:
    """Run one probe: ``None`` or a status on return, ``unhealthy`` on any error."""
    started = time.perf_counter()
    try:
        status = probe() or "healthy"
        detail = None
    except NotConfiguredError as exc:
        status, detail = "not_configured", str(exc)
    except Exception as exc:  # a health check reports failures, it does not raise them
        logger.warning("health check failed", extra={"error": repr(exc)})
        status, detail = "unhealthy", type(exc).__name__
    return CheckResult(status, (time.perf_counter() - started) * 1000, detail)


def overall_status(checks: Mapping[str, CheckResult]) -> OverallStatus:
    """Unhealthy when a critical check or every provider is down; degraded when anything else is off."""
    if any(checks[name].status == "unhealthy" for name in CRITICAL_CHECKS if name in checks):
        return "unhealthy"
    providers = [checks[name].status for name in PROVIDER_CHECKS if name in checks]
    if providers and all(status == "unhealthy" for status in providers):
        return "unhealthy"
    if any(result.status in ("unhealthy", "degraded") for result in checks.values()):
        return "degraded"
    return "healthy"


def circuits_status(states: Sequence[str]) -> CheckStatus:
    """A provider is unhealthy when all its circuits are open, degraded when some are not closed."""
    statuses = [STATE_TO_STATUS.get(state, "degraded") for state in states]
    if not statuses:
        raise NotConfiguredError("no route uses this provider")
    if all(status == "unhealthy" for status in statuses):
        return "unhealthy"
    if all(status == "healthy" for status in statuses):
        return "healthy"
    return "degraded"


@dataclass(frozen=True)
class HealthReport:
    """Every check's result and the overall status they add up to."""

    status: OverallStatus
    checks: Mapping[str, CheckResult]


class HealthCheck:
    """Runs every probe at most once per ``ttl_s`` and answers from the last report in between."""

    def __init__(self, probes: Mapping[str, Probe], ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._probes = dict(probes)
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._expires_at = 0.0

    def report(self) -> HealthReport:
        """The cached report while it is fresh, else a new one from every probe."""
        with self._lock:
            if self._report is None or self._clock() >= self._expires_at:
                checks = {name: run_check(probe) for name, probe in self._probes.items()}
                self._report = HealthReport(overall_status(checks), checks)
                self._expires_at = self._clock() + self._ttl_s
            return self._report
