"""A fresh costs table with its stream on the moto server, folded through the real consumer on demand.

Integration tests that need their own table (counts never shared) get one shaped like the template's, stream
included, and a :class:`Folder` that drains its stream through :class:`local.stream_poller.StreamPoller` with
the template's mapping settings — the code path ``make run`` uses — into a real
:class:`~shared.alerts.stream_consumer.CostStreamConsumer` over that table.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from local.stream_poller import StreamPoller, StreamSource
from shared.alerts.spend_watch import SpendWatch
from shared.alerts.stream_consumer import CostStreamConsumer
from shared.ledger.aggregator import CostAggregator
from shared.ledger.store import DynamoCostStore
from shared.ledger.stream import StreamShards
from stacks.route_table import FUNCTIONS


def streamed_table(local_stack: Any, shape_of: str) -> tuple[str, str]:
    """(name, stream ARN) of a new table with ``shape_of``'s keys and a NEW_IMAGE stream."""
    ddb = local_stack.moto.client("dynamodb")
    shape = ddb.describe_table(TableName=shape_of)["Table"]
    name = f"costs-it-{uuid.uuid4().hex[:12]}"
    created = ddb.create_table(
        TableName=name,
        KeySchema=shape["KeySchema"],
        AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return name, created["TableDescription"]["LatestStreamArn"]


class Folder:
    """The cost aggregator on one table's stream: ``drain()`` folds everything written so far."""

    def __init__(self, local_stack: Any, table: str, stream_arn: str, watch: SpendWatch | None = None) -> None:
        store = DynamoCostStore(table, local_stack.moto.client("dynamodb"))
        self.consumer = CostStreamConsumer(
            CostAggregator(store), StreamShards(local_stack.moto.client("dynamodbstreams")), watch
        )
        spec = FUNCTIONS["cost_aggregator"].streams
        assert spec is not None
        source = StreamSource(
            function="cost_aggregator",
            stream_arn=stream_arn,
            batch_size=spec.batch_size,
            window_s=0,
            patterns=(spec.filter_pattern,),
            report_failures=True,
            bisect=True,
            max_retries=spec.retry_attempts,
        )
        self.poller = StreamPoller(
            local_stack.moto.client("dynamodbstreams"),
            local_stack.moto.client("sqs"),
            source,
            lambda event, context: self.consumer.handle(event),
        )

    def drain(self, timeout_s: float = 30) -> int:
        """Poll until a poll hands over nothing; the number of records handed over in all."""
        handed, deadline = 0, time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = self.poller.poll_once()
            if not batch:
                return handed
            handed += batch
        raise TimeoutError("the stream kept delivering")
