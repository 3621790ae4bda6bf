"""Campaign outcomes: the store over the costs table, and the route's use case."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings
from shared.wiring.aws import dynamodb_client

if TYPE_CHECKING:
    from shared.outcomes.service import OutcomeService
    from shared.outcomes.store import DynamoOutcomeStore


@lru_cache(maxsize=1)
def outcome_store() -> DynamoOutcomeStore:
    """Outcomes, messages' revenue and the campaign and variant totals, in the costs table."""
    from shared.outcomes.store import DynamoOutcomeStore

    return DynamoOutcomeStore(get_settings().cost_table_name, dynamodb_client())


@lru_cache(maxsize=1)
def outcome_service() -> OutcomeService:
    """The outcomes route's use case over the workflows table and the outcome store."""
    from shared.outcomes.service import OutcomeService
    from shared.outcomes.workflow_targets import DynamoWorkflowTargets

    targets = DynamoWorkflowTargets(get_settings().workflows_table_name, dynamodb_client())
    return OutcomeService(targets, outcome_store())
