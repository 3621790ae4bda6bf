"""The budget guard over the hard caps and reservations."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.budgets.guard import BudgetGuard


from shared.wiring.alerts import threshold_store
from shared.wiring.aws import dynamodb_client
from shared.wiring.ledger import cost_ledger
from shared.wiring.routing import price_table, provider_router


@lru_cache(maxsize=1)
def budget_guard() -> BudgetGuard:
    """Hard monthly caps: each capped user's calls reserve before and settle after (see shared/budgets/guard.py)."""
    from shared.budgets.caps import CachedHardCaps
    from shared.budgets.guard import BudgetGuard, ledger_month_spend
    from shared.budgets.store import DynamoBudgetStore

    settings = get_settings()
    return BudgetGuard(
        caps=CachedHardCaps(threshold_store(), settings.budget_cap_cache_s),
        store=DynamoBudgetStore(settings.cost_table_name, dynamodb_client()),
        routes=provider_router(),
        prices=price_table(),
        month_spend=ledger_month_spend(cost_ledger()),
    )
