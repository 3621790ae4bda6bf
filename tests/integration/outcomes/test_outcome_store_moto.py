"""The outcome store's transaction against the moto server: idempotent, and exact under concurrent outcomes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.core.identity import Caller
from shared.outcomes.model import ReportedOutcome
from shared.outcomes.service import OutcomeService
from shared.outcomes.store import DynamoOutcomeStore
from shared.outcomes.workflow_targets import WorkflowTarget
from tests.support.outcome_fakes import InMemoryWorkflowTargets

FANS = WorkflowTarget("wf_fans", "u1", "fan_messages", ("fan-1", "fan-2"), experiment="exp1", variant="A")
OWNER = Caller(user_id="u1")
NANOS = 1_000_000_000


def new_service(table) -> tuple[OutcomeService, DynamoOutcomeStore]:
    store = DynamoOutcomeStore(table.name, table.stack.moto.client("dynamodb"))
    return OutcomeService(InMemoryWorkflowTargets(FANS), store), store


def test_one_outcome_writes_the_outcome_message_campaign_and_variant(table):
    service, store = new_service(table)
    stored, created = service.report(OWNER, ReportedOutcome("wf_fans", "o1", "fan-1", 2 * NANOS, 1))
    assert created and service.report(OWNER, ReportedOutcome("wf_fans", "o1", "fan-1", 2 * NANOS, 1)) == (
        stored,
        False,
    )
    assert store.get_outcome("wf_fans", "fan-1", "o1") == stored
    assert store.campaign_revenue(["wf_fans"])["wf_fans"].revenue_nanos == 2 * NANOS
    totals = store.variant_totals("exp1")["A"]
    assert (totals.messages_with_outcome, totals.revenue_nanos, totals.revenue_squares) == (1, 2 * NANOS, 4e18)
    assert (totals.replies, totals.messages_replied) == (1, 1)
    keys = {
        (item["pk"]["S"], item["sk"]["S"])
        for item in table.stack.moto.client("dynamodb").scan(TableName=table.name)["Items"]
    }
    assert keys == {
        ("OUTCOME#wf_fans", "OUT#fan-1#o1"),
        ("OUTCOME#wf_fans", "MSG#fan-1"),
        ("OUTCOME#wf_fans", "TOTAL"),
        ("OUTCOMEVAR#exp1", "A"),
    }


def test_concurrent_outcomes_of_one_message_keep_the_sum_of_squares_exact(table):
    """Twenty outcomes of 1..20 USD on one message, from eight threads (each its own client, like containers)."""
    reports = [ReportedOutcome("wf_fans", f"o{i}", "fan-1", i * NANOS, None) for i in range(1, 21)]
    services = [new_service(table)[0] for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda pair: pair[1].report(OWNER, pair[0]), zip(reports, services * 3, strict=False)))
    assert all(created for _, created in results)
    store = new_service(table)[1]
    earned = sum(range(1, 21)) * NANOS
    assert store.message_revenue("wf_fans", "fan-1").revenue_nanos == earned
    totals = store.variant_totals("exp1")["A"]
    assert (totals.messages_with_outcome, totals.revenue_nanos) == (1, earned)
    assert totals.revenue_squares == float(earned**2)  # the port's float; the item holds the exact integer:
    raw = table.stack.moto.client("dynamodb").get_item(
        TableName=table.name, Key={"pk": {"S": "OUTCOMEVAR#exp1"}, "sk": {"S": "A"}}, ConsistentRead=True
    )["Item"]
    assert int(raw["revenueSquares"]["N"]) == earned**2
    assert store.campaign_revenue(["wf_fans"])["wf_fans"].outcomes == 20
