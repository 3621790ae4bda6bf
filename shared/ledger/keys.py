"""The costs table's key layout: raw events, aggregate day counters and alert markers, all in one table.

Raw event:  pk ``EVENT#<requestId>``, sk ``EVENT`` (the idempotency key; 30-day TTL). The campaign path
            writes nothing else: counters are folded from the table's stream (shared/ledger/aggregator.py).
Counter:    pk ``AGG#<scope>#<dim>``, sk ``DAY#YYYY-MM-DD#<value>`` where scope is ``ALL``,
            ``USER#<userId>``, ``CAMPAIGN#<campaignId>`` or ``TENANT#<tenantId>``. Day counters only: a
            month is the sum of its days (a Query of at most 31 x values items). Per call, 8 counters
            (:func:`counter_keys`):
            ``ALL``: ``total`` (value ``ALL``), ``type_model`` (``<type>#<provider>#<deployment>#<model>``,
            the model being the priced one a deployment maps to), ``campaign_provider``
            (``<campaignId>#<provider>``) and ``user``; ``USER#u``: ``total``, ``type_model``,
            ``campaign_provider``; ``TENANT#t``: the same four as ``ALL`` (what a tenant's cap and monthly
            statement read); ``CAMPAIGN#c``: ``total``. Provider, model and type are sums of
            ``type_model``; a campaign's spend in a breakdown is the sum of its ``campaign_provider``
            values. The ``total`` counters are kept (a sum of the others) because a threshold's crossing
            is read off one counter's new value: a scope's day total. A call recorded under a tenant
            (the ``tenant`` claim) adds 5 more: ``TENANT#t`` has the dimensions of ``ALL``, and ``ALL``'s
            ``tenant`` dimension (value the tenant id) answers ``groupBy=tenant``.
Experiment: a call whose route came from a routing experiment adds to one more day counter,
            pk ``AGG#EXPERIMENT#<experimentId>#variant``, sk ``DAY#YYYY-MM-DD#<variant name>``, which also
            keeps what the experiment's statistics need (shared/ledger/variant_counters.py).
Alert:      pk ``ALERT#<threshold name>#<threshold micros>``, sk the period: one per crossing.

The other items of the table (see their modules) are told apart by their partition key's prefix, too.
Who may write which is an IAM condition on ``dynamodb:LeadingKeys`` (stacks/functions.py): the functions
that handle LLM input (campaign, workflow_runner) write only :data:`RECORDING_WRITE_PREFIXES` (events and
budget holds), the stream's aggregator only :data:`AGGREGATOR_WRITE_PREFIXES` (counters, markers, history),
the statements route only :data:`STATEMENT_WRITE_PREFIXES` and the experiments function only
:data:`EXPERIMENT_WRITE_PREFIXES` (its records, the routing overrides and their audit log).

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
# The day counters of the ALL scope; a user's scope has the same ones but "user" (it is one user).
DIMENSIONS = ("total", "type_model", "campaign_provider", "user")
_AFTER_SEPARATOR = "$"  # chr(ord("#") + 1)

EVENT_PREFIX = "EVENT#"
COUNTER_PREFIX = "AGG#"
EXPERIMENT_SCOPE_PREFIX = "EXPERIMENT#"  # a counter scope: AGG#EXPERIMENT#<id>#variant
ALERT_MARKER_PREFIX = "ALERT#"
RULE_MARK_PREFIX = "RULEMARK#"  # threshold_checker's crossing markers and alert_rules' send windows
ALERT_HISTORY_PREFIX = "ALERTLOG#"  # shared.alerts.rule_store.HISTORY_PK_PREFIX
FORECAST_MARKER_PREFIX = "FORECAST#"  # forecast_watch's early-warning markers
BUDGET_PREFIX = "BUDGET#USER#"  # budget_store: a capped user's committed spend for a month
TENANT_BUDGET_PREFIX = "BUDGET#TENANT#"  # budget_store: a capped tenant's committed spend for a month
RESERVATION_PREFIX = "BUDGET#RES#"  # budget_store: one call's open hold
STATEMENT_PREFIX = "STATEMENT#"  # shared.billing.statements: a closed month's frozen statement of a tenant
OUTCOME_PREFIX = "OUTCOME#"  # shared.outcomes.store: a workflow's outcomes, its messages' revenue, its totals
VARIANT_OUTCOME_PREFIX = "OUTCOMEVAR#"  # shared.outcomes.store: an experiment variant's outcome totals
EXPERIMENT_RECORDS_PREFIX = "EXPERIMENTS"  # shared.experiments.store: the experiments' records (that very pk)
ROUTING_PREFIX = "ROUTING#"  # shared.routing.overrides: the current overrides item and the changes' audit log
# Everything recording a billed call writes on the campaign path (the event, the budget guard's holds); a
# test runs that path against moto and checks it writes exactly these. No counter, no marker: those are the
# aggregator's. Thresholds and hard caps (``THRESHOLDS#``), alert rules (beside them) and routing overrides
# (``ROUTING#``) are written by neither.
RECORDING_WRITE_PREFIXES = (EVENT_PREFIX, BUDGET_PREFIX, TENANT_BUDGET_PREFIX, RESERVATION_PREFIX)
# What the statements route writes: nothing but the frozen statements of closed months.
STATEMENT_WRITE_PREFIXES = (STATEMENT_PREFIX,)
# What the experiments function writes: the records, and the routing overrides' current item (the running
# experiments; a promotion's route) with a promotion's audited change. Its variant counters are the aggregator's.
EXPERIMENT_WRITE_PREFIXES = (EXPERIMENT_RECORDS_PREFIX, ROUTING_PREFIX)
# What the stream's aggregator writes: the counters it folds, and the alerts' claim-once markers and history.
AGGREGATOR_WRITE_PREFIXES = (
    COUNTER_PREFIX,
    ALERT_MARKER_PREFIX,
    RULE_MARK_PREFIX,
    ALERT_HISTORY_PREFIX,
    FORECAST_MARKER_PREFIX,
)

# What the outcomes route writes (one transaction per reported outcome), and nothing else.
OUTCOME_WRITE_PREFIXES = (OUTCOME_PREFIX, VARIANT_OUTCOME_PREFIX)


@dataclass(frozen=True)
class Scope:
    """Whose spend: everybody's (every id None), one user's, one tenant's, one campaign's (``total`` only), or
    one routing experiment's (``variant`` only); at most one id is set."""

    user_id: str | None = None
    campaign_id: str | None = None
    tenant_id: str | None = None
    experiment_id: str | None = None  # one routing experiment's calls, by variant

    def __post_init__(self) -> None:
        ids = (self.user_id, self.campaign_id, self.tenant_id, self.experiment_id)
        if sum(value is not None for value in ids) > 1:  # a counter belongs to one scope: its key would be ambiguous
            raise ValueError(f"a scope names one of user, campaign, tenant or experiment, not several: {self}")

    @property
    def key(self) -> str:
        """``ALL``, ``USER#<userId>``, ``TENANT#<tenantId>``, ``CAMPAIGN#<campaignId>`` or
        ``EXPERIMENT#<experimentId>``."""
        if self.experiment_id is not None:
            return f"{EXPERIMENT_SCOPE_PREFIX}{self.experiment_id}"
        if self.campaign_id is not None:
            return f"CAMPAIGN#{self.campaign_id}"
        if self.tenant_id is not None:
            return f"TENANT#{self.tenant_id}"
        return TOTAL if self.user_id is None else f"USER#{self.user_id}"

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Dimensions counted in this scope: an experiment's ``variant``, a campaign's ``total``, a tenant's
        the same as everyone's, a user's those but ``user``."""
        if self.experiment_id is not None:
            return ("variant",)
        if self.campaign_id is not None:
            return ("total",)
        if self.tenant_id is not None:
            return DIMENSIONS
        return DIMENSIONS if self.user_id is None else tuple(d for d in DIMENSIONS if d != "user")


def campaign_scope(campaign_id: str) -> Scope:
    """One campaign's spend (its ``total`` day counters): what a campaign threshold watches."""
    return Scope(campaign_id=campaign_id)


def tenant_scope(tenant_id: str) -> Scope:
    """One tenant's spend: the calls recorded under that ``tenant`` claim."""
    return Scope(tenant_id=tenant_id)


def experiment_scope(experiment_id: str) -> Scope:
    """One routing experiment's calls (its ``variant`` day counters)."""
    return Scope(experiment_id=experiment_id)


EVERYONE = Scope()
# Everyone's spend per tenant (``groupBy=tenant``): one counter per day and tenant, only for calls with one.
TENANT_DIMENSION = "tenant"


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
    """``MONTH#YYYY-MM`` of the month holding ``day``: the period key of monthly markers (no counter has it)."""
    return f"MONTH#{day:%Y-%m}"


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


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


def counter_values(event: CostEvent) -> dict[str, str]:
    """Each dimension's value for one call."""
    return {
        "total": TOTAL,
        "user": event.user_id,
        "campaign_provider": f"{event.campaign_id}#{event.provider}",
        "type_model": f"{event.campaign_type}#{event.provider}#{event.deployment}#{event.model}",
        "variant": event.variant or "",
    }


def counter_keys(event: CostEvent) -> list[Key]:
    """Every day counter one call adds to: 4 for everyone, 3 for the user, 1 for the campaign; a call with
    a tenant adds 4 for the tenant and everyone's ``tenant`` counter (a call without one costs nothing more),
    and a call whose route came from a routing experiment 1 for its variant."""
    values, period = counter_values(event), day_period(event.day)
    scopes = [EVERYONE, Scope(event.user_id), campaign_scope(event.campaign_id)]
    if event.tenant:
        scopes.append(tenant_scope(event.tenant))
    if event.experiment and event.variant:
        scopes.append(experiment_scope(event.experiment))
    keys = [
        counter_key(scope, dimension, period, values[dimension]) for scope in scopes for dimension in scope.dimensions
    ]
    if event.tenant:
        keys.append(counter_key(EVERYONE, TENANT_DIMENSION, period, event.tenant))
    return keys


def is_experiment_counter(key: Key) -> bool:
    """A routing experiment's variant counter (it keeps more than the money, calls and tokens)."""
    return key[0].startswith(f"{COUNTER_PREFIX}{EXPERIMENT_SCOPE_PREFIX}")


def total_key(scope: Scope, day: date) -> Key:
    """A scope's day total: the counter whose new value a threshold's crossing is read from."""
    return counter_key(scope, "total", day_period(day))
