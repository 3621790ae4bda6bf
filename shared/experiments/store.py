"""Experiments in the costs table, their running part in the routing overrides' current item.

Record:   pk ``EXPERIMENTS``, sk the experiment id (``exp_<ms><hex>``: a descending Query lists the
          newest first) — the whole experiment. Only admins write it; the request path never reads it.
Running:  ``experiments`` of ``ROUTING#OVERRIDES``/``CURRENT`` (shared/routing/overrides.py): campaign
          type → id, variants' routes, split, end. The router's one read of that item covers it.

Every write is one transaction: the current item, conditional on the version read (so of two admins
starting an experiment on one type at once, one wins and the other sees the first's and gets a 409),
the record, and for a promotion the routing change's audit item and the new route, so the winner's
route and the experiment's end land together. Like every writer of the current item, it then announces
the new version (``announce``: where containers learn that the overrides moved, e.g. a version board);
a failed announcement is logged, the write stands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import deserialize_item, query_items, serialize_item
from shared.core.errors import RoutingConflictError
from shared.core.observability import logger
from shared.experiments.model import Experiment, experiment_from_item, experiment_item
from shared.ledger.keys import EXPERIMENT_RECORDS_PREFIX
from shared.routing.overrides import (
    CHANGES_PK,
    Route,
    RouteChange,
    RoutingOverrides,
    change_item,
    current_update,
    routes_item,
)

RECORDS_PK = EXPERIMENT_RECORDS_PREFIX  # the function's IAM grant allows writes to it (stacks/functions.py)


@dataclass(frozen=True)
class ExperimentPage:
    """A page of experiments, newest first; ``last`` is the id to resume after (None: no more)."""

    experiments: list[Experiment]
    last: str | None


@dataclass(frozen=True)
class Promotion:
    """What a promotion also writes: the audited routing change and the routes with the winner's."""

    change: RouteChange
    routes: Mapping[str, Route]


@dataclass(frozen=True)
class ExperimentWrite:
    """What one write stores together: the record, the running experiments of the current item (conditional on
    ``expected_version``, the version read), and for a promotion its audited change and routes."""

    experiment: Experiment
    running: Mapping[str, Mapping[str, Any]]
    expected_version: int
    promotion: Promotion | None = None


class ExperimentStore(Protocol):
    """What the experiment service needs from storage."""

    def current(self) -> RoutingOverrides:
        """The routing overrides' current item (one strongly consistent GetItem)."""
        ...

    def get(self, experiment_id: str) -> Experiment | None: ...

    def page(self, limit: int, after: str | None) -> ExperimentPage: ...

    def write(self, request: ExperimentWrite) -> None:
        """Store the request's parts together; raise :class:`~shared.core.errors.RoutingConflictError` if the
        current item is no longer ``request.expected_version``."""
        ...


class DynamoExperimentStore:
    """:class:`ExperimentStore` over the costs table (the routing overrides' store reads the current item)."""

    def __init__(
        self, table_name: str, client: Any, overrides: Any, announce: Callable[[int], None] | None = None
    ) -> None:
        self._table = table_name
        self._client = client
        self._overrides = overrides
        self._announce = announce

    def current(self) -> RoutingOverrides:
        """The overrides store's strongly consistent read."""
        return self._overrides.current()

    def get(self, experiment_id: str) -> Experiment | None:
        """One strongly consistent GetItem."""
        response = self._client.get_item(
            TableName=self._table, Key=_key(RECORDS_PK, experiment_id), ConsistentRead=True
        )
        return experiment_from_item(deserialize_item(response["Item"])) if "Item" in response else None

    def page(self, limit: int, after: str | None) -> ExperimentPage:
        """One Query of the records' partition, newest first."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk" + (" AND sk < :after" if after else ""),
            "ExpressionAttributeValues": serialize_item({":pk": RECORDS_PK, ":after": after}),
            "ScanIndexForward": False,
        }
        raw = query_items(self._client, params, wanted=limit + 1)
        found = [experiment_from_item(deserialize_item(item)) for item in raw[:limit]]
        return ExperimentPage(found, found[-1].experiment_id if len(raw) > limit else None)

    def write(self, request: ExperimentWrite) -> None:
        """One ``TransactWriteItems``: the current item, the record, and a promotion's route and audit item."""
        experiment, running, promotion = request.experiment, request.running, request.promotion
        expected_version = request.expected_version
        attributes: dict[str, Any] = {"experiments": dict(running)}
        items: list[dict[str, Any]] = []
        if promotion is not None:
            attributes["routes"] = routes_item(promotion.routes)
            audit = {"pk": CHANGES_PK, "sk": promotion.change.change_id, **change_item(promotion.change)}
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": serialize_item(audit),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        record = {"pk": RECORDS_PK, "sk": experiment.experiment_id, **experiment_item(experiment)}
        items.append({"Put": {"TableName": self._table, "Item": serialize_item(record)}})
        items.insert(0, {"Update": current_update(self._table, expected_version, attributes)})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("TransactionCanceledException", "TransactionConflict"):
                raise RoutingConflictError("The routing changed meanwhile; reload and try again.") from exc
            raise
        if self._announce is not None:
            try:
                self._announce(expected_version + 1)
            except Exception:
                logger.exception("routing overrides version not announced after an experiment's write")


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}
