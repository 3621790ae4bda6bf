"""A request reads its route once: one GetItem of the routing overrides per campaign, counted on the wire.

The budget (for a capped user) and the router both need the route's candidates; a fan campaign
needs them for every fan. The campaign service reads them once and hands them on. Each campaign runs in a
fresh container (nothing held yet), so its one read is a DynamoDB GetItem; a warm container reads them
again only when the published version moved (tests/integration/routing/test_override_versions_redis.py).
"""

from __future__ import annotations

import time
import uuid

import pytest

from local.request_counter import RequestCounter
from shared.alerts.thresholds import SpendThreshold, new_threshold_id
from shared.campaigns.models import CampaignRequest
from shared.core.identity import Caller
from shared.routing.deadline import Deadline
from shared.routing.overrides import CURRENT_KEY
from shared.wiring import container

CAPTION = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "one read"})


@pytest.fixture
def fresh_container(local_stack):
    container.clear_caches()
    yield container
    container.clear_caches()


def overrides_reads(counter: RequestCounter) -> int:
    return counter.gets[CURRENT_KEY[0]]


def test_a_campaign_reads_the_overrides_once_with_or_without_a_hard_cap(fresh_container, sim) -> None:
    capped = f"route-once-capped-{uuid.uuid4().hex[:8]}"
    cap = SpendThreshold(new_threshold_id(), "user", capped, capped, "monthly", 10**9, "block", "admin", time.time())
    container.threshold_store().put(cap)
    for user in (f"route-once-{uuid.uuid4().hex[:8]}", capped):
        container.clear_caches()
        service = container.campaign_service()
        counter = RequestCounter(container.dynamodb_client())
        run = service.run(CAPTION, Caller(user_id=user), Deadline(25))
        assert run.workflow.status == "completed"
        assert overrides_reads(counter) == 1, (user, dict(counter.gets))


def test_a_fan_campaign_reads_the_overrides_once_for_all_its_fans(fresh_container, sim) -> None:
    user, account = f"route-once-fans-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:10]}"
    admin = Caller(user_id="route-once-admin", is_admin=True)
    container.creator_account_service().link(admin, account, [user])
    fans = [f"fan-{n}" for n in range(6)]
    request = CampaignRequest(
        type="fan_messages", platforms=["onlyfans"], data={"accountId": account, "recipients": fans, "theme": "hi"}
    )
    service = container.fan_campaign_service()
    counter = RequestCounter(container.dynamodb_client())
    run = service.run(request, Caller(user_id=user), Deadline(25))
    assert run.counts.queued == len(fans)
    assert overrides_reads(counter) == 1, dict(counter.gets)
