"""In-memory fakes of the outcomes feature's ports (the workflows it checks against, the outcome store)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from shared.outcomes.model import MessageRevenue, OutcomeTotals, RevenueTotals, StoredOutcome
from shared.outcomes.store import RecordResult, square_increment
from shared.outcomes.workflow_targets import WorkflowTarget


class InMemoryWorkflowTargets:
    """Workflows by id."""

    def __init__(self, *targets: WorkflowTarget) -> None:
        self.items = {t.workflow_id: t for t in targets}

    def get(self, workflow_id: str) -> WorkflowTarget | None:
        return self.items.get(workflow_id)


class InMemoryOutcomeStore:
    """The outcome store in dicts, with the DynamoDB store's conditions (outcome absent, message version)."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str | None, str], StoredOutcome] = {}
        self.messages: dict[tuple[str, str | None], MessageRevenue] = {}
        self.campaigns: dict[str, RevenueTotals] = {}
        self.variants: dict[tuple[str, str], OutcomeTotals] = {}
        self.before_record = lambda: None  # a test's hook: another report landing between read and write

    def variant_totals(self, experiment_id: str) -> dict[str, OutcomeTotals]:
        return {
            variant: totals for (experiment, variant), totals in self.variants.items() if experiment == experiment_id
        }

    def campaign_revenue(self, campaign_ids: Iterable[str]) -> dict[str, RevenueTotals]:
        return {i: self.campaigns.get(i, RevenueTotals()) for i in campaign_ids}

    def get_outcome(self, workflow_id: str, recipient_id: str | None, outcome_id: str) -> StoredOutcome | None:
        return self.outcomes.get((workflow_id, recipient_id, outcome_id))

    def message_revenue(self, workflow_id: str, recipient_id: str | None) -> MessageRevenue:
        return self.messages.get((workflow_id, recipient_id), MessageRevenue())

    def record(self, stored: StoredOutcome, before: MessageRevenue) -> RecordResult:
        self.before_record()
        o = stored.outcome
        if (o.workflow_id, o.recipient_id, o.outcome_id) in self.outcomes:
            return "duplicate"
        if self.message_revenue(o.workflow_id, o.recipient_id) != before:
            return "message_changed"
        revenue, replies = o.revenue_nanos or 0, o.replies or 0
        self.outcomes[(o.workflow_id, o.recipient_id, o.outcome_id)] = stored
        self.messages[(o.workflow_id, o.recipient_id)] = MessageRevenue(
            before.revenue_nanos + revenue, before.replies + replies, before.version + 1
        )
        first = int(before.version == 0)
        c = self.campaigns.get(o.workflow_id, RevenueTotals())
        self.campaigns[o.workflow_id] = RevenueTotals(
            c.revenue_nanos + revenue, c.replies + replies, c.outcomes + 1, c.messages_with_outcome + first
        )
        if stored.experiment and stored.variant:
            key = (stored.experiment, stored.variant)
            v = self.variants.get(key, OutcomeTotals(0, 0, 0.0, 0))
            self.variants[key] = replace(
                v,
                messages_with_outcome=v.messages_with_outcome + first,
                revenue_nanos=v.revenue_nanos + revenue,
                revenue_squares=v.revenue_squares + square_increment(before.revenue_nanos, revenue),
                replies=v.replies + replies,
                messages_replied=v.messages_replied + int(before.replies == 0 and replies > 0),
            )
        return "recorded"
