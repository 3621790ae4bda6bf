"""Monthly statements per tenant, over the cost ledger and the costs table."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.billing.statements import Statements


from shared.wiring.ledger import cost_ledger
from shared.wiring.outcomes import outcome_store


@lru_cache(maxsize=1)
def tenant_statements() -> Statements:
    """Live statements for open months, frozen ones for closed months (see shared/billing/statements.py)."""
    from shared.billing.statements import Statements

    ledger = cost_ledger()
    revenue_of = outcome_store().campaign_revenue  # all-time reported outcomes, as on /campaigns/costs
    return Statements(ledger, ledger.store, get_settings().statement_freeze_lag_s, revenue_of)
