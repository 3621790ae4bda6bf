"""In-memory fakes of our storage ports and providers, for tests that need no network at all."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerPersistenceLayer
from aws_lambda_powertools.utilities.circuit_breaker.persistence.base import CircuitBreakerExistingLockError
from aws_lambda_powertools.utilities.circuit_breaker.persistence.record import CircuitStateRecord
from aws_lambda_powertools.utilities.circuit_breaker.states import CircuitState

from shared.models import Workflow
from shared.providers.types import ChatMessage, Completion


class InMemoryCircuitStore(CircuitBreakerPersistenceLayer):
    """Circuit state in a dict; share one ``records`` dict between instances to act as one store."""

    def __init__(self, records: dict[str, CircuitStateRecord] | None = None) -> None:
        super().__init__()
        self.records = records if records is not None else {}

    def _get_record(self, name: str) -> CircuitStateRecord | None:
        record = self.records.get(name)
        return copy.copy(record) if record else None

    def _put_record(
        self, record: CircuitStateRecord, condition: str | None = None, expected_opened_at: int | None = None
    ) -> None:
        if condition == "half_open":
            current = self.records.get(record.name)
            if current is None or current.state != CircuitState.OPEN or current.half_open_owner is not None:
                raise CircuitBreakerExistingLockError(record.name)
            if expected_opened_at is not None and current.opened_at != expected_opened_at:
                raise CircuitBreakerExistingLockError(record.name)
        self.records[record.name] = copy.copy(record)

    def _update_record(self, record: CircuitStateRecord) -> None:
        self.records[record.name] = copy.copy(record)


class ScriptedProvider:
    """A provider that answers from a script: each entry is a Completion to return or an exception to raise."""

    def __init__(self, name: str, script: Sequence[Completion | Exception] = ()) -> None:
        self.name = name
        self.script = list(script)
        self.calls: list[dict] = []

    def complete(self, model: str, messages: Sequence[ChatMessage], *, timeout_s: float, max_tokens: int) -> Completion:
        self.calls.append({"model": model, "timeout_s": timeout_s, "max_tokens": max_tokens})
        result = self.script.pop(0) if self.script else completion()
        if isinstance(result, Exception):
            raise result
        return result


def completion(content: str = "ok", input_tokens: int = 100, output_tokens: int = 50) -> Completion:
    """A successful completion with the given usage."""
    return Completion(content=content, input_tokens=input_tokens, output_tokens=output_tokens, reported_model="x")


class InMemoryWorkflowStore:
    """The workflow repository in a dict, keeping every saved version for assertions."""

    def __init__(self) -> None:
        self.items: dict[str, Workflow] = {}
        self.history: list[Workflow] = []

    def save(self, workflow: Workflow) -> None:
        self.items[workflow.workflow_id] = workflow
        self.history.append(workflow)

    def get(self, workflow_id: str) -> Workflow | None:
        return self.items.get(workflow_id)
