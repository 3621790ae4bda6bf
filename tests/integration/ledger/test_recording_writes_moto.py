"""What the campaign functions' IAM condition allows is what their code writes: a campaign recorded through
the container's real CampaignService (the ledger's one Put, a hard cap's budget guard, and thresholds with a
rule that the call crosses) against the moto server, every costs-table write it makes watched on the botocore
client, compared with ``RECORDING_WRITE_PREFIXES`` — the list stacks/functions.py turns into
``dynamodb:LeadingKeys`` patterns (tests/infra/api/test_trust_infra.py checks that side). No counter, marker or
alert history is written on this path: those are the stream aggregator's (``AGGREGATOR_WRITE_PREFIXES``)."""

from __future__ import annotations

import secrets
import time
import uuid
from decimal import Decimal
from fnmatch import fnmatchcase

import pytest

from shared.alerts.rules import AlertRule, new_rule_id
from shared.alerts.thresholds import SpendThreshold, new_threshold_id, tenant_owner
from shared.campaigns.models import CampaignRequest
from shared.config.settings import get_settings
from shared.core.identity import Caller
from shared.ledger.keys import AGGREGATOR_WRITE_PREFIXES, RECORDING_WRITE_PREFIXES
from shared.routing.deadline import Deadline
from shared.wiring import container
from tests.support.factories import event
from tests.support.written_keys import watching_writes

DAY_S = 86_400
CAPTION = CampaignRequest(type="caption", platforms=["instagram"], data={"theme": "least privilege"})


def seed_history(user_id: str, now: float, days: int = 10, micros: int = 1_000_000) -> None:
    """$1 a day on the previous days: enough history for a month-end projection."""
    for back in range(1, days + 1):
        container.cost_ledger().record(
            event(
                micros=micros,
                user=user_id,
                at=now - back * DAY_S,
                request_id=f"seed-{user_id}-{back}",
                campaign_id=f"wf_seed_{user_id}",
                input_tokens=100,
                output_tokens=50,
            )
        )


def put_threshold(user_id: str, period: str, micros: int, action: str = "alert") -> SpendThreshold:
    threshold = SpendThreshold(
        new_threshold_id(),
        "user",
        user_id,
        user_id,
        period,
        micros,
        action,
        "admin",
        time.time(),  # type: ignore[arg-type]
    )
    container.threshold_store().put(threshold)
    return threshold


@pytest.fixture
def recording_container(local_stack, monkeypatch):
    """A fresh container whose settings' daily threshold is a few micro-dollars, below one call's cost (and
    unusual enough that no other test crossed it today: its marker is new), and whose forecast check would
    run for every batch: none of it may happen on the campaign path."""
    monkeypatch.setenv("DAILY_COST_THRESHOLD_USD", str(Decimal(1 + secrets.randbelow(9)) / 1_000_000))
    monkeypatch.setenv("FORECAST_CHECK_INTERVAL_S", "0")
    container.clear_caches()
    yield container
    monkeypatch.undo()
    container.clear_caches()


def test_recording_a_campaign_writes_exactly_the_recording_prefixes(recording_container, sim) -> None:
    settings = get_settings()
    user, now = f"prefixes-{uuid.uuid4().hex[:12]}", time.time()
    # Set-up an admin or the owner would do (other functions, other permissions): history, thresholds, a rule.
    seed_history(user, now)
    put_threshold(user, "monthly", 10**9, action="block")  # a hard cap: the budget guard reserves and settles
    tenant = f"{user}-tenant"
    container.threshold_store().put(  # and the tenant's cap: held on both budgets in one transaction
        SpendThreshold(
            new_threshold_id(), "tenant", tenant, tenant_owner(tenant), "monthly", 10**9, "block", "admin", now
        )
    )
    daily = put_threshold(user, "daily", 1)  # crossed by the first call: marker, rule window, history
    container.alert_rule_store().put_rule(
        AlertRule(new_rule_id(), daily.threshold_id, user, "email", created_by=user, created_at=now, updated_at=now)
    )
    container.clear_caches()  # a new container: nothing cached from the set-up

    service = container.campaign_service()
    # The clients the built service really holds: a stream poller thread of this session may have raced the
    # container's client cache after clear_caches(), so the cached client alone is not proof.
    clients = (container.dynamodb_client(), container.cost_ledger().store._client)
    with watching_writes(clients, settings.cost_table_name) as written:
        run = service.run(CAPTION, Caller(user_id=user, tenant=tenant), Deadline(25))

    assert run.workflow.status == "completed", run
    outside = [key for key in written if not any(fnmatchcase(key, f"{p}*") for p in RECORDING_WRITE_PREFIXES)]
    assert outside == []  # nothing the IAM condition would refuse
    unused = [p for p in RECORDING_WRITE_PREFIXES if not any(key.startswith(p) for key in written)]
    assert unused == []  # and nothing it allows that recording does not need
    assert not any(key.startswith(p) for key in written for p in AGGREGATOR_WRITE_PREFIXES)
