"""The health check: each dependency probed cheaply (no token-spending call), with its latency.

Providers are judged by their circuits' shared state, which every container keeps current, rather
than by a live call: a probe per health request would cost money and tell less.

The ``orchestrator`` check asks whether the orchestrator itself can route: the price table loads,
every candidate of the routing table it serves is priced (an Azure deployment mapped to a base
model: the router's own cold-start check), each circuit's state is readable (and listed), and the
rollout gate can evaluate the flags. A route left without any priced candidate makes it unhealthy;
some unpriced candidate, or flags the gate cannot read (it then sends everyone to legacy), degrade it.

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
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.core.observability import logger
from shared.core.pricing import PriceTable
from shared.routing.candidates import RouteCandidate, unpriced_candidates

CheckStatus = Literal["healthy", "degraded", "unhealthy", "not_configured"]
OverallStatus = Literal["healthy", "degraded", "unhealthy"]

# Without these the service cannot work at all; anything else only degrades it.
CRITICAL_CHECKS = ("database", "orchestrator")
PROVIDER_CHECKS = ("azureProvider", "openaiProvider")
STATE_TO_STATUS: dict[str, CheckStatus] = {"CLOSED": "healthy", "HALF_OPEN": "degraded", "OPEN": "unhealthy"}


class NotConfiguredError(Exception):
    """The dependency is not configured in this deployment."""


@dataclass(frozen=True)
class Finding:
    """What a probe saw, when it has more to say than a status: shown beside it (camelCase keys)."""

    status: CheckStatus
    facts: Mapping[str, Any] = field(default_factory=dict)
    detail: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """One dependency's status, how long the probe took, why when not healthy, and what the probe saw."""

    status: CheckStatus
    latency_ms: float
    detail: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The check as the API shows it."""
        body: dict = {"status": self.status, "latencyMs": round(self.latency_ms, 1), **self.facts}
        if self.detail:
            body["detail"] = self.detail
        return body


Probe = Callable[[], CheckStatus | Finding | None]


def run_check(probe: Probe) -> CheckResult:
    """Run one probe: ``None``, a status or a finding on return, ``unhealthy`` on any error."""
    started = time.perf_counter()
    facts: Mapping[str, Any] = {}
    detail = None
    try:
        outcome = probe() or "healthy"
        if isinstance(outcome, Finding):
            status, facts, detail = outcome.status, outcome.facts, outcome.detail
        else:
            status = outcome
    except NotConfiguredError as exc:
        status, detail = "not_configured", str(exc)
    except Exception as exc:  # a health check reports failures, it does not raise them
        logger.warning("health check failed", extra={"error": repr(exc)})
        status, detail = "unhealthy", type(exc).__name__
    return CheckResult(status, (time.perf_counter() - started) * 1000, detail, facts)


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


def orchestrator_probe(
    routing_table: Mapping[str, Sequence[RouteCandidate]],
    prices: Callable[[], PriceTable],
    circuit_states: Callable[[Sequence[RouteCandidate]], Mapping[str, str]],
    evaluate_flags: Callable[[], object],
) -> Probe:
    """The orchestrator's own readiness: prices, routes, circuits and flags (see the module's notes)."""

    def probe() -> Finding:
        unpriced = unpriced_candidates(routing_table, prices())
        skipped = {(u.route, u.candidate.circuit_name) for u in unpriced}
        stranded = sorted(
            route
            for route, candidates in routing_table.items()
            if all((route, c.circuit_name) in skipped for c in candidates)
        )
        distinct = {c.circuit_name: c for candidates in routing_table.values() for c in candidates}
        circuits = dict(sorted(circuit_states(list(distinct.values())).items()))
        problems = [f"{u.route}: {u.error}" for u in unpriced]
        try:
            evaluate_flags()
            flags = "readable"
        except Exception as exc:  # the gate would fail safe to legacy: worth saying, not worth a 503
            flags = "unreadable"
            problems.append(f"flags: {type(exc).__name__}")
        facts = {"routes": len(routing_table), "circuits": circuits, "flags": flags}
        if unpriced:
            facts["unpriced"] = sorted({f"{u.route}:{u.candidate.circuit_name}" for u in unpriced})
        status: CheckStatus = "unhealthy" if stranded else "degraded" if problems else "healthy"
        return Finding(status, facts, "; ".join(problems) or None)

    return probe


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
