"""Reporting an outcome: who may, against which message, and exactly once per ``(workflow, recipient, outcome id)``.

The workflow's owner or an admin may report; anyone else gets the 404 a missing workflow gets, so ids
cannot be probed. A ``fan_messages`` workflow's outcome names one of its recipients (``recipientId``); a
workflow of another type is one message and names none. A replay of the same report answers the first
write's outcome (``created`` False: the route's 200); the same key with another body is a 409 naming
the field that differs. A report whose message changed between the read and the transaction (another
outcome of the same message, committed meanwhile) is redone from a fresh read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from shared.campaigns.models import FAN_MESSAGES
from shared.core.errors import CampaignInputError, OutcomeConflictError, WorkflowNotFoundError
from shared.core.identity import Caller
from shared.core.time import iso_timestamp
from shared.outcomes.model import ReportedOutcome, StoredOutcome
from shared.outcomes.store import OutcomeStore
from shared.outcomes.workflow_targets import WorkflowTarget, WorkflowTargets

_MESSAGE_RETRIES = 16  # concurrent reports of one message: each retry follows another report's commit


class OutcomeService:
    """The outcomes route's use case."""

    def __init__(
        self,
        workflows: WorkflowTargets,
        store: OutcomeStore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._workflows, self._store, self._clock, self._sleep = workflows, store, clock, sleep

    def report(self, caller: Caller, outcome: ReportedOutcome) -> tuple[StoredOutcome, bool]:
        """The outcome as stored, and whether this call stored it (False for a replay)."""
        target = self._workflows.get(outcome.workflow_id)
        if target is None or not caller.can_read(target.owner_id):
            raise WorkflowNotFoundError("No such workflow.")
        _check_recipient(target, outcome.recipient_id)
        existing = self._store.get_outcome(outcome.workflow_id, outcome.recipient_id, outcome.outcome_id)
        if existing is not None:
            return _replayed(existing, outcome), False
        stored = StoredOutcome(
            outcome=outcome,
            recorded_at=iso_timestamp(self._clock()),
            recorded_by=caller.user_id,
            experiment=target.experiment,
            variant=target.variant,
        )
        for attempt in range(_MESSAGE_RETRIES):
            if attempt:  # jittered, growing: concurrent reports of one message spread out instead of colliding again
                self._sleep(random.uniform(0, min(0.005 * 2**attempt, 0.25)))
            before = self._store.message_revenue(outcome.workflow_id, outcome.recipient_id)
            result = self._store.record(stored, before)
            if result == "recorded":
                return stored, True
            if result == "duplicate":  # the same key committed meanwhile by a concurrent report
                first = self._store.get_outcome(outcome.workflow_id, outcome.recipient_id, outcome.outcome_id)
                if first is not None:
                    return _replayed(first, outcome), False
        raise OutcomeConflictError(
            "The message kept changing under concurrent reports; retry.",
            details=[{"field": "recipientId", "message": "concurrent outcomes for this message", "type": "conflict"}],
        )


def _check_recipient(target: WorkflowTarget, recipient_id: str | None) -> None:
    if target.type == FAN_MESSAGES:
        if recipient_id is None:
            _invalid("recipientId is required for a fan_messages workflow")
        if recipient_id not in target.recipient_ids:
            _invalid(f"{recipient_id!r} is not one of the workflow's recipients")
    elif recipient_id is not None:
        _invalid(f"a {target.type} workflow has no recipients; leave recipientId out")


def _invalid(message: str) -> None:
    raise CampaignInputError(message, details=[{"field": "recipientId", "message": message, "type": "value_error"}])


def _replayed(first: StoredOutcome, again: ReportedOutcome) -> StoredOutcome:
    """The first write, when ``again`` reports the same; else a 409 naming each field that differs."""
    differing = [
        (name, f"{name} differs from the first report of this outcomeId")
        for name, before, now in (
            ("revenueUsd", first.outcome.revenue_nanos, again.revenue_nanos),
            ("replies", first.outcome.replies, again.replies),
        )
        if before != now
    ]
    if differing:
        raise OutcomeConflictError(
            "This outcomeId was already reported with a different body.",
            details=[{"field": name, "message": message, "type": "conflict"} for name, message in differing],
        )
    return first
