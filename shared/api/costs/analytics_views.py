"""The answers of the campaign analytics and forecast routes, built from the models in analytics_schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response

from shared.api.costs.analytics_schemas import (
    CampaignCostsView,
    CampaignCostView,
    CampaignTotalsView,
    ForecastInterval,
    ForecastParameters,
    ForecastThresholdView,
    ForecastView,
    SpikeView,
)
from shared.api.costs.return_on_cost import return_on
from shared.api.costs.views import _providers, _scope_view, _spend
from shared.api.envelope import success
from shared.core.pricing import usd_amount
from shared.forecast.model import MIN_HISTORY_DAYS, Forecast
from shared.ledger.campaign_costs import CampaignCosts, CampaignSort, SortOrder, campaign_costs, sort_campaigns
from shared.ledger.keys import Scope
from shared.ledger.revenue import RevenueTotals
from shared.ledger.store import CostStore, Counters

if TYPE_CHECKING:
    from shared.alerts.forecast_warnings import MonthlyThreshold


def ranked_campaign_costs_response(
    store: CostStore,
    scope: Scope,
    start: date,
    end: date,
    sort_by: CampaignSort,
    order: SortOrder,
    limit: int,
    revenue_of: Callable[[Iterable[str]], Mapping[str, RevenueTotals]],
) -> Response[dict]:
    """Every campaign's costs over the window (one Query), ranked, and the first ``limit`` shown with their
    reported revenue and ROI (one BatchGetItem per 100 campaigns shown)."""
    ordered = sort_campaigns(campaign_costs(store, scope, start, end), sort_by, order)
    revenue = revenue_of([c.campaign_id for c in ordered[:limit]])
    return campaign_costs_response(ordered, scope, start, end, sort_by, order, limit, revenue)


def campaign_costs_response(
    ordered: Sequence[CampaignCosts],
    scope: Scope,
    start: date,
    end: date,
    sort_by: str,
    order: str,
    limit: int,
    revenue: Mapping[str, RevenueTotals] | None = None,
) -> Response[dict]:
    """The first ``limit`` campaigns in the order given (with their ``revenue``), and every campaign's totals."""
    totals = sum((c.total for c in ordered), Counters())
    view = CampaignCostsView(
        scope=_scope_view(scope),
        from_=start.isoformat(),
        to=end.isoformat(),
        sort_by=sort_by,
        order=order,
        limit=limit,
        total=len(ordered),
        totals=CampaignTotalsView(**_spend(totals), fallbacks=totals.fallbacks),
        campaigns=[_campaign(c, (revenue or {}).get(c.campaign_id, RevenueTotals())) for c in ordered[:limit]],
    )
    return success(view.model_dump(by_alias=True))


def forecast_response(outlook: Forecast, scope: Scope, thresholds: Sequence[MonthlyThreshold]) -> Response[dict]:
    """The projection, its interval, today's spike check and each monthly threshold's crossing."""
    projection, spike = outlook.projection, outlook.spike
    view = ForecastView(
        scope=_scope_view(scope),
        status=outlook.status,
        date=outlook.today.isoformat(),
        month=f"{outlook.today:%Y-%m}",
        month_end=outlook.month_end.isoformat(),
        history_days=outlook.history_days,
        required_history_days=MIN_HISTORY_DAYS,
        month_to_date=usd_amount(outlook.month_to_date_micros),
        month_to_date_micros=outlook.month_to_date_micros,
        method=projection.method if projection else None,
        parameters=ForecastParameters(
            intercept=_usd_of(projection.intercept_micros),
            slope_per_day=_usd_of(projection.slope_micros_per_day),
            weekday_offsets={day: _usd_of(m) for day, m in projection.weekday_offsets_micros.items()},
            residual_sd=_usd_of(projection.residual_sd_micros),
            degrees_of_freedom=projection.degrees_of_freedom,
        )
        if projection
        else None,
        projected_month_end=usd_amount(projection.projected_micros) if projection else None,
        projected_month_end_micros=projection.projected_micros if projection else None,
        interval=ForecastInterval(
            low=usd_amount(projection.low_micros),
            low_micros=projection.low_micros,
            high=usd_amount(projection.high_micros),
            high_micros=projection.high_micros,
            confidence=projection.confidence,
        )
        if projection
        else None,
        days_remaining=round(projection.days_remaining, 4) if projection else None,
        spike=SpikeView(
            today=usd_amount(spike.today_micros),
            today_micros=spike.today_micros,
            baseline=_usd_of(spike.baseline_micros),
            threshold=_usd_of(spike.threshold_micros),
            is_spike=spike.is_spike,
        )
        if spike
        else None,
        thresholds=[_threshold(outlook, t) for t in thresholds],
    )
    return success(view.model_dump(by_alias=True))


def _campaign(campaign: CampaignCosts, revenue: RevenueTotals) -> CampaignCostView:
    total = campaign.total
    return CampaignCostView(
        **return_on(revenue, total),
        campaign_id=campaign.campaign_id,
        **_spend(total),
        messages=campaign.messages,
        cost_per_message=_usd_of(campaign.cost_per_message_micros),
        fallbacks=total.fallbacks,
        fallback_share=round(campaign.fallback_share, 6),
        providers=_providers(campaign.by_provider),
    )


def _threshold(outlook: Forecast, threshold: MonthlyThreshold) -> ForecastThresholdView:
    crossing = outlook.crossing_date(threshold.micros)
    projected = outlook.projection.projected_micros if outlook.projection else outlook.month_to_date_micros
    return ForecastThresholdView(
        threshold_id=threshold.threshold_id,
        source=threshold.source,
        amount_usd=usd_amount(threshold.micros),
        amount_micros=threshold.micros,
        crossed=outlook.month_to_date_micros >= threshold.micros,
        projected_to_cross=projected >= threshold.micros,
        crossing_date=crossing.isoformat() if crossing else None,
    )


def _usd_of(micros: float) -> float:
    """A model figure (fractional micro-dollars) in USD, to the micro-dollar."""
    return usd_amount(round(micros))
