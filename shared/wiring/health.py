"""The health check's probes over this container's collaborators."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings
from shared.health.checks import (
    HealthCheck,
    Probe,
)
from shared.wiring.routing import circuit_states, price_table
from shared.wiring.sending import sliding_limiter

if TYPE_CHECKING:
    pass


from shared.wiring.aws import aws_client
from shared.wiring.campaigns import workflow_store
from shared.wiring.routing import rollout_gate, served_routing_table


@lru_cache(maxsize=1)
def health_check() -> HealthCheck:
    """Every dependency's probe behind the container's short health cache."""
    return HealthCheck(health_probes(), get_settings().health_cache_s)


def health_probes() -> dict[str, Probe]:
    """The health check's probes over this container's collaborators."""
    from shared.health.checks import orchestrator_probe
    from shared.health.probes import dependency_probes

    settings = get_settings()
    return dependency_probes(
        workflows=workflow_store(),
        limiter=sliding_limiter if settings.redis_url else None,
        sqs=lambda: aws_client("sqs"),
        queues={"workflows": settings.workflows_queue_name, "messages": settings.messages_queue_name},
        providers={
            "azure": settings.candidates_of("azure") if settings.azure_openai_endpoint else None,
            "openai": settings.candidates_of("openai"),
        },
        circuit_states=circuit_states,
        orchestrator=orchestrator_probe(
            served_routing_table(), price_table, circuit_states, lambda: rollout_gate().probe()
        ),
    )
