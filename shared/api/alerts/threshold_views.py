"""``/api/v2/costs/thresholds``: who may set which threshold, and each one's spend in its current period.

Anyone may watch their own spend (scope user) and their own campaigns (scope campaign; another
user's campaign is a 404, as on the status route). Global thresholds, thresholds on another user
and users' hard caps (block/downgrade) are admin-only (403). A tenant's hard cap (scope tenant,
block/downgrade, monthly) is set by a platform admin or that tenant's admin; another tenant's admin
gets a 404 (its tenant is not theirs to know of), any other caller a 403. A tenant admin also sets
and lists thresholds of their tenant's users (a user whose spend was recorded under the tenant in the
last 90 days; anyone else is a 403) and on the tenant's campaigns; a threshold keeps the tenant it was
created under, and a tenant admin sees another user's only if that tenant is theirs. The settings'
daily and monthly thresholds are listed as read-only global defaults. Everyone's spend is shown to admins only, as on
``/costs/stats``: a non-admin sees global thresholds without their spend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.alerts.thresholds import (
    GLOBAL_OWNER,
    HARD_CAP_ACTIONS,
    SpendThreshold,
    ThresholdStore,
    is_settings_threshold,
    may_manage,
    may_name_owner,
    new_threshold_id,
    shows_global_spend,
    tenant_owner,
)
from shared.api.alerts.threshold_schemas import CreateThresholdRequest, SpendThresholdsView, SpendThresholdView
from shared.api.auth import require_admin
from shared.api.envelope import success
from shared.core.errors import ForbiddenError, TenantNotFoundError, WorkflowNotFoundError
from shared.core.identity import Caller
from shared.core.pricing import usd_amount, usd_to_micros
from shared.core.time import iso_timestamp, utc_day
from shared.ledger.ledger import spent_under_tenant
from shared.ledger.spend_view import spend_of
from shared.ledger.store import CostStore

if TYPE_CHECKING:  # a type only: the campaign models stay off the threshold routes' import path
    from shared.campaigns.workflows import WorkflowRepository


def create_threshold(
    request: CreateThresholdRequest,
    caller: Caller,
    store: ThresholdStore,
    workflows: WorkflowRepository,
    now: float,
    costs: CostStore | None = None,
) -> SpendThreshold:
    """Validate the combination (422), the caller's right (403) and the campaign's owner (404); store it.

    ``costs`` is where a tenant admin's claim that a user is of their tenant is checked (their spend)."""
    subject, owner = _subject_and_owner(request, caller, workflows, costs, now)
    threshold = SpendThreshold(
        threshold_id=new_threshold_id(),
        scope=request.scope,
        subject_id=subject,
        owner_id=owner,
        period=request.period,
        micros=usd_to_micros(request.amount_usd),
        action=request.action,
        created_by=caller.user_id,
        created_at=now,
        tenant=caller.tenant,
    )
    store.put(threshold)
    return threshold


def listed_user(caller: Caller, user_id: str | None) -> str:
    """Whose thresholds: the caller's own; admins may name anyone, tenant admins any user (they then see
    the ones of their tenant only); 403 for others."""
    if user_id and not may_name_owner(caller, user_id):
        raise ForbiddenError("Only admins can see another user's thresholds.")
    return user_id or caller.user_id


def threshold_response(
    threshold: SpendThreshold, caller: Caller, costs: CostStore, now: float, status: int = 200
) -> Response[dict]:
    """One threshold with its current spend."""
    (view,) = threshold_views([threshold], caller, costs, utc_day(now))
    return success(view.model_dump(by_alias=True), status)


def thresholds_response(
    user_id: str,
    caller: Caller,
    store: ThresholdStore,
    costs: CostStore,
    defaults: Sequence[SpendThreshold],
    now: float,
) -> Response[dict]:
    """The user's thresholds, the global ones and the configured defaults, each with its spend (one read).

    A tenant admin's listing also holds their tenant's caps (one more Query): those bind every user they list."""
    users = [t for t in store.list_for(user_id) if may_manage(caller, t.owner_id, t.tenant)]
    own_tenant = tenant_owner(caller.tenant) if caller.tenant and caller.is_tenant_admin else None
    tenant_caps = store.list_for(own_tenant) if own_tenant and own_tenant != user_id else []
    stored = (users if user_id != GLOBAL_OWNER else []) + tenant_caps + store.list_for(GLOBAL_OWNER)
    views = threshold_views([*defaults, *stored], caller, costs, utc_day(now))
    listing = SpendThresholdsView(user_id=user_id, thresholds=views)
    return success(listing.model_dump(by_alias=True))


def threshold_views(
    thresholds: Sequence[SpendThreshold], caller: Caller, costs: CostStore, day: date
) -> list[SpendThresholdView]:
    """Views with each threshold's spend this period: one ``BatchGetItem`` of the day totals, one Query per
    month total (a month is the sum of its day counters)."""
    spending = spend_of(costs, list({t.counter(day) for t in thresholds}), until=day)
    views = []
    for t in thresholds:
        shown = (t.scope != "global" or shows_global_spend(caller)) and (
            t.scope != "tenant" or caller.administers(str(t.subject_id))
        )
        spent = spending.get(t.counter(day), 0)
        views.append(
            SpendThresholdView(
                threshold_id=t.threshold_id,
                scope=t.scope,
                user_id=t.subject_id if t.scope == "user" else None,
                campaign_id=t.subject_id if t.scope == "campaign" else None,
                tenant=t.subject_id if t.scope == "tenant" else t.tenant,
                owner_id=t.owner_id,
                period=t.period,
                action=t.action,
                amount_usd=usd_amount(t.micros),
                amount_micros=t.micros,
                source="settings" if is_settings_threshold(t) else "stored",
                is_global=t.scope == "global",
                created_by=t.created_by or None,
                created_at=iso_timestamp(t.created_at) if t.created_at else None,
                period_label=t.period_label(day),
                spent_usd=usd_amount(spent) if shown else None,
                spent_micros=spent if shown else None,
                percent=round(100 * spent / t.micros, 2) if shown else None,
                crossed=spent >= t.micros if shown else None,
            )
        )
    return views


def invalid(field: str, message: str, kind: str = "value_error") -> None:
    """A 422 naming a body field, the same shape as Powertools' own validation errors."""
    raise RequestValidationError([{"loc": ("body", field), "msg": message, "type": kind}])


def _subject_and_owner(
    request: CreateThresholdRequest,
    caller: Caller,
    workflows: WorkflowRepository,
    costs: CostStore | None,
    now: float,
) -> tuple[str | None, str]:
    if request.scope != "user" and request.user_id is not None:
        invalid("userId", "userId is only for scope user", "extra_forbidden")
    if request.scope != "campaign" and request.campaign_id is not None:
        invalid("campaignId", "campaignId is only for scope campaign", "extra_forbidden")
    if request.scope == "campaign" and request.campaign_id is None:
        invalid("campaignId", "scope campaign needs campaignId", "missing")
    if request.scope != "tenant" and request.tenant is not None:
        invalid("tenant", "tenant is only for scope tenant", "extra_forbidden")
    if request.scope == "tenant":
        return _tenant_subject(request, caller)
    if request.action in HARD_CAP_ACTIONS and (request.scope, request.period) != ("user", "monthly"):
        invalid("action", f"{request.action} is a hard cap: scope user or tenant, period monthly only")
    if request.action in HARD_CAP_ACTIONS or request.scope == "global":
        require_admin(caller)
    if request.scope == "global":
        return None, GLOBAL_OWNER
    if request.scope == "user":
        user = request.user_id or caller.user_id
        if user == GLOBAL_OWNER:
            invalid("userId", f"{GLOBAL_OWNER} names the global thresholds, not a user")
        if user != caller.user_id and not _tenant_admin_of_user(caller, user, costs, now):
            require_admin(caller)
        return user, user
    workflow = workflows.get(str(request.campaign_id))
    readable = workflow is not None and caller.can_read(workflow.owner_id, workflow.tenant)
    if workflow is None or not readable or workflow.owner_id == GLOBAL_OWNER:
        raise WorkflowNotFoundError("No such campaign.")
    return workflow.workflow_id, workflow.owner_id


def _tenant_subject(request: CreateThresholdRequest, caller: Caller) -> tuple[str, str]:
    """A tenant's cap: monthly block/downgrade only, on the caller's tenant unless they are a platform admin."""
    if request.action not in HARD_CAP_ACTIONS:
        invalid("action", "a tenant threshold is a hard cap: action block or downgrade")
    if request.period != "monthly":
        invalid("period", "a tenant's hard cap is monthly")
    tenant = request.tenant or caller.tenant
    if tenant is None:
        invalid("tenant", "scope tenant needs tenant (the caller has none)", "missing")
    if not caller.administers(str(tenant)):
        if caller.is_tenant_admin:
            raise TenantNotFoundError("No such tenant.")
        raise ForbiddenError("Only admins or the tenant's admin can set a tenant's cap.")
    return str(tenant), tenant_owner(str(tenant))


def _tenant_admin_of_user(caller: Caller, user_id: str, costs: CostStore | None, now: float) -> bool:
    """A tenant admin naming a user whose spend was recorded under their tenant (the only evidence of
    membership the service holds: users are the identity provider's)."""
    if caller.is_admin or not caller.is_tenant_admin or costs is None or caller.tenant is None:
        return False
    return spent_under_tenant(costs, caller.tenant, user_id, utc_day(now))
