"""A campaign service over scripted providers and in-memory stores, and the request it serves."""

from __future__ import annotations

from shared.campaigns.models import CampaignRequest
from shared.campaigns.service import CampaignService
from shared.core.identity import Caller
from shared.core.pricing import PriceTable
from shared.ledger.ledger import CostLedger
from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE
from tests.support.fakes import (
    InMemoryCostStore,
    InMemoryWorkflowStore,
    scripted_router,
)

CALLER = Caller(user_id="u1", tenant="t1")


NOW = 1_800_000_000.0


REQUEST = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "fitness"})


def service(openai=(), azure=(), costs=None):
    prices = PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS)
    router = scripted_router(DEFAULT_ROUTING_TABLE, prices, openai, azure)
    store = InMemoryWorkflowStore()
    ids = iter(f"wf_{n:032x}" for n in range(1, 100))
    svc = CampaignService(
        router,
        store,
        500,
        30,
        costs=costs or CostLedger(InMemoryCostStore()),
        clock=lambda: NOW,
        new_id=lambda: next(ids),
    )
    return svc, store
