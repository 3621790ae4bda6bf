"""The health route's probes, each a cheap read of one dependency (no token is spent).

The composition root hands in the collaborators; what each probe reads and how it is judged
lives here. The queue probe reports each queue's depth, the provider probes each circuit's state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from shared.health.checks import Finding, NotConfiguredError, Probe, circuits_status
from shared.routing.candidates import RouteCandidate

QUEUE_DEPTH_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed")


class Pingable(Protocol):
    """A store that can prove it is reachable with one cheap read."""

    def ping(self) -> None: ...


class Decider(Protocol):
    """The limiter's own script on probe keys: raises when it could not decide."""

    def probe(self) -> None: ...


def dependency_probes(
    *,
    workflows: Pingable,
    limiter: Callable[[], Decider] | None,
    sqs: Callable[[], Any],
    queues: Mapping[str, str],
    providers: Mapping[str, Sequence[RouteCandidate] | None],
    circuit_states: Callable[[Sequence[RouteCandidate]], Mapping[str, str]],
    orchestrator: Probe,
) -> dict[str, Probe]:
    """Every check by name; ``limiter`` None means Redis is not configured, a provider None means no endpoint."""

    def database() -> None:
        workflows.ping()

    def cache() -> None:
        if limiter is None:
            raise NotConfiguredError("REDIS_URL is not set")
        limiter().probe()  # healthy means the limiter can decide, on every shard

    def queue() -> Finding:
        client = sqs()
        depths = {}
        for label, name in queues.items():
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_DEPTH_ATTRIBUTES))
            depths[label] = sum(int(attributes["Attributes"].get(a, 0)) for a in QUEUE_DEPTH_ATTRIBUTES)
        return Finding("healthy", {"depths": depths})

    def provider(name: str, candidates: Sequence[RouteCandidate] | None) -> Probe:
        def probe() -> Finding:
            if candidates is None:
                raise NotConfiguredError(f"{name} is not configured")
            states = dict(sorted(circuit_states(candidates).items()))
            return Finding(circuits_status(list(states.values())), {"circuits": states})

        return probe

    probes: dict[str, Probe] = {"database": database, "orchestrator": orchestrator, "cache": cache, "queue": queue}
    for name, candidates in providers.items():
        probes[f"{name}Provider"] = provider(name, candidates)
    return probes
