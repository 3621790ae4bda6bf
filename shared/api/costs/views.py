"""The cost routes' edge: who may see whose spend, the breakdown's date window, and the answers.

Access: an admin sees everyone's spend, or one user's with ``userId``; anyone else sees their own
only. A non-admin naming another user gets 403 (the caller is known, the data is not theirs), and
``groupBy=user`` gives them the one group they may see, themselves.

``scope=tenant``: the spend recorded under one tenant. A tenant admin gets their own tenant's (and
``groupBy=user`` lists its users); a platform admin their tenant claim's or any with ``tenant``; a
caller without a tenant (and no ``tenant`` named) gets 422 naming ``scope``; a plain user of a tenant
403 (their tenant's spend is other users' spend). ``groupBy=tenant`` is for platform admins (403).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query

from shared.alerts.thresholds import SpendThreshold, shows_global_spend
from shared.api.costs.schemas import (
    BreakdownGroup,
    CostBreakdownView,
    CostScopeView,
    CostStatsView,
    PeriodCounts,
    PeriodTokens,
    ProviderSpend,
    ProviderSpendByPeriod,
    SpendView,
    ThresholdView,
    TokenCounts,
)
from shared.api.envelope import success
from shared.core.errors import ForbiddenError
from shared.core.identity import Caller
from shared.core.pricing import usd_amount
from shared.ledger.keys import EVERYONE, Scope, tenant_scope
from shared.ledger.ledger import CostStats
from shared.ledger.store import Counters

MAX_RANGE_DAYS = 90
DEFAULT_RANGE_DAYS = 7
# Query parameter patterns of the cost routes: an ISO day (checked again as a real date), a user id.
ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"
USER_ID = r"^\S{1,128}$"
TENANT_ID = r"^[^#\s]{1,128}$"
SpendScope = Literal["tenant"]
SCOPE_DESCRIPTION = "tenant: the spend recorded under the caller's tenant (tenant admins; admins: any with `tenant`)"
TENANT_DESCRIPTION = "Admins, with scope=tenant: which tenant (default: their own tenant claim)"
# The two query parameters every cost read that takes scope=tenant declares the same way.
SpendScopeQuery = Annotated[SpendScope | None, Query(alias="scope", description=SCOPE_DESCRIPTION)]
TenantQuery = Annotated[str | None, Query(alias="tenant", pattern=TENANT_ID, description=TENANT_DESCRIPTION)]


def cost_scope(
    caller: Caller, user_id: str | None, spend_scope: SpendScope | None = None, tenant: str | None = None
) -> Scope:
    """The spend this caller may read: all (admin), the named user (admin), their own, or a tenant's."""
    if spend_scope == "tenant":
        return _tenant_scope(caller, user_id, tenant)
    if tenant is not None:
        _invalid("tenant", "tenant is only for scope=tenant", "extra_forbidden")
    if caller.is_admin:
        return Scope(user_id) if user_id else EVERYONE
    if user_id and user_id != caller.user_id:
        raise ForbiddenError("Only admins can see another user's spend.")
    return Scope(caller.user_id)


def check_group_by(caller: Caller, scope: Scope, group_by: str) -> None:
    """``groupBy=tenant``: platform admins only (403), over everyone's or one tenant's spend (422 for a user's)."""
    if group_by != "tenant":
        return
    if not caller.is_admin:
        raise ForbiddenError("Only admins can group spend by tenant.")
    if scope.user_id is not None:
        _invalid("groupBy", "one user's spend has no tenant groups; use groupBy=tenant without userId", "value_error")


def _tenant_scope(caller: Caller, user_id: str | None, tenant: str | None) -> Scope:
    if user_id is not None:
        _invalid("userId", "scope=tenant is the whole tenant's spend; use groupBy=user for its users", "value_error")
    if tenant is not None and tenant != caller.tenant and not caller.is_admin:
        raise ForbiddenError("Only admins can see another tenant's spend.")
    chosen = tenant or caller.tenant
    if chosen is None:
        _invalid("scope", "scope=tenant needs a tenant: the token carries no tenant claim", "value_error")
        raise AssertionError  # pragma: no cover - _invalid always raises
    if not (caller.is_admin or caller.manages_tenant(chosen)):
        raise ForbiddenError("Only the tenant's admins (scope tenant_admin) can see the tenant's spend.")
    return tenant_scope(chosen)


def breakdown_window(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """ISO days, ``from <= to``, at most 90 days; by default the last 7 days up to today (UTC)."""
    end = _iso_day(last, "to") if last else today
    start = _iso_day(first, "from") if first else end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        _invalid("from", f"from ({start}) is after to ({end})", "date_range")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        _invalid("to", f"the range is {(end - start).days + 1} days; at most {MAX_RANGE_DAYS}", "date_range")
    return start, end


def stats_response(
    stats: CostStats,
    scope: Scope,
    thresholds: Sequence[SpendThreshold],
    providers: Sequence[str],
    caller: Caller,
) -> Response[dict]:
    """Today's and this month's spend with each threshold's progress, its spend for those who may see it.

    ``providerBreakdown`` names every configured provider, so an idle one reads 0 rather than missing.
    """
    day, month = stats.day_total, stats.month_total
    today_by_provider = {name: 0.0 for name in providers} | {
        name: usd_amount(counters.micros) for name, counters in stats.day_by_provider.items()
    }
    spent = {"daily": day.micros, "monthly": month.micros}
    view = CostStatsView(
        scope=_scope_view(scope),
        date=stats.today.isoformat(),
        month=f"{stats.today:%Y-%m}",
        today_total=usd_amount(day.micros),
        today_total_micros=day.micros,
        month_total=usd_amount(month.micros),
        month_total_micros=month.micros,
        provider_breakdown=dict(sorted(today_by_provider.items())),
        by_provider=ProviderSpendByPeriod(
            today=_providers(stats.day_by_provider), month=_providers(stats.month_by_provider)
        ),
        requests=PeriodCounts(today=day.requests, month=month.requests),
        tokens=PeriodTokens(today=_tokens(day), month=_tokens(month)),
        thresholds=[_threshold(t, spent[t.period] if shows_global_spend(caller) else None) for t in thresholds],
    )
    return success(view.model_dump(by_alias=True))


def breakdown_response(
    groups: Mapping[str, Counters], scope: Scope, group_by: str, start: date, end: date
) -> Response[dict]:
    """The groups (largest spend first, or by date) and their exact total."""
    entries = list(groups.items())
    if group_by != "day":
        entries.sort(key=lambda entry: (-entry[1].micros, entry[0]))
    view = CostBreakdownView(
        scope=_scope_view(scope),
        from_=start.isoformat(),
        to=end.isoformat(),
        group_by=group_by,
        groups=[BreakdownGroup(key=key, **_spend(counters)) for key, counters in entries],
        total=SpendView(**_spend(sum(groups.values(), Counters()))),
    )
    return success(view.model_dump(by_alias=True))


def _iso_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _invalid(field, f"{text!r} is not a date as YYYY-MM-DD", "date_from_datetime_parsing")
        raise  # pragma: no cover - _invalid always raises


def _invalid(field: str, message: str, kind: str) -> None:
    """The same 422 as Powertools' own validation, with the field named."""
    raise RequestValidationError([{"loc": ("query", field), "msg": message, "type": kind}])


def _scope_view(scope: Scope) -> CostScopeView:
    if scope.tenant_id is not None:
        return CostScopeView(kind="tenant", tenant_id=scope.tenant_id)
    return CostScopeView(kind="all") if scope.user_id is None else CostScopeView(kind="user", user_id=scope.user_id)


def _tokens(counters: Counters) -> TokenCounts:
    return TokenCounts(input=counters.tokens_in, output=counters.tokens_out, total=counters.tokens_total)


def _spend(counters: Counters) -> dict:
    return {
        "cost": usd_amount(counters.micros),
        "cost_micros": counters.micros,
        "requests": counters.requests,
        "tokens": _tokens(counters),
    }


def _providers(by_provider: Mapping[str, Counters]) -> list[ProviderSpend]:
    ordered = sorted(by_provider.items(), key=lambda entry: (-entry[1].micros, entry[0]))
    return [ProviderSpend(provider=name, **_spend(counters)) for name, counters in ordered]


def _threshold(threshold: SpendThreshold, spent_micros: int | None) -> ThresholdView:
    """A global threshold; its progress only when the caller may see its spend (``None`` otherwise)."""
    if spent_micros is None:
        return ThresholdView(
            period=threshold.period, amount_usd=usd_amount(threshold.micros), amount_micros=threshold.micros
        )
    return ThresholdView(
        period=threshold.period,
        amount_usd=usd_amount(threshold.micros),
        amount_micros=threshold.micros,
        spent_usd=usd_amount(spent_micros),
        spent_micros=spent_micros,
        percent=round(100 * spent_micros / threshold.micros, 2),
        crossed=spent_micros >= threshold.micros,
    )
