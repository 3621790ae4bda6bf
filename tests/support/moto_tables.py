"""Fresh costs tables on the moto server, shaped like the template's, for integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from shared.alerts.spend_watch import SpendWatch
from shared.ledger.store import DynamoCostStore
from tests.support.streams import Folder, streamed_table


class Table:
    """A fresh streamed costs table: stores (each with its own client, like containers) and its folder."""

    def __init__(self, local_stack, settings) -> None:
        self.stack = local_stack
        self.name, self.stream_arn = streamed_table(local_stack, settings.cost_table_name)

    def store(self) -> DynamoCostStore:
        return DynamoCostStore(self.name, self.stack.moto.client("dynamodb"))

    def folder(self, watch: SpendWatch | None = None) -> Folder:
        return Folder(self.stack, self.name, self.stream_arn, watch)


@pytest.fixture
def new_store(table) -> Callable[[], DynamoCostStore]:
    """A fresh table's stores (the threshold tests' fixture; they need no stream)."""
    return table.store


@pytest.fixture
def table(local_stack, settings) -> Iterator[Table]:
    made = Table(local_stack, settings)
    yield made
    local_stack.moto.client("dynamodb").delete_table(TableName=made.name)
