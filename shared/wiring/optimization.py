"""The cost optimizer over the ledger and the routing overrides."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.optimization.service import CostOptimizer


from shared.wiring.ledger import cost_ledger
from shared.wiring.routing import price_table, routing_override_store


@lru_cache(maxsize=1)
def cost_optimizer() -> CostOptimizer:
    """Recommendations from the ledger's counters; applied and reverted through the routing overrides."""
    from shared.optimization.optimizer import OptimizationPolicy, load_downgrades
    from shared.optimization.service import CostOptimizer

    settings = get_settings()
    policy = OptimizationPolicy(
        downgrades=load_downgrades(),
        azure_deployments=settings.azure_deployments,
        fallback_share=settings.optimization_fallback_share,
        min_calls=settings.optimization_min_calls,
    )
    return CostOptimizer(cost_ledger().store, routing_override_store(), settings.routing_table, price_table(), policy)
