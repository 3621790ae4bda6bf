"""The costs table's key layout: raw events, aggregate day counters and alert markers, all in one table.

Raw event:  pk ``EVENT#<requestId>``, sk ``EVENT`` (the idempotency key; 30-day TTL). The campaign path
            writes nothing else: counters are folded from the table's stream (shared/ledger/aggregator.py).
Counter:    pk ``AGG#<scope>#<dim>``, sk ``DAY#YYYY-MM-DD#<value>`` where scope is ``ALL``,
            ``USER#<userId>``, ``TENANT#<tenantId>`` or ``EXPERIMENT#<experimentId>``. Day counters only: a
            month is the sum of its days. Per call without a tenant or experiment, 4 items
            (:func:`counter_keys`; one ``UpdateItem`` each per batch, about 1 WRU each):

            1. ``AGG#ALL#total`` / ``DAY#d#ALL``: everyone's day total (global thresholds, ``groupBy=day``);
            2. ``AGG#ALL#type_model`` / ``DAY#d#<type>#<provider>#<deployment>#<model>`` (the model being the
               priced one a deployment maps to): everyone's provider, model and type are sums of it;
            3. ``AGG#ALL#user`` / ``DAY#d#<userId>``: **the user's day item**: the user's day total as its
               top-level counters, plus the user's ``type_model`` sub-counters as flat attributes of the same
               item (:mod:`shared.ledger.day_items`: a short digest of the value as each sub-counter's prefix,
               the value itself stored once, a field only once non-zero). Everyone's ``groupBy=user`` reads its
               top level; a user's stats and breakdowns read the user's day items over the range (one
               ``BatchGetItem``, exploded into ``type_model`` rows);
            4. ``AGG#USER#<u>#campaign_provider`` / ``DAY#d#<campaignId>#<provider>``: the user's campaigns. A
               campaign's day total is the sum of its providers (a Query of sk prefix ``DAY#d#<c>#`` in its
               owner's partition), its month the owner's month filtered to it. Everyone's ``groupBy=campaign``
               reads the users of the range from ``AGG#ALL#user``, then each one's ``campaign_provider``: bounded
               by users x days x values, never by calls (admins only).

            A call recorded under a tenant (the ``tenant`` claim) adds 3: ``AGG#ALL#tenant`` / ``DAY#d#<t>``,
            the tenant's day item (its total and ``type_model`` sub-counters, like a user's day item), and
            ``AGG#TENANT#t#user`` and ``AGG#TENANT#t#campaign_provider`` (statements by user and campaign).
Experiment: a call whose route came from a routing experiment adds to one more day counter,
            pk ``AGG#EXPERIMENT#<experimentId>#variant``, sk ``DAY#YYYY-MM-DD#<variant name>``, which also
            keeps what the experiment's statistics need (shared/ledger/variant_counters.py).
Alert:      pk ``ALERT#<threshold name>#<threshold micros>``, sk the period: one per crossing.

The other items of the table (see their modules) are told apart by their partition key's prefix, too.
Who may write which is an IAM condition on ``dynamodb:LeadingKeys`` (stacks/functions.py): the functions
that handle LLM input (campaign, workflow_runner) write only :data:`RECORDING_WRITE_PREFIXES` (events and
budget holds), the stream's aggregator only :data:`AGGREGATOR_WRITE_PREFIXES` (counters, markers, history),
the statements route only :data:`STATEMENT_WRITE_PREFIXES`, the experiments function only
:data:`EXPERIMENT_WRITE_PREFIXES` (its records, the routing overrides and their audit log), the outcomes route
only :data:`OUTCOME_WRITE_PREFIXES`, the threshold and alert-rule routes only :data:`THRESHOLD_WRITE_PREFIXES` and
the optimization route only :data:`OPTIMIZATION_WRITE_PREFIXES`.

Spend names. A threshold compares with a scope's total over its period, named like a counter:
``AGG#<scope>#total`` / ``<DAY#d | MONTH#m>#<owner>`` (:func:`spend_name`; owner ``ALL`` but for a campaign,
whose counters live in its owner's partition). Only everyone's day total is an item of that name; the others
are sums read by :func:`shared.ledger.spend_view.spend_of`.

A breakdown over days of a partition is one Query: ``pk = AGG#<scope>#<dim> AND sk BETWEEN
DAY#<from> AND DAY#<to>$`` (which partition holds what: :func:`shared.ledger.ledger.counter_items`). The
upper bound ends in ``$`` (the character after ``#``), which sorts after every ``DAY#<to>#<value>``
whatever the value's characters, and before the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.ledger.events import CostEvent

Key = tuple[str, str]

TOTAL = "ALL"
USER_DIMENSION = "user"  # AGG#ALL#user: the users' day items
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
THRESHOLD_PK_PREFIX = "THRESHOLDS#"  # shared.alerts: an owner's thresholds, their marker and their alert rules
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
# What the threshold and alert-rule routes write: an owner's thresholds, their marker and the rules beside them
# (each route checks who may name which owner; IAM keeps both out of every other item).
THRESHOLD_WRITE_PREFIXES = (THRESHOLD_PK_PREFIX,)
# What the optimization route writes: the routing overrides' current item and the changes' audit log.
OPTIMIZATION_WRITE_PREFIXES = (ROUTING_PREFIX,)


@dataclass(frozen=True)
class Scope:
    """Whose spend: everybody's (every id None), one user's, one tenant's, one campaign's (with its owner, the
    user whose partition holds its counters), or one routing experiment's (``variant`` only)."""

    user_id: str | None = None  # a campaign's owner when campaign_id is set
    campaign_id: str | None = None
    tenant_id: str | None = None
    experiment_id: str | None = None  # one routing experiment's calls, by variant

    def __post_init__(self) -> None:
        ids = (self.campaign_id or self.user_id, self.tenant_id, self.experiment_id)
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
    def has_day_items(self) -> bool:
        """A user's or a tenant's: its day total and ``type_model`` live in one day item per day."""
        return self.campaign_id is None and self.experiment_id is None and (self.user_id or self.tenant_id) is not None


def campaign_scope(campaign_id: str, owner_id: str | None = None) -> Scope:
    """One campaign's spend, summed from its owner's ``campaign_provider`` counters: what a campaign threshold
    watches."""
    return Scope(owner_id, campaign_id=campaign_id)


def tenant_scope(tenant_id: str) -> Scope:
    """One tenant's spend: the calls recorded under that ``tenant`` claim."""
    return Scope(tenant_id=tenant_id)


def experiment_scope(experiment_id: str) -> Scope:
    """One routing experiment's calls (its ``variant`` day counters)."""
    return Scope(experiment_id=experiment_id)


EVERYONE = Scope()
# Everyone's spend per tenant (``groupBy=tenant``): the tenants' day items, only for calls with a tenant.
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
    """Every day counter one call adds to: 4 (everyone's total and ``type_model``, the user's day item, the
    user's ``campaign_provider``); a call with a tenant 3 more (the tenant's day item, its ``user`` and
    ``campaign_provider``), a call whose route came from a routing experiment 1 more (its variant)."""
    values, period = counter_values(event), day_period(event.day)
    user = Scope(event.user_id)
    keys = [
        total_key(EVERYONE, event.day),
        counter_key(EVERYONE, "type_model", period, values["type_model"]),
        total_key(user, event.day),
        counter_key(user, "campaign_provider", period, values["campaign_provider"]),
    ]
    if event.tenant:
        tenant = tenant_scope(event.tenant)
        keys += [
            total_key(tenant, event.day),
            counter_key(tenant, "user", period, event.user_id),
            counter_key(tenant, "campaign_provider", period, values["campaign_provider"]),
        ]
    if event.experiment and event.variant:
        keys.append(counter_key(experiment_scope(event.experiment), "variant", period, values["variant"]))
    return keys


def is_experiment_counter(key: Key) -> bool:
    """A routing experiment's variant counter (it keeps more than the money, calls and tokens)."""
    return key[0].startswith(f"{COUNTER_PREFIX}{EXPERIMENT_SCOPE_PREFIX}")


_DAY_ITEM_PKS = (aggregate_pk(EVERYONE, USER_DIMENSION), aggregate_pk(EVERYONE, TENANT_DIMENSION))


def is_day_item(key: Key) -> bool:
    """A user's or a tenant's day item (it carries ``type_model`` sub-counters besides its total)."""
    return key[0] in _DAY_ITEM_PKS


def total_key(scope: Scope, day: date) -> Key:
    """The item holding a scope's day total: everyone's ``total``, a user's or a tenant's day item."""
    period = day_period(day)
    if scope.campaign_id is not None or scope.experiment_id is not None:
        raise ValueError(f"{scope} has no day total item (a campaign's is the sum of its providers)")
    if scope.tenant_id is not None:
        return counter_key(EVERYONE, TENANT_DIMENSION, period, scope.tenant_id)
    if scope.user_id is not None:
        return counter_key(EVERYONE, USER_DIMENSION, period, scope.user_id)
    return counter_key(EVERYONE, "total", period)


_SPEND_SUFFIX = "#total"


def spend_name(scope: Scope, period: str) -> Key:
    """The name of a scope's total over a period (``DAY#…`` or ``MONTH#…``): see the module docstring."""
    owner = scope.user_id if scope.campaign_id is not None and scope.user_id is not None else TOTAL
    return f"{COUNTER_PREFIX}{scope.key}{_SPEND_SUFFIX}", f"{period}#{owner}"


def is_spend_name(key: Key) -> bool:
    """A scope's total over a period, read as a sum of counters rather than as an item of its own."""
    return key[0].startswith(COUNTER_PREFIX) and key[0].endswith(_SPEND_SUFFIX)


def spend_scope(name: Key) -> tuple[Scope, str]:
    """(scope, period) of a spend name; the inverse of :func:`spend_name`."""
    scope_key = name[0].removeprefix(COUNTER_PREFIX).removesuffix(_SPEND_SUFFIX)
    period, owner = split_sort_key(name[1])
    kind, _, subject = scope_key.partition("#")
    scope = {
        "USER": lambda: Scope(subject),
        "TENANT": lambda: tenant_scope(subject),
        "CAMPAIGN": lambda: campaign_scope(subject, None if owner == TOTAL else owner),
    }.get(kind, lambda: EVERYONE)()
    return scope, period


def spend_name_of(key: Key) -> Key | None:
    """The spend name a day total item answers (everyone's, a user's, a tenant's), else None."""
    period, value = split_sort_key(key[1])
    if key[0] == aggregate_pk(EVERYONE, "total"):
        return key
    if key[0] == aggregate_pk(EVERYONE, USER_DIMENSION):
        return spend_name(Scope(value), period)
    if key[0] == aggregate_pk(EVERYONE, TENANT_DIMENSION):
        return spend_name(tenant_scope(value), period)
    return None
