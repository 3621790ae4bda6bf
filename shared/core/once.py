"""At most one successful run per idempotency key, through Powertools Idempotency.

The drainer wraps "check the limiter, call the gateway, count it" in :meth:`OnceGuard.run`. A
run that raises leaves no record (Powertools deletes its in-progress record), so a message put
back on the queue or retried by SQS runs again; a run that returned is remembered, and every
later delivery of the same key gets the stored result without reaching the gateway.

Where the records live is the persistence layer's business: the workflow runner keeps them in the
idempotency table (DynamoDB), the message sender in Redis (:mod:`shared.sending.send_once`).

A store that cannot be reached is never "run anyway": when the in-progress record cannot be written
(or a failed run's record cannot be deleted), :meth:`PowertoolsOnce.run` raises
:class:`OnceGuardUnavailableError` and the action has not completed, so the caller retries later. When
the action completed but its result could not be stored, the result is returned: the work is done and
running it again would repeat it; a later delivery of the same key may then run again once the
in-progress record's lease has lapsed (for sends, the gateway's idempotency key covers that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from shared.core.observability import logger

Action = Callable[[], dict[str, Any]]


class OnceGuardUnavailableError(IdempotencyPersistenceLayerError):
    """The guard's store could not be reached and the action did not complete: try again later."""


class OnceGuard(Protocol):
    """Runs an action once per key; later calls with the same key return the first result."""

    def bind(self, context: Any) -> None: ...

    def run(self, key: str, action: Action) -> dict[str, Any]: ...


class PowertoolsOnce:
    """:class:`OnceGuard` over a Powertools persistence layer (DynamoDB table or Redis)."""

    def __init__(
        self, persistence: BasePersistenceLayer, expires_after_s: int, *, key_prefix: str | None = None
    ) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="key", expires_after_seconds=expires_after_s, raise_on_no_idempotency_key=True
        )
        guard = idempotent_function(
            data_keyword_argument="job", persistence_store=persistence, config=self._config, key_prefix=key_prefix
        )
        self._run = guard(_invoke)

    def bind(self, context: Any) -> None:
        """Tie in-progress records to the invocation's remaining time, so a crashed run can be retried."""
        self._config.register_lambda_context(context)

    def run(self, key: str, action: Action) -> dict[str, Any]:
        """Run ``action`` unless ``key`` already ran to completion.

        Raises ``IdempotencyAlreadyInProgressError`` while another container holds the key, and
        :class:`OnceGuardUnavailableError` when the store cannot be reached before the action completed.
        """
        completed: list[dict[str, Any]] = []

        def tracked() -> dict[str, Any]:
            result = action()
            completed.append(result)
            return result

        try:
            return self._run(job={"key": key}, action=tracked)
        except OnceGuardUnavailableError:
            raise
        except IdempotencyPersistenceLayerError as exc:
            if completed:  # done once already; only its record is missing
                logger.error("the completed run's record could not be stored", extra={"key": key, "error": str(exc)})
                return completed[0]
            raise OnceGuardUnavailableError(*exc.args) from exc


def _invoke(job: dict[str, str], action: Action) -> dict[str, Any]:
    return action()
