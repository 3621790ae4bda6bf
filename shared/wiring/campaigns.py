"""The campaign use cases and their stores."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.campaigns.workflows import DynamoWorkflowStore
from shared.config.settings import get_settings
from shared.sending.message_states import DynamoMessageStates

if TYPE_CHECKING:
    from shared.campaigns.async_jobs import AsyncCampaigns
    from shared.campaigns.dispatch import CampaignDispatcher
    from shared.campaigns.fan_messages import FanCampaignService
    from shared.campaigns.service import CampaignService
    from shared.campaigns.status import WorkflowReader


from shared.wiring.aws import dynamodb_client, once_guard, queue
from shared.wiring.budgets import budget_guard
from shared.wiring.creator_accounts import creator_account_service
from shared.wiring.experiments import route_chooser
from shared.wiring.ledger import cost_tracker
from shared.wiring.routing import provider_router, rollout_gate


@lru_cache(maxsize=1)
def workflow_store() -> DynamoWorkflowStore:
    """The workflows table."""
    return DynamoWorkflowStore(get_settings().workflows_table_name, dynamodb_client())


@lru_cache(maxsize=1)
def campaign_dispatcher() -> CampaignDispatcher:
    """The campaign route's use case over the container's services."""
    from shared.campaigns.dispatch import CampaignDispatcher

    return CampaignDispatcher(rollout_gate(), async_campaigns(), campaign_service(), fan_campaign_service())


@lru_cache(maxsize=1)
def workflow_reader() -> WorkflowReader:
    """The status route's use case."""
    from shared.campaigns.status import WorkflowReader

    return WorkflowReader(workflow_store(), message_states())


@lru_cache(maxsize=1)
def campaign_service() -> CampaignService:
    """Campaigns over the real router and workflow table."""
    from shared.campaigns.service import CampaignService

    settings = get_settings()
    return CampaignService(
        router=provider_router(),
        workflows=workflow_store(),
        max_output_tokens=settings.max_output_tokens,
        ttl_days=settings.workflow_ttl_days,
        costs=cost_tracker(),
        budget=budget_guard(),
        routes=route_chooser(),
    )


@lru_cache(maxsize=1)
def fan_campaign_service() -> FanCampaignService:
    """fan_messages campaigns: generation through the router, messages onto the rate-limited queue."""
    from shared.campaigns.fan_messages import FanCampaignService

    settings = get_settings()
    return FanCampaignService(
        campaigns=campaign_service(),
        router=provider_router(),
        workflows=workflow_store(),
        queue=queue(settings.messages_queue_name),
        accounts=creator_account_service(),
        messages=message_states(),
        max_output_tokens=settings.max_output_tokens,
        concurrency=settings.fan_generation_concurrency,
        sync_max_recipients=settings.fan_sync_max_recipients,
    )


@lru_cache(maxsize=1)
def async_campaigns() -> AsyncCampaigns:
    """Async submission (campaign function) and execution (workflow runner)."""
    from shared.campaigns.async_jobs import AsyncCampaigns

    settings = get_settings()
    return AsyncCampaigns(
        campaigns=campaign_service(),
        fans=fan_campaign_service(),
        workflows=workflow_store(),
        queue=queue(settings.workflows_queue_name),
        once=once_guard(),
        margin_s=settings.deadline_margin_s,
    )


@lru_cache(maxsize=1)
def message_states() -> DynamoMessageStates:
    """Each fan's message of a workflow (the workflows table)."""
    return DynamoMessageStates(get_settings().workflows_table_name, dynamodb_client())
