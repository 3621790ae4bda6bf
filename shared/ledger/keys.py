"""The costs table's key layout: raw events, aggregate counters and alert markers, all in one table.

Raw event:  pk ``EVENT#<requestId>``, sk ``EVENT`` (the idempotency key; 30-day TTL).
Counter:    pk ``AGG#<scope>#<dim>``, sk ``<period>#<value>`` where scope is ``ALL`` or
            ``USER#<userId>``, dim is one of :data:`DIMENSIONS`, period ``DAY#YYYY-MM-DD`` or
            ``MONTH#YYYY-MM``; the ``total`` dim's value is ``ALL``. Two compound dimensions
            serve Phase 2's analytics: ``campaign_provider`` (``<campaignId>#<provider>``: a
            campaign's provider split) and ``type_model`` (``<type>#<provider>#<deployment>``: what
            each campaign type ran on, which the optimizer prices again).
Alert:      pk ``ALERT#<threshold name>#<threshold micros>``, sk the period: one per crossing.

The other items of the table (see their modules) are told apart by their partition key's prefix, too.
Who may write which is an IAM condition on ``dynamodb:LeadingKeys`` (stacks/functions.py) built from
:data:`RECORDING_WRITE_PREFIXES`: the functions that handle LLM input (campaign, workflow_runner) write
spend, markers, alert history and budget holds, never thresholds, hard caps, alert rules or routing.

A breakdown over days is one Query per dimension: ``pk = AGG#<scope>#<dim> AND sk BETWEEN
DAY#<from> AND DAY#<to>$``. The upper bound ends in ``$`` (the character after ``#``), which sorts
after every ``DAY#<to>#<value>`` whatever the value's characters, and before the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.ledger.events import CostEvent

Key = tuple[str, str]

TOTAL = "ALL"
# Every dimension of the ALL scope; a user's scope has the same ones but "user" (it is one user).
DIMENSIONS = ("total", "provider", "model", "type", "campaign", "user", "campaign_provider", "type_model")
_AFTER_SEPARATOR = "$"  # chr(ord("#") + 1)

EVENT_PREFIX = "EVENT#"
COUNTER_PREFIX = "AGG#"
ALERT_MARKER_PREFIX = "ALERT#"
RULE_MARK_PREFIX = "RULEMARK#"  # threshold_checker's crossing markers and alert_rules' send windows
ALERT_HISTORY_PREFIX = "ALERTLOG#"  # alert_rules.HISTORY_PK_PREFIX
FORECAST_MARKER_PREFIX = "FORECAST#"  # forecast_watch's early-warning markers
BUDGET_PREFIX = "BUDGET#USER#"  # budget_store: a capped user's committed spend for a month
RESERVATION_PREFIX = "BUDGET#RES#"  # budget_store: one call's open hold
# Everything recording a billed call writes (ledger, threshold and forecast alerts, budget guard); a test
# runs that path against moto and checks it writes exactly these. Thresholds and hard caps
# (``THRESHOLDS#``), alert rules (beside them) and routing overrides (``ROUTING#``) are not among them.
RECORDING_WRITE_PREFIXES = (
    EVENT_PREFIX,
    COUNTER_PREFIX,
    ALERT_MARKER_PREFIX,
    RULE_MARK_PREFIX,
    ALERT_HISTORY_PREFIX,
    FORECAST_MARKER_PREFIX,
    BUDGET_PREFIX,
    RESERVATION_PREFIX,
)


@dataclass(frozen=True)
class Scope:
    """Whose spend: everybody's (``user_id`` None) or one user's."""

    user_id: str | None = None

    @property
    def key(self) -> str:
        """``ALL`` or ``USER#<userId>``."""
        return TOTAL if self.user_id is None else f"USER#{self.user_id}"

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Dimensions counted in this scope."""
        return DIMENSIONS if self.user_id is None else tuple(d for d in DIMENSIONS if d != "user")


EVERYONE = Scope()


def event_key(request_id: str) -> Key:
    """The raw event's key, which is also what makes recording idempotent."""
    return f"{EVENT_PREFIX}{request_id}", "EVENT"


def aggregate_pk(scope: Scope, dimension: str) -> str:
    """Partition of one scope's counters along one dimension."""
    return f"{COUNTER_PREFIX}{scope.key}#{dimension}"


def day_period(day: date) -> str:
    """``DAY#YYYY-MM-DD``."""
    return f"DAY#{day.isoformat()}"


def month_period(day: date) -> str:
    """``MONTH#YYYY-MM`` of the month holding ``day``."""
    return f"MONTH#{day:%Y-%m}"


def counter_key(scope: Scope, dimension: str, period: str, value: str = TOTAL) -> Key:
    """One counter item's key."""
    return aggregate_pk(scope, dimension), f"{period}#{value}"


def period_bounds(first: str, last: str) -> tuple[str, str]:
    """Sort-key bounds (inclusive) of every counter from period ``first`` to period ``last``."""
    return f"{first}#", f"{last}{_AFTER_SEPARATOR}"


def split_sort_key(sort_key: str) -> tuple[str, str]:
    """``DAY#2025-01-02#openai`` → (``DAY#2025-01-02``, ``openai``); values may contain ``#``."""
    kind, when, value = sort_key.split("#", 2)
    return f"{kind}#{when}", value


def alert_key(threshold_name: str, threshold_micros: int, period: str) -> Key:
    """The marker whose conditional creation elects the one sender of an alert."""
    return f"{ALERT_MARKER_PREFIX}{threshold_name}#{threshold_micros}", period


def counter_keys(event: CostEvent) -> list[Key]:
    """Every counter one call adds to: both scopes, each dimension, day and month."""
    values = {
        "total": TOTAL,
        "provider": event.provider,
        "model": event.model,
        "type": event.campaign_type,
        "campaign": event.campaign_id,
        "user": event.user_id,
        "campaign_provider": f"{event.campaign_id}#{event.provider}",
        "type_model": f"{event.campaign_type}#{event.provider}#{event.deployment}",
    }
    periods = (day_period(event.day), month_period(event.day))
    return [
        counter_key(scope, dimension, period, values[dimension])
        for scope in (EVERYONE, Scope(event.user_id))
        for dimension in scope.dimensions
        for period in periods
    ]
