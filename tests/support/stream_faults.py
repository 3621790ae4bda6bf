"""Lambda's DynamoDB stream mapping and a failing table, in memory: the aggregator's failure-injection replay.

Used by tests/unit/ledger/test_cost_aggregator.py and the benchmark (bench/ledger_stream.py): both replay events
through the real :class:`~shared.ledger.aggregator.CostAggregator`.
"""

from __future__ import annotations

import random
from collections import Counter as Tally

from shared.ledger.aggregator import CostAggregator, StreamedEvent
from tests.support.fakes import InMemoryCostStore


class Crash(BaseException):
    """The function dies mid-batch (a timeout, out of memory): nothing after it runs, nothing is reported."""


class FlakyStore(InMemoryCostStore):
    """Injects, per update, a failure before it (never applied), after it (applied, the caller sees an error)
    or a crash of the whole invocation, before or after the write."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        super().__init__()
        self.rng, self.rate = rng, rate
        self.injected: Tally = Tally()
        self.before_update = lambda increment: self._maybe("before")
        self.after_update = lambda increment: self._maybe("after")

    def _maybe(self, when: str) -> None:
        roll = self.rng.random()
        if roll < self.rate:
            self.injected[f"error {when}"] += 1
            raise ConnectionError(f"injected {when}")
        if roll < self.rate * 1.3:
            self.injected[f"crash {when}"] += 1
            raise Crash(when)


class EventSourceMapping:
    """Lambda's DynamoDB stream mapping, for one shard: batches of 100 in order, a partial batch response
    resends from the failed record, a crash bisects the batch (halves retried in order) or retries it whole,
    and now and then a batch that succeeded is delivered again."""

    def __init__(self, aggregator: CostAggregator, shard: str, rng: random.Random) -> None:
        self.aggregator, self.shard, self.rng = aggregator, shard, rng
        self.stats: Tally = Tally()

    def run(self, records: list[StreamedEvent], batch_size: int = 100) -> None:
        position = 0
        while position < len(records):
            position += self._process(records[position : position + batch_size])

    def _process(self, batch: list[StreamedEvent]) -> int:
        """How many records from the start of ``batch`` are done (checkpointed)."""
        try:
            result = self.aggregator.apply(self.shard, batch)
        except Crash:
            self.stats["crashed"] += 1
            if len(batch) > 1 and self.rng.random() < 0.5:
                self.stats["bisected"] += 1
                half = len(batch) // 2
                done = self._process(batch[:half])
                return done if done < half else half + self._process(batch[half:])
            return 0  # the same records come again
        if result.failed_sequence is not None:
            self.stats["partial"] += 1
            return next(n for n, r in enumerate(batch) if r.sequence == result.failed_sequence)
        if self.rng.random() < 0.05:
            self.stats["duplicated"] += 1
            self._process(batch)  # delivered again; whatever happens to it, these records are checkpointed
        return len(batch)
