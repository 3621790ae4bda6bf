"""Reading a workflow back: to its owner or an admin, with a page of its fans' messages."""

from __future__ import annotations

from shared.campaigns.models import Workflow
from shared.campaigns.workflows import WorkflowRepository
from shared.core.errors import WorkflowNotFoundError
from shared.core.identity import Caller
from shared.sending.message_states import MessageStates, message_page
from shared.sending.messages import FanMessageStatus


class WorkflowReader:
    """The status route's use case."""

    def __init__(self, workflows: WorkflowRepository, messages: MessageStates) -> None:
        self._workflows, self._messages = workflows, messages

    def read(
        self, caller: Caller, workflow_id: str, limit: int, start: int
    ) -> tuple[Workflow, list[FanMessageStatus], str | None]:
        """The workflow, ``limit`` of its messages from ``start`` and the next page's token.

        Another user's workflow answers exactly like a missing one, so ids cannot be probed.
        """
        workflow = self._workflows.get(workflow_id)
        if workflow is None or not caller.can_read(workflow.owner_id, workflow.tenant):
            raise WorkflowNotFoundError("No such workflow.")
        messages, following = message_page(self._messages, workflow_id, workflow.recipient_ids, limit, start)
        return workflow, messages, following
