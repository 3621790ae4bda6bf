"""CloudWatch metrics (EMF) about routing: latency, tokens, cost, fallbacks, by provider and model."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.observability import NAMESPACE, SERVICE, metrics
from shared.pricing import CallCost, micros_to_usd
from shared.providers.types import RoutingOutcome


def record_routing(outcome: RoutingOutcome) -> None:
    """Counters of the whole request; flushed with the handler's metrics."""
    metrics.add_metric(name="ProviderAttempts", unit=MetricUnit.Count, value=len(outcome.attempts))
    metrics.add_metric(name="Fallbacks", unit=MetricUnit.Count, value=len(outcome.fallback_reasons))
    metrics.add_metric(name="OrchestratorOverhead", unit=MetricUnit.Milliseconds, value=outcome.overhead_ms)
    for reason in outcome.fallback_reasons:
        if reason.endswith(":unpriced_model"):
            metrics.add_metric(name="UnpricedModel", unit=MetricUnit.Count, value=1)


def record_served_call(provider: str, model: str, latency_ms: float, cost: CallCost) -> None:
    """Per (provider, model) figures of the call that served, in their own EMF blob for the dimensions."""
    served = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    served.add_dimension(name="provider", value=provider)
    served.add_dimension(name="model", value=model)
    served.add_metric(name="ProviderLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    served.add_metric(name="Tokens", unit=MetricUnit.Count, value=cost.total_tokens)
    served.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=float(micros_to_usd(cost.micros)))
    served.flush_metrics()
