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


class InMemoryCostStore:
    """The costs table in a dict, with DynamoDB's semantics: all-or-nothing events, BETWEEN queries.

    A lock stands in for DynamoDB's transaction isolation, so threads can hammer one instance.
    ``requests`` counts calls per operation, like the botocore hook the benchmarks use.
    """

    def __init__(self) -> None:
        import threading

        self.items: dict[tuple[str, str], dict] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def add_event(self, key, event, counters, increment, counter_ttl) -> bool:
        with self._lock:
            self._count("TransactWriteItems")
            if key in self.items:
                return False
            self.items[key] = {"pk": key[0], "sk": key[1], **{k: v for k, v in event.items() if v is not None}}
            for counter in counters:
                item = self.items.setdefault(counter, {"pk": counter[0], "sk": counter[1]})
                item["micros"] = item.get("micros", 0) + increment.micros
                item["requests"] = item.get("requests", 0) + increment.requests
                item["tokensIn"] = item.get("tokensIn", 0) + increment.tokens_in
                item["tokensOut"] = item.get("tokensOut", 0) + increment.tokens_out
                item["fallbacks"] = item.get("fallbacks", 0) + increment.fallbacks
                item["expiresAt"] = counter_ttl
            return True

    def get_items(self, keys):
        with self._lock:
            self._count("BatchGetItem")
            return {key: dict(self.items[key]) for key in keys if key in self.items}

    def query(self, pk, low, high):
        with self._lock:
            self._count("Query")
            found = [dict(item) for (p, s), item in self.items.items() if p == pk and low <= s <= high]
            return sorted(found, key=lambda item: item["sk"])

    def put_if_absent(self, key, attributes) -> bool:
        with self._lock:
            self._count("PutItem")
            if key in self.items:
                return False
            self.items[key] = {"pk": key[0], "sk": key[1], **attributes}
            return True

    def delete(self, key) -> None:
        with self._lock:
            self._count("DeleteItem")
            self.items.pop(key, None)


class OutboxPublisher:
    """An alert publisher that keeps what it was given; ``fail`` makes the next publish raise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = False

    def publish(self, subject: str, body: str) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("SNS is unreachable")
        self.sent.append((subject, body))
