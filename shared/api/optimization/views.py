"""The optimization routes' answers, and the monthly budgets the plan is measured against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from aws_lambda_powertools.event_handler import Response

from shared.alerts.thresholds import GLOBAL_OWNER, ThresholdStore
from shared.api.envelope import success
from shared.api.optimization.schemas import (
    BudgetView,
    EvidenceView,
    OptimizationChangeView,
    OptimizationPlanView,
    OptimizationView,
    PeriodView,
    RecommendationView,
    RouteChangeView,
    RouteInForceView,
    SpendProjectionView,
)
from shared.api.route_views import candidate_views
from shared.api.schemas import TokenCounts
from shared.core.pricing import usd_amount
from shared.optimization.optimizer import WINDOW_DAYS, Budget, OptimizationPlan, Recommendation, Window
from shared.optimization.service import Recommendations
from shared.routing.overrides import RouteChange

SETTINGS_BUDGET = "setting:MONTHLY_COST_THRESHOLD_USD"


def monthly_budgets(settings_micros: int, thresholds: ThresholdStore) -> list[Budget]:
    """The settings' monthly threshold and every stored global monthly threshold (one Query)."""
    budgets = [Budget(SETTINGS_BUDGET, settings_micros)]
    for threshold in thresholds.list_for(GLOBAL_OWNER):
        if threshold.owner_id == GLOBAL_OWNER and threshold.scope == "global" and threshold.period == "monthly":
            budgets.append(Budget(threshold.threshold_id, threshold.micros))
    return budgets


def optimization_response(
    found: Recommendations, changes: Sequence[RouteChange], fallback_share: Decimal, min_calls: int
) -> Response[dict]:
    """Recommendations, the routes in force and the recent audit log."""
    view = OptimizationView(
        period=_period(found.window),
        fallback_share_threshold=float(fallback_share),
        min_calls_for_fallback_share=min_calls,
        recommendations=[_recommendation(r) for r in found.recommendations],
        routes=[
            RouteInForceView(campaign_type=r.campaign_type, route=candidate_views(r.route), overridden=r.overridden)
            for r in found.routes
        ],
        recent_changes=[_change(c) for c in changes],
    )
    return success(view.model_dump(by_alias=True))


def change_response(change: RouteChange, effective_within_s: float) -> Response[dict]:
    """The change just made."""
    view = OptimizationChangeView(change=_change(change), effective_within_s=effective_within_s)
    return success(view.model_dump(by_alias=True))


def plan_response(plan: OptimizationPlan) -> Response[dict]:
    """The plan and the month's projected spend before and after it."""
    needed_ids = [step.recommendation_id for step in plan.needed]
    budget = plan.budget_micros
    view = OptimizationPlanView(
        period=_period(plan.window),
        steps=[_recommendation(step) for step in plan.steps],
        projected_month_spend=SpendProjectionView(
            before=usd_amount(plan.spend_before_micros),
            before_micros=plan.spend_before_micros,
            after_all=usd_amount(plan.spend_after_micros),
            after_all_micros=plan.spend_after_micros,
            after_needed=usd_amount(plan.spend_after_needed_micros),
            after_needed_micros=plan.spend_after_needed_micros,
        ),
        budgets=[
            BudgetView(source=b.source, amount=usd_amount(b.micros), amount_micros=b.micros) for b in plan.budgets
        ],
        budget_micros=budget,
        needed=needed_ids,
        under_budget=None if budget is None else plan.spend_after_needed_micros <= budget,
    )
    return success(view.model_dump(by_alias=True))


def _recommendation(rec: Recommendation) -> RecommendationView:
    e = rec.evidence
    return RecommendationView(
        recommendation_id=rec.recommendation_id,
        kind=rec.kind,
        campaign_type=rec.campaign_type,
        summary=rec.summary,
        current_route=candidate_views(rec.current_route),
        proposed_route=candidate_views(rec.proposed_route),
        monthly_saving=usd_amount(rec.saving_micros),
        monthly_saving_micros=rec.saving_micros,
        evidence=EvidenceView(
            calls=e.calls,
            fallbacks=e.fallbacks,
            fallback_share=round(e.fallbacks / e.calls, 4) if e.calls else 0.0,
            tokens=TokenCounts(input=e.tokens_in, output=e.tokens_out, total=e.tokens_in + e.tokens_out),
            spend=usd_amount(e.spend_micros),
            spend_micros=e.spend_micros,
            period=_period(e.window),
        ),
    )


def _change(change: RouteChange) -> RouteChangeView:
    return RouteChangeView(
        change_id=change.change_id,
        kind=change.kind,
        campaign_type=change.campaign_type,
        before=candidate_views(change.before),
        after=candidate_views(change.after),
        before_overridden=change.before_overridden,
        after_overridden=change.after_overridden,
        by=change.by,
        at=datetime.fromtimestamp(change.at, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        recommendation_id=change.recommendation_id,
        reverts=change.reverts,
    )


def _period(window: Window) -> PeriodView:
    return PeriodView(from_=window.first.isoformat(), to=window.last.isoformat(), days=WINDOW_DAYS)
