"""At most one successful run per idempotency key, through Powertools Idempotency (DynamoDB).

The drainer wraps "check the limiter, call the gateway, count it" in :meth:`OnceGuard.run`. A
run that raises leaves no record (Powertools deletes its in-progress record), so a message put
back on the queue or retried by SQS runs again; a run that returned is remembered, and every
later delivery of the same key gets the stored result without reaching the gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

Action = Callable[[], dict[str, Any]]


class OnceGuard(Protocol):
    """Runs an action once per key; later calls with the same key return the first result."""

    def bind(self, context: Any) -> None: ...

    def run(self, key: str, action: Action) -> dict[str, Any]: ...


class PowertoolsOnce:
    """:class:`OnceGuard` over a Powertools persistence layer (the idempotency table when deployed)."""

    def __init__(self, persistence: BasePersistenceLayer, expires_after_s: int) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="key", expires_after_seconds=expires_after_s, raise_on_no_idempotency_key=True
        )
        guard = idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=self._config)
        self._run = guard(_invoke)

    def bind(self, context: Any) -> None:
        """Tie in-progress records to the invocation's remaining time, so a crashed run can be retried."""
        self._config.register_lambda_context(context)

    def run(self, key: str, action: Action) -> dict[str, Any]:
        """Run ``action`` unless ``key`` already ran to completion; raises ``IdempotencyAlreadyInProgressError``
        while another container holds the key."""
        return self._run(job={"key": key}, action=action)


def _invoke(job: dict[str, str], action: Action) -> dict[str, Any]:
    return action()
