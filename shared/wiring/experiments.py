"""Routing experiments: the request path's route chooser and the admin routes' service."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.experiments.assignment import RouteChooser
    from shared.experiments.service import ExperimentService


from shared.wiring.aws import dynamodb_client
from shared.wiring.ledger import cost_ledger
from shared.wiring.optimization import cost_optimizer
from shared.wiring.outcomes import outcome_store
from shared.wiring.routing import (
    override_version_board,
    price_table,
    provider_router,
    route_overrides,
    routing_override_store,
)


@lru_cache(maxsize=1)
def route_chooser() -> RouteChooser:
    """Each campaign request's route, from the one (cached) read of the routing overrides' current item."""
    from shared.experiments.assignment import RouteChooser

    return RouteChooser(provider_router(), route_overrides())


@lru_cache(maxsize=1)
def experiment_service() -> ExperimentService:
    """Experiments in the costs table, each write's new overrides version published on the version board when
    there is one (containers with a board re-read the overrides only when it moves); results from the ledger's
    variant counters and the reported outcomes."""
    from shared.experiments.results import ResultsReader
    from shared.experiments.service import ExperimentService
    from shared.experiments.store import DynamoExperimentStore

    settings = get_settings()
    board = override_version_board()
    store = DynamoExperimentStore(
        settings.cost_table_name,
        dynamodb_client(),
        routing_override_store(),
        announce=None if board is None else board.offer,
    )
    results = ResultsReader(cost_ledger().store, outcome_store())
    return ExperimentService(store, settings.routing_table, price_table(), results, cost_optimizer())
