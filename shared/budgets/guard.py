"""Hard monthly budgets: a call reserves its maximum possible cost before it runs and settles to the
billed cost after, so concurrent requests of one user (or of every user of one tenant) can never
together pass the cap.

A user's cap is their lowest monthly user-scope threshold with action ``block`` or ``downgrade``
(:meth:`shared.alerts.thresholds.ThresholdStore.hard_cap`); a tenant's is its lowest tenant-scope one,
which binds every call of the tenant's users. Without either, a request costs cached reads
(:mod:`shared.budgets.caps`) and nothing else. With one or both:

- The maximum cost of a call is what every candidate of its route could bill together: for each, an
  upper bound of the prompt's tokens (:func:`input_token_bound`) at its full input price (a prompt
  cache hit cannot be promised in advance) plus ``max_tokens`` at its output price, summed. A
  candidate bills at most once: the answer that serves ends the call, and a completion filtered on
  output (billed, then refused) falls back at once without a retry, so in the worst case every
  candidate before the one that serves bills a filtered completion. Failures before an answer
  carry no usage and bill nothing.
- Reserve: one transaction of a conditional ``ADD`` on each capped budget's month item, the user's and the
  tenant's (see :mod:`shared.budgets.store`); DynamoDB applies them one at a time, so however many run at
  once, committed never passes either cap, and a call that fits one cap but not the other holds nothing.
- Settle: ``ADD actual - reserved``, where actual is the step's billed attempts (filtered completions
  included), exactly what the ledger records, cached input at its cached price. A failed call settles
  to what it billed (usually nothing). The budget counts whole micro-dollars: exact nano-dollar costs
  are rounded up into it (holds and settles alike), so rounding can only leave the user below the cap.
- Over a cap: the binding cap is the one with the least left (cap - committed); its action decides.
  ``block`` refuses (402, :class:`~shared.core.errors.BudgetExceededError`); ``downgrade`` tries again on
  the cheaper route (``budget_downgrade_candidates``) and runs there if that fits both caps.

What can go wrong stays on the safe side: a process that dies between reserve and settle leaves its
reservation held (the user can spend less, never more); a settle that fails is logged and counted
(``BudgetSettleFailures``) with the same effect. A rerun of the same step (SQS redelivery) finds its
reservation still held and reuses it; once settled, a rerun reserves and settles again while the
ledger ignores the duplicate spend, so committed can only run ahead of the ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from shared.budgets.caps import HardCaps
from shared.budgets.store import BudgetStore, Reservation, tenant_budget, user_budget
from shared.core.errors import BudgetExceededError, BudgetUnavailableError
from shared.core.observability import logger, metrics
from shared.core.pricing import (
    PriceTable,
    UnpricedModelError,
    format_usd,
    nanos_to_micros,
    nanos_to_micros_ceiling,
)
from shared.core.time import utc_day
from shared.ledger.keys import Scope, month_start, tenant_scope
from shared.routing.candidates import RouteCandidate
from shared.routing.types import ChatMessage

if TYPE_CHECKING:
    from shared.alerts.thresholds import SpendThreshold
    from shared.ledger.ledger import CostLedger

DOWNGRADE_ROUTE = "budget:downgrade"  # the routing table's entry for budget_downgrade_candidates
# Tokens around each message (OpenAI's cookbook counts 3 plus the role's 1; we allow twice as many),
# and before the reply (the cookbook's 3, doubled). Byte-level BPE never packs less than one byte
# into a token, so a message's content and role cannot take more tokens than they have UTF-8 bytes.
MESSAGE_FRAMING_TOKENS = 8
REPLY_PRIMING_TOKENS = 6
_METRICS_LOCK = threading.Lock()  # fan messages are admitted from worker threads; Metrics is not thread-safe


@dataclass(frozen=True)
class BudgetCap:
    """One cap a call is held against: its budget item (:func:`user_budget`/:func:`tenant_budget`), the
    threshold that sets it, and whose ledger spend seeds the month."""

    budget: str
    threshold: SpendThreshold
    spend_scope: Scope


class RouteCandidates(Protocol):
    """The routing source the router itself serves from (:class:`~shared.routing.router.ProviderRouter`)."""

    def candidates(self, campaign_type: str) -> Sequence[RouteCandidate]: ...


def input_token_bound(messages: Sequence[ChatMessage]) -> int:
    """An upper bound of a prompt's input tokens: UTF-8 bytes of each role and content plus fixed framing."""
    return REPLY_PRIMING_TOKENS + sum(
        len(m["role"].encode()) + len(m["content"].encode()) + MESSAGE_FRAMING_TOKENS for m in messages
    )


def max_call_micros(
    candidates: Sequence[RouteCandidate], prices: PriceTable, messages: Sequence[ChatMessage], max_tokens: int
) -> int:
    """The most one routed call could bill, in whole micro-dollars (rounded up): every candidate at the
    input bound and ``max_tokens`` out, added up, since each may bill once (see the module docstring).

    Unpriced candidates are left out: the router skips them without calling.
    """
    input_tokens = input_token_bound(messages)
    nanos = 0
    for candidate in candidates:
        try:
            nanos += prices.cost(candidate.provider, candidate.model, input_tokens, max_tokens).nanos
        except UnpricedModelError:
            continue
    return nanos_to_micros_ceiling(nanos)


@dataclass(frozen=True)
class Admission:
    """May the call run, on which route, with what held; ``note`` says why the route changed."""

    route: str
    reservation: Reservation | None = None
    note: str | None = None
    # The route's candidates as read for this request (None: the router reads them), so the
    # overrides are read once per request, by whoever needs them first.
    candidates: Sequence[RouteCandidate] | None = None


class Budget(Protocol):
    """What the campaign services ask before and after each provider call."""

    def admit(
        self,
        user_id: str,
        reservation_id: str,
        route: str,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
        tenant: str | None = None,
    ) -> Admission: ...

    def settle(self, admission: Admission, billed_nanos: int) -> None: ...


class Unbudgeted:
    """No budget enforcement at all (services built without a guard)."""

    def admit(
        self,
        user_id: str,
        reservation_id: str,
        route: str,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
        tenant: str | None = None,
    ) -> Admission:
        """Always the asked route, nothing held."""
        return Admission(route, candidates=candidates)

    def settle(self, admission: Admission, billed_nanos: int) -> None:
        """Nothing to settle."""


class BudgetGuard:
    """Reserves before each provider call of a capped user and settles after; see the module docstring."""

    def __init__(
        self,
        caps: HardCaps,
        store: BudgetStore,
        routes: RouteCandidates,
        prices: PriceTable,
        month_spend: Callable[[Scope, date], int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._caps = caps
        self._store = store
        self._routes = routes
        self._prices = prices
        self._month_spend = month_spend
        self._clock = clock

    def admit(
        self,
        user_id: str,
        reservation_id: str,
        route: str,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None = None,
        tenant: str | None = None,
    ) -> Admission:
        """Reserve the call's maximum cost on ``route`` (or the downgrade route) under the user's cap and
        their tenant's; raise when neither route fits both.

        A budget that cannot be read or written refuses the call (503) rather than run it unchecked.
        """
        try:
            return self._admit(user_id, reservation_id, route, messages, max_tokens, candidates, tenant)
        except BudgetExceededError:
            raise
        except Exception as exc:
            logger.exception("budget check failed", extra={"user_id": user_id, "reservation_id": reservation_id})
            _count("BudgetCheckFailures")
            raise BudgetUnavailableError("The monthly budget could not be checked; try again shortly.") from exc

    def _admit(
        self,
        user_id: str,
        reservation_id: str,
        route: str,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        candidates: Sequence[RouteCandidate] | None,
        tenant: str | None,
    ) -> Admission:
        caps = self._caps_of(user_id, tenant)
        if not caps:
            return Admission(route, candidates=candidates)
        today = utc_day(self._clock())
        if candidates is None:
            candidates = self._routes.candidates(route)
        needed = max_call_micros(candidates, self._prices, messages, max_tokens)
        month = f"{today:%Y-%m}"
        budgets = tuple(c.budget for c in caps)
        held, committed = self._reserve(Reservation(reservation_id, budgets, month, needed, route), caps)
        if held is not None:
            return Admission(held.route, held, candidates=candidates)
        binding = min(caps, key=lambda c: (c.threshold.micros - committed.get(c.budget, 0), c.budget))
        cap, spent = binding.threshold, committed.get(binding.budget, 0)
        cheaper = self._downgrade_cost(cap, route, messages, max_tokens)
        if cheaper is not None and cheaper < needed:
            downgraded, _ = self._reserve(Reservation(reservation_id, budgets, month, cheaper, DOWNGRADE_ROUTE), caps)
            if downgraded is not None:
                _count("BudgetDowngrades")
                note = (
                    f"budget downgrade: up to {format_usd(needed)} on {route} would pass the {cap.scope}'s monthly "
                    f"cap ({format_usd(max(cap.micros - spent, 0))} of {format_usd(cap.micros)} left); "
                    f"ran on the cheaper route (up to {format_usd(cheaper)})"
                )
                return Admission(downgraded.route, downgraded, note)
        _count("BudgetBlocks")
        raise exceeded(cap, spent, needed, month)

    def settle(self, admission: Admission, billed_nanos: int) -> None:
        """Replace the held amount by what the call billed (exact nanos, committed rounded up to a whole
        micro-dollar); a failure is logged and leaves it held (safe side)."""
        reservation = admission.reservation
        if reservation is None:
            return
        billed_micros = nanos_to_micros_ceiling(billed_nanos)
        about = {"reservation_id": reservation.reservation_id, "held": reservation.micros, "billed": billed_micros}
        if billed_micros > reservation.micros:
            logger.error("a call billed more than its reservation", extra=about)
        try:
            if not self._store.settle(reservation, billed_micros):
                logger.info("reservation already settled", extra=about)
        except Exception:
            logger.exception("budget settle failed; the reservation stays held", extra=about)
            _count("BudgetSettleFailures")

    def _caps_of(self, user_id: str, tenant: str | None) -> list[BudgetCap]:
        """The caps a call of this user is held against: theirs, their tenant's, both or none."""
        caps = []
        mine = self._caps.hard_cap(user_id)
        if mine is not None:
            caps.append(BudgetCap(user_budget(user_id), mine, Scope(user_id)))
        theirs = self._caps.tenant_cap(tenant) if tenant else None
        if tenant and theirs is not None:
            caps.append(BudgetCap(tenant_budget(tenant), theirs, tenant_scope(tenant)))
        return caps

    def _reserve(
        self, reservation: Reservation, caps: Sequence[BudgetCap]
    ) -> tuple[Reservation | None, dict[str, int]]:
        """The reservation now held (a new one, or the one this id already holds), else each budget's committed."""
        limits = {c.budget: c.threshold.micros for c in caps}
        result = self._store.reserve(reservation, limits)
        if result.status == "missing":  # the month's first budgeted call: start from what the ledger has
            day = utc_day(self._clock())
            for cap in caps:
                if cap.budget in result.missing:
                    self._store.seed(cap.budget, reservation.month, self._month_spend(cap.spend_scope, day))
            result = self._store.reserve(reservation, limits)
        if result.reservation is not None:
            return result.reservation, {}
        return None, dict(result.committed)

    def _downgrade_cost(
        self, cap: SpendThreshold, route: str, messages: Sequence[ChatMessage], max_tokens: int
    ) -> int | None:
        """The downgrade route's maximum cost, when the cap allows a downgrade and one is configured."""
        if cap.action != "downgrade" or route == DOWNGRADE_ROUTE:
            return None
        try:
            candidates = self._routes.candidates(DOWNGRADE_ROUTE)
        except KeyError:
            return None
        return max_call_micros(candidates, self._prices, messages, max_tokens)


def _count(name: str) -> None:
    with _METRICS_LOCK:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def exceeded(cap: SpendThreshold, committed: int, needed: int, month: str) -> BudgetExceededError:
    """The 402: how much the request could cost, against what is left of the binding cap."""
    left = max(cap.micros - committed, 0)
    whose = "the tenant's" if cap.scope == "tenant" else "the"
    return BudgetExceededError(
        f"This request could cost up to {format_usd(needed)}; {format_usd(left)} of {whose} "
        f"{format_usd(cap.micros)} monthly budget is left.",
        details=[
            {
                "field": "budget",
                "type": "budget_exceeded",
                "message": f"{month}: cap {cap.micros}, committed {committed}, needed {needed} micro-USD",
                "capMicros": cap.micros,
                "committedMicros": committed,
                "neededMicros": needed,
                "availableMicros": left,
                "month": month,
                "action": cap.action,
                "thresholdId": cap.threshold_id,
                "scope": cap.scope,  # user or tenant: whose cap binds
                **({"tenant": cap.subject_id} if cap.scope == "tenant" else {}),
            }
        ],
    )


def with_downgrade_route(
    routing_table: dict[str, list[RouteCandidate]], candidates: Sequence[RouteCandidate]
) -> dict[str, list[RouteCandidate]]:
    """The routing table plus the downgrade route, so the one router (and its circuits) serves it."""
    return {**routing_table, DOWNGRADE_ROUTE: list(candidates)}


def ledger_month_spend(ledger: CostLedger) -> Callable[[Scope, date], int]:
    """A user's or a tenant's month-to-date spend from the ledger's counters (what seeds the month's budget)."""

    def spend(scope: Scope, day: date) -> int:
        days = ledger.breakdown(scope, "day", month_start(day), day).values()
        return nanos_to_micros(sum(c.nanos for c in days))  # the month's figure as the ledger shows it

    return spend
