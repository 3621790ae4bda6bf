"""The outcomes route's edge: the request as a reported outcome, the stored one as the answer."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from shared.api.campaigns.outcome_schemas import OutcomeRequest, OutcomeView
from shared.api.envelope import success
from shared.core.errors import CampaignInputError
from shared.core.pricing import usd_amount
from shared.outcomes.model import ReportedOutcome, StoredOutcome, usd_to_nanos


def reported_outcome(request: OutcomeRequest) -> ReportedOutcome:
    """The report, revenue in exact nano-dollars; one with neither revenue nor replies says nothing (422)."""
    if request.revenue_usd is None and request.replies is None:
        message = "an outcome needs revenueUsd or replies (or both)"
        raise CampaignInputError(message, details=[{"field": "revenueUsd", "message": message, "type": "missing"}])
    return ReportedOutcome(
        workflow_id=request.workflow_id,
        outcome_id=request.outcome_id,
        recipient_id=request.recipient_id,
        revenue_nanos=None if request.revenue_usd is None else usd_to_nanos(request.revenue_usd),
        replies=request.replies,
    )


def outcome_response(stored: StoredOutcome, created: bool) -> Response[dict]:
    """201 for the first write, 200 with the same outcome for a replay."""
    micros = stored.revenue_micros
    view = OutcomeView(
        workflow_id=stored.outcome.workflow_id,
        outcome_id=stored.outcome.outcome_id,
        recipient_id=stored.outcome.recipient_id,
        revenue_usd=None if micros is None else usd_amount(micros),
        revenue_micros=micros,
        replies=stored.outcome.replies,
        recorded_at=stored.recorded_at,
        recorded_by=stored.recorded_by,
        experiment=stored.experiment,
        variant=stored.variant,
    )
    return success(view.model_dump(by_alias=True), status=201 if created else 200)
