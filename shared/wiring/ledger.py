"""The cost ledger and the campaign path's recorder."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.campaigns.cost_tracker import CostTracker
    from shared.ledger.ledger import CostLedger


from shared.wiring.aws import dynamodb_client


@lru_cache(maxsize=1)
def cost_ledger() -> CostLedger:
    """The cost ledger over the costs table."""
    from shared.ledger.ledger import CostLedger
    from shared.ledger.store import DynamoCostStore

    settings = get_settings()
    store = DynamoCostStore(settings.cost_table_name, dynamodb_client())
    return CostLedger(store, settings.cost_event_ttl_days)


@lru_cache(maxsize=1)
def cost_tracker() -> CostTracker:
    """Records every billed call: one conditional PutItem (counters and alerts come from the stream)."""
    from shared.campaigns.cost_tracker import CostTracker

    return CostTracker(cost_ledger())
