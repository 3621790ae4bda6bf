"""``/api/v2/experiments``: plans from requests, experiments and their results as the API shows them."""

from __future__ import annotations

import re

from aws_lambda_powertools.event_handler import Response

from shared.api.envelope import success
from shared.api.experiments.schemas import (
    EXPERIMENT_ID,
    ComparisonView,
    CreateExperimentRequest,
    ExperimentsView,
    ExperimentView,
    IntervalView,
    ResultsView,
    VariantResultView,
    VariantView,
)
from shared.api.page_tokens import decode_page_token, encode_page_token
from shared.api.route_views import candidate_views
from shared.core.time import iso_timestamp
from shared.experiments.model import Experiment, Variant
from shared.experiments.results import ExperimentResults, Interval
from shared.experiments.service import ExperimentPlan
from shared.experiments.store import ExperimentPage

LISTING = "experiments"
_EXPERIMENT_ID = re.compile(EXPERIMENT_ID)


def plan_of(request: CreateExperimentRequest) -> ExperimentPlan:
    """The service's plan from a validated request."""
    return ExperimentPlan(
        name=request.name,
        campaign_type=request.campaign_type,
        variants=[Variant(v.name, tuple(v.route)) for v in request.variants],
        split=list(request.split),
        ends_at=request.ends_at.timestamp() if request.ends_at else None,
        planned_effect=request.planned_effect,
    )


def after_token(next_token: str | None) -> str | None:
    """The id a listing resumes after (a token of another listing is a 422 naming ``nextToken``)."""
    return decode_page_token(next_token, LISTING, _EXPERIMENT_ID) if next_token else None


def experiment_view(experiment: Experiment, now: float, results: ExperimentResults | None = None) -> ExperimentView:
    """The wire form of one experiment (status as of ``now``: past ``endsAt`` it reads stopped)."""
    status = experiment.status_at(now)
    ended_at = (
        experiment.ended_at
        if experiment.ended_at is not None
        else (experiment.ends_at if status != "running" else None)
    )
    return ExperimentView(
        id=experiment.experiment_id,
        name=experiment.name,
        campaign_type=experiment.campaign_type,
        status=status,
        variants=[
            VariantView(name=v.name, route=candidate_views(v.route), share=share)
            for v, share in zip(experiment.variants, experiment.split, strict=True)
        ],
        split=list(experiment.split),
        planned_effect=experiment.planned_effect,
        created_at=iso_timestamp(experiment.created_at),
        created_by=experiment.created_by,
        ends_at=iso_timestamp(experiment.ends_at) if experiment.ends_at is not None else None,
        ended_at=iso_timestamp(ended_at) if ended_at is not None else None,
        ended_by=experiment.ended_by,
        promoted_variant=experiment.promoted_variant,
        change_id=experiment.change_id,
        recommendation_id=experiment.recommendation_id,
        results=_results(results) if results is not None else None,
    )


def experiment_response(
    experiment: Experiment, now: float, results: ExperimentResults | None = None, status: int = 200
) -> Response[dict]:
    """One experiment (200, or 201 when just created)."""
    return success(experiment_view(experiment, now, results).model_dump(by_alias=True), status)


def listing_response(page: ExperimentPage, now: float, results: dict[str, ExperimentResults]) -> Response[dict]:
    """A page of experiments, the running ones with their results (what the dashboard shows)."""
    view = ExperimentsView(
        experiments=[experiment_view(e, now, results.get(e.experiment_id)) for e in page.experiments],
        next_token=encode_page_token(LISTING, page.last) if page.last else None,
    )
    return success(view.model_dump(by_alias=True))


def _interval(interval: Interval | None) -> IntervalView | None:
    if interval is None:
        return None
    return IntervalView(mean=interval.mean, low=interval.low, high=interval.high)


def _results(results: ExperimentResults) -> ResultsView:
    return ResultsView(
        variants=[
            VariantResultView(
                name=v.name,
                calls=v.calls,
                cost_per_call=_interval(v.cost_per_call),
                latency_p50_ms=v.latency_p50_ms,
                latency_p95_ms=v.latency_p95_ms,
                fallback_rate=round(v.fallback_rate, 4),
                error_rate=round(v.error_rate, 4),
                messages_with_outcome=v.messages_with_outcome,
                revenue_per_message=_interval(v.revenue_per_message),
                reply_rate=v.reply_rate,
            )
            for v in results.variants
        ],
        comparisons=[
            ComparisonView(
                variant=c.variant,
                against=c.against,
                cost_change_percent=c.cost_change_percent,
                cost_p_value=c.cost_p_value,
                revenue_change_percent=c.revenue_change_percent,
                revenue_p_value=c.revenue_p_value,
                fallback_p_value=c.fallback_p_value,
                reply_p_value=c.reply_p_value,
            )
            for c in results.comparisons
        ]
        if results.comparisons is not None
        else None,
        calls_needed_per_variant=results.calls_needed_per_variant,
        more_calls_needed=results.more_calls_needed,
        verdict=results.verdict,
        recommendation=results.recommendation,
        recommended_variant=results.recommended_variant,
        notes=list(results.notes),
    )
