"""Spend thresholds people set (global, per user, per campaign, per tenant): what they are, whose spend they watch.

The owner is the user whose spend is watched (scope user) or who owns the campaign (scope campaign),
``ALL`` for global ones, so everything that can apply to a user's call is under two owners. A tenant's
thresholds are its monthly hard caps only (``block``/``downgrade``), owned by ``TENANT#<tenantId>`` (a
user id can hold no ``#``), read by budget enforcement, not by the alert check. The
settings' daily and monthly thresholds are global thresholds too (:func:`settings_threshold`), never
stored, with their own e-mail (:mod:`shared.alerts.threshold_alerts`); stored ones come on top
(:mod:`shared.alerts.threshold_store`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from shared.core.errors import LimitReachedError
from shared.core.identity import Caller
from shared.ledger.keys import (
    EVERYONE,
    THRESHOLD_PK_PREFIX,
    Key,
    Scope,
    campaign_scope,
    day_period,
    month_period,
    spend_name,
    tenant_scope,
)

ThresholdScope = Literal["global", "user", "campaign", "tenant"]
ThresholdPeriod = Literal["daily", "monthly"]
ThresholdAction = Literal["alert", "block", "downgrade"]

GLOBAL_OWNER = "ALL"
SETTINGS_ID_PREFIX = "settings:"  # the configured defaults' ids: settings:daily, settings:monthly
THRESHOLD_SK_PREFIX = "THRESHOLD#"
OWNER_SK = "OWNER"  # the owner's marker, beside their thresholds (no threshold or rule sort key is "OWNER")
HARD_CAP_ACTIONS = ("block", "downgrade")
TENANT_OWNER_PREFIX = "TENANT#"


def tenant_owner(tenant_id: str) -> str:
    """The owner id a tenant's thresholds are stored under."""
    return f"{TENANT_OWNER_PREFIX}{tenant_id}"


def may_manage(caller: Caller, owner_id: str, tenant: str | None) -> bool:
    """A stored threshold or rule: its owner, a platform admin, or a tenant admin of the tenant it was made under
    (the global owner's items are platform admins' only)."""
    if caller.is_admin:
        return True
    return owner_id != GLOBAL_OWNER and (owner_id == caller.user_id or caller.manages_tenant(tenant))


def may_name_owner(caller: Caller, owner_id: str) -> bool:
    """Whose thresholds, rules or history a caller may ask for: their own; admins anyone's; a tenant admin
    any user's (then filtered with :func:`may_manage`), never the global owner's."""
    if caller.is_admin or owner_id == caller.user_id:
        return True
    return caller.is_tenant_admin and owner_id != GLOBAL_OWNER


def shows_global_spend(caller: Caller) -> bool:
    """A global threshold watches everyone's spend, so its spend is shown to admins only, on every route."""
    return caller.is_admin


@dataclass(frozen=True)
class SpendThreshold:
    """One threshold: whose spend, over which period, how much (micro-dollars), and what crossing it does."""

    threshold_id: str  # "th_<32 hex>"
    scope: ThresholdScope
    subject_id: str | None  # user id (user), campaign/workflow id (campaign), tenant id (tenant); None = global
    owner_id: str  # the user whose spend it watches / who owns the campaign; "ALL" for global
    period: ThresholdPeriod
    micros: int  # > 0
    action: ThresholdAction = "alert"  # block|downgrade = a hard cap: scope user + monthly only, admin-set
    created_by: str = ""
    created_at: float = 0.0
    tenant: str | None = None  # the creator's tenant claim: its tenant admins manage it (None: platform admins)

    def period_key(self, day: date) -> str:
        """The counter period ``day`` falls in: ``DAY#…`` or ``MONTH#…``."""
        return day_period(day) if self.period == "daily" else month_period(day)

    def period_label(self, day: date) -> str:
        """``2025-01-02`` or ``2025-01``, for people."""
        return day.isoformat() if self.period == "daily" else f"{day:%Y-%m}"

    def counter(self, day: date) -> Key:
        """The spend this threshold compares with in ``day``'s period: the spend name of its scope's total for
        the day or the month (:func:`shared.ledger.keys.spend_name`, read by :func:`shared.ledger.spend_view.spend_of`);
        a campaign's names its owner, in whose partition its counters are."""
        period = self.period_key(day)
        if self.scope == "user":
            return spend_name(Scope(self.subject_id), period)
        if self.scope == "campaign":
            return spend_name(campaign_scope(str(self.subject_id), self.owner_id), period)
        if self.scope == "tenant":
            return spend_name(tenant_scope(str(self.subject_id)), period)
        return spend_name(EVERYONE, period)


def settings_threshold(period: ThresholdPeriod, micros: int) -> SpendThreshold:
    """A configured default: global, owner ``ALL``, id ``settings:<period>``."""
    return SpendThreshold(f"{SETTINGS_ID_PREFIX}{period}", "global", None, GLOBAL_OWNER, period, micros)


def is_settings_threshold(threshold: SpendThreshold) -> bool:
    """Whether a threshold is a configured default rather than a stored one."""
    return threshold.threshold_id.startswith(SETTINGS_ID_PREFIX)


def new_threshold_id() -> str:
    """``th_`` and 32 random hex digits."""
    return f"th_{secrets.token_hex(16)}"


def threshold_key(owner_id: str, threshold_id: str) -> Key:
    """Where one threshold is stored."""
    return f"{THRESHOLD_PK_PREFIX}{owner_id}", f"{THRESHOLD_SK_PREFIX}{threshold_id}"


def owner_key(owner_id: str) -> Key:
    """The owner's marker: how many thresholds they have, and the version of that set."""
    return f"{THRESHOLD_PK_PREFIX}{owner_id}", OWNER_SK


def marker_keys(user_id: str) -> list[Key]:
    """The markers of the owners whose thresholds can apply to a user's call: the global ones and theirs."""
    return [owner_key(GLOBAL_OWNER), owner_key(user_id)]


def thresholds_limit_error(limit: int) -> LimitReachedError:
    """The 409 of an owner at their cap."""
    return LimitReachedError("thresholds", limit, f"at most {limit} thresholds per owner")


class ThresholdStore(Protocol):
    """What routes, the alert checker and budget enforcement need from the stored thresholds."""

    def put(self, threshold: SpendThreshold) -> None: ...

    def get(self, owner_id: str, threshold_id: str) -> SpendThreshold | None: ...

    def list_for(self, owner_id: str) -> list[SpendThreshold]: ...

    def remembered(self, user_id: str, campaign_id: str) -> list[SpendThreshold]: ...

    def applicable(
        self, user_id: str, campaign_id: str, markers: Mapping[Key, Mapping[str, Any]] | None = None
    ) -> list[SpendThreshold]: ...

    def hard_cap(self, user_id: str) -> SpendThreshold | None: ...

    def tenant_cap(self, tenant_id: str) -> SpendThreshold | None: ...


def applicable_of(
    global_ones: list[SpendThreshold], users: list[SpendThreshold], campaign_id: str
) -> list[SpendThreshold]:
    """Global ones, plus the user's own user-scope ones and the ones on this campaign."""
    mine = [t for t in users if t.scope == "user" or (t.scope == "campaign" and t.subject_id == campaign_id)]
    return [*(t for t in global_ones if t.scope == "global"), *mine]


def hard_cap_of(owned: list[SpendThreshold], scope: ThresholdScope = "user") -> SpendThreshold | None:
    """The lowest monthly block/downgrade threshold of one scope (a user's, or a tenant's), if any."""
    caps = [t for t in owned if t.scope == scope and t.period == "monthly" and t.action in HARD_CAP_ACTIONS]
    return min(caps, key=lambda t: (t.micros, t.threshold_id), default=None)
