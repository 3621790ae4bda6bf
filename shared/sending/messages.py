"""The one message shape on the rate-limited queue: what to send, to whom, under which idempotency key."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field

from shared.core.models import CamelModel
from shared.sending.ids import AccountId, FanId, idempotency_key


class OutboundMessage(CamelModel):
    """One personalised message for one fan; the producer sets ``idempotency_key`` once, for good.

    Re-enqueueing (rate limited) creates a new SQS message id, so the SQS id cannot identify the
    send; this key does, through every redelivery and requeue.
    """

    idempotency_key: Annotated[str, Field(min_length=3, max_length=200)]
    workflow_id: str
    account_id: AccountId
    recipient_id: FanId
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    # The user the campaign ran for, checked as linked to the account before it was queued; the
    # gateway is told on whose behalf it sends.
    user_id: Annotated[str, Field(min_length=1, max_length=128)]

    @classmethod
    def for_recipient(
        cls, workflow_id: str, account_id: str, recipient_id: str, text: str, user_id: str
    ) -> OutboundMessage:
        """The message of ``recipient_id`` in ``workflow_id`` for ``user_id``, keyed ``<workflowId>#<recipientId>``."""
        return cls(
            idempotency_key=idempotency_key(workflow_id, recipient_id),
            workflow_id=workflow_id,
            account_id=account_id,
            recipient_id=recipient_id,
            text=text,
            user_id=user_id,
        )

    def to_body(self) -> str:
        """The SQS message body."""
        return self.model_dump_json(by_alias=True)


class MessageCounts(CamelModel):
    """Fan messages of the workflow by state."""

    sent: int = 0
    queued: int = 0
    failed: int = 0


class WorkflowCounters(Protocol):
    """What the sending path needs: atomic message counts on a workflow (see ``DynamoWorkflowStore``)."""

    def add_counts(
        self, workflow_id: str, updated_at: str, *, sent: int = 0, queued: int = 0, failed: int = 0
    ) -> MessageCounts | None: ...


class FanMessageStatus(CamelModel):
    """One fan's message in a workflow: what was written, and whether it reached the fan."""

    recipient_id: str
    state: MessageState
    text: str | None = Field(default=None, description="The generated message (none when generation failed)")
    reason: str | None = Field(default=None, description="Why it failed (state failed)")
    sent_at: str | None = None
    updated_at: str


MessageState = Literal["queued", "sent", "failed"]
