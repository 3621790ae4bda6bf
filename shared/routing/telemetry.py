"""CloudWatch metrics (EMF) about routing and costs: latency, tokens, cost, fallbacks, by provider and model.

Per-call figures carry three dimension sets in one EMF blob: (provider, model) for detail,
(provider) for the dashboard's spend by provider, and (service) alone for the spend-rate alarm,
which cannot use a SEARCH expression.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.core.observability import NAMESPACE, SERVICE, metrics
from shared.core.pricing import CallCost, micros_to_usd
from shared.routing.types import RoutingOutcome


def record_routing(outcome: RoutingOutcome) -> None:
    """Counters of the whole request; flushed with the handler's metrics."""
    metrics.add_metric(name="ProviderAttempts", unit=MetricUnit.Count, value=len(outcome.attempts))
    metrics.add_metric(name="Fallbacks", unit=MetricUnit.Count, value=len(outcome.fallback_reasons))
    metrics.add_metric(name="OrchestratorOverhead", unit=MetricUnit.Milliseconds, value=outcome.overhead_ms)
    for reason in outcome.fallback_reasons:
        if reason.endswith(":unpriced_model"):
            metrics.add_metric(name="UnpricedModel", unit=MetricUnit.Count, value=1)
        # A reason is "<provider>:<model>:<why>"; the model itself may contain ":" (fine-tuned names).
        provider, _, rest = reason.partition(":")
        model = rest.rpartition(":")[0]
        if model:
            fallback = _per_call_metrics(provider, model, service_total=False)  # the total is just above
            fallback.add_metric(name="Fallbacks", unit=MetricUnit.Count, value=1)
            fallback.flush_metrics()


def record_served_call(provider: str, model: str, latency_ms: float, cost: CallCost) -> None:
    """Per (provider, model) figures of the call that served, in their own EMF blob for the dimensions."""
    served = _per_call_metrics(provider, model)
    served.add_metric(name="ProviderLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    served.add_metric(name="Tokens", unit=MetricUnit.Count, value=cost.total_tokens)
    served.add_metric(name="InputTokens", unit=MetricUnit.Count, value=cost.input_tokens)
    served.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=cost.output_tokens)
    served.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=float(micros_to_usd(cost.micros)))
    served.flush_metrics()


def record_cost_failure(stage: str) -> None:
    """A billed call the ledger could not record (``record``) or a threshold check that failed (``alert``)."""
    name = "CostRecordFailures" if stage == "record" else "CostAlertFailures"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def record_cost_alert(threshold: str) -> None:
    """A threshold alert this container sent (there is one per threshold and period across all containers)."""
    metrics.add_metric(name=f"CostAlertsSent{threshold.capitalize()}", unit=MetricUnit.Count, value=1)


def _per_call_metrics(provider: str, model: str, service_total: bool = True) -> EphemeralMetrics:
    """An EMF blob by (provider, model), also aggregated by provider and (optionally) by service alone."""
    blob = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    blob.add_dimension(name="provider", value=provider)
    blob.add_dimension(name="model", value=model)
    blob.add_dimensions(provider=provider, service=SERVICE)
    if service_total:
        blob.add_dimensions(service=SERVICE)
    return blob
