"""Reporting outcomes: who may, against which message, exactly once, and the totals (sums of squares) kept exact."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.api.campaigns.outcome_schemas import OutcomeRequest
from shared.api.campaigns.outcome_view import reported_outcome
from shared.core.errors import CampaignInputError, OutcomeConflictError, WorkflowNotFoundError
from shared.core.identity import Caller
from shared.outcomes.model import MessageRevenue, ReportedOutcome, usd_to_nanos
from shared.outcomes.service import OutcomeService
from shared.outcomes.workflow_targets import WorkflowTarget, target_of
from tests.support.outcome_fakes import InMemoryOutcomeStore, InMemoryWorkflowTargets

FANS = WorkflowTarget("wf_fans", "u1", "fan_messages", ("fan-1", "fan-2"), experiment="exp1", variant="B")
CAPTION = WorkflowTarget("wf_caption", "u1", "caption")
OWNER, ADMIN, OTHER = Caller(user_id="u1"), Caller(user_id="ops", is_admin=True), Caller(user_id="u2")


def service() -> tuple[OutcomeService, InMemoryOutcomeStore]:
    store = InMemoryOutcomeStore()
    return OutcomeService(
        InMemoryWorkflowTargets(FANS, CAPTION), store, clock=lambda: 1_780_000_000.0, sleep=lambda s: None
    ), store


def outcome(oid: str, usd: str | None = None, replies: int | None = None, fan: str | None = "fan-1", wf="wf_fans"):
    return ReportedOutcome(wf, oid, fan, None if usd is None else usd_to_nanos(Decimal(usd)), replies)


def test_owner_and_admin_report_others_get_404():
    svc, _ = service()
    assert svc.report(OWNER, outcome("o1", "1.5"))[1] is True
    assert svc.report(ADMIN, outcome("o2", "2"))[1] is True
    with pytest.raises(WorkflowNotFoundError):
        svc.report(OTHER, outcome("o3", "2"))
    with pytest.raises(WorkflowNotFoundError):
        svc.report(OWNER, outcome("o4", "2", wf="wf_missing"))


@pytest.mark.parametrize(("target", "fan"), [("wf_fans", None), ("wf_fans", "fan-9"), ("wf_caption", "fan-1")], ids=str)
def test_recipient_must_match_the_workflow(target, fan):
    svc, _ = service()
    with pytest.raises(CampaignInputError) as raised:
        svc.report(OWNER, outcome("o1", "1", fan=fan, wf=target))
    assert raised.value.details[0]["field"] == "recipientId"


def test_replay_answers_the_first_write_and_a_different_body_is_a_409_naming_the_field():
    svc, store = service()
    first, created = svc.report(OWNER, outcome("o1", "1.25", replies=2))
    again, created_again = svc.report(OWNER, outcome("o1", "1.25", replies=2))
    assert created and not created_again and again == first
    assert store.campaigns["wf_fans"].revenue_nanos == 1_250_000_000  # counted once
    with pytest.raises(OutcomeConflictError) as raised:
        svc.report(OWNER, outcome("o1", "1.26", replies=2))
    assert [d["field"] for d in raised.value.details] == ["revenueUsd"]
    with pytest.raises(OutcomeConflictError) as raised:
        svc.report(OWNER, outcome("o1", "1.25", replies=None))
    assert [d["field"] for d in raised.value.details] == ["replies"]
    # Another recipient's outcome with the same id is another outcome.
    assert svc.report(OWNER, outcome("o1", "1.25", replies=2, fan="fan-2"))[1] is True


def test_variant_totals_sum_revenue_per_message_squared():
    svc, store = service()
    svc.report(OWNER, outcome("a", "1", fan="fan-1"))
    svc.report(OWNER, outcome("b", "2", replies=1, fan="fan-1"))  # fan-1 earned 3 in all
    svc.report(OWNER, outcome("c", "0.5", replies=3, fan="fan-2"))
    totals = store.variant_totals("exp1")["B"]
    nanos = 1_000_000_000
    assert totals.revenue_nanos == 3_500_000_000
    assert totals.revenue_squares == (3 * nanos) ** 2 + (nanos // 2) ** 2
    assert (totals.messages_with_outcome, totals.replies, totals.messages_replied) == (2, 4, 2)
    assert store.campaign_revenue(["wf_fans", "wf_none"])["wf_none"].revenue_nanos == 0


def test_a_report_racing_another_on_the_same_message_is_redone_from_a_fresh_read():
    svc, store = service()
    svc.report(OWNER, outcome("a", "1"))
    racing = [outcome("b", "4")]

    def another_report_lands():
        if racing:
            other = racing.pop()
            store.before_record = lambda: None
            svc.report(OWNER, other)
            store.before_record = another_report_lands

    store.before_record = another_report_lands
    svc.report(OWNER, outcome("c", "2"))
    nanos = 1_000_000_000
    assert store.messages[("wf_fans", "fan-1")].revenue_nanos == 7 * nanos
    assert store.variant_totals("exp1")["B"].revenue_squares == (7 * nanos) ** 2


def test_a_message_that_never_settles_is_a_409():
    svc, store = service()
    bumps = iter(range(1, 100))

    def always_changed():  # another report of the message commits between every read and write
        store.messages[("wf_fans", "fan-1")] = MessageRevenue(0, 0, next(bumps))

    store.before_record = always_changed
    with pytest.raises(OutcomeConflictError):
        svc.report(OWNER, outcome("a", "1"))


def test_experiment_comes_from_the_item_or_its_steps():
    base = {"workflowId": "wf_x", "ownerId": "u1", "type": "caption"}
    assert target_of(base).experiment is None
    assert target_of({**base, "experiment": "e", "variant": "A"}).variant == "A"
    stepped = target_of({**base, "steps": [{"name": "generate"}, {"experiment": "e2", "variant": "B"}]})
    assert (stepped.experiment, stepped.variant) == ("e2", "B")


def body(**fields) -> OutcomeRequest:
    """The request as the route parses it: floats in the JSON text read as Decimal."""
    text = json.dumps({"workflowId": "wf_" + "0" * 32, "outcomeId": "o-1", **fields})
    return OutcomeRequest.model_validate(json.loads(text, parse_float=Decimal))


def test_revenue_is_exact_micro_dollars():
    assert reported_outcome(body(revenueUsd=0.1)).revenue_nanos == 100_000_000
    assert reported_outcome(body(revenueUsd=123456.789012)).revenue_nanos == 123_456_789_012_000
    assert reported_outcome(body(revenueUsd=7)).revenue_nanos == 7_000_000_000


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"revenueUsd": 0.0000001}, "revenueUsd"),
        ({"revenueUsd": -1}, "revenueUsd"),
        ({"revenueUsd": 1_000_001}, "revenueUsd"),
        ({"revenueUsd": "12.5"}, "revenueUsd"),
        ({"revenueUsd": True}, "revenueUsd"),
        ({"replies": -1}, "replies"),
        ({"replies": 1.0}, "replies"),
        ({"replies": 2, "recipientId": "no#hash"}, "recipientId"),
        ({"replies": 2, "extra": 1}, "extra"),
    ],
)
def test_bad_bodies_name_the_field(fields, field):
    with pytest.raises(ValidationError) as raised:
        body(**fields)
    assert raised.value.errors()[0]["loc"][0] == field


def test_an_outcome_needs_revenue_or_replies():
    with pytest.raises(CampaignInputError) as raised:
        reported_outcome(body())
    assert raised.value.details[0]["field"] == "revenueUsd"
