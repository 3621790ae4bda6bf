"""Counters folded from the costs table's stream, exactly once although Lambda retries, bisects and redelivers.

Each batch (one stream shard's records, in order) is folded into one delta per counter, and each delta
goes out as one conditional ``UpdateItem ADD`` (:meth:`CostStore.add_counter`), so a counter takes one
write per batch instead of one per call, and 100 calls on one day cost the day's ``total`` one write.

Exactly once. A counter item carries, per stream shard, a high-water mark ``hw_<shard>``: the largest
sequence number (zero-padded to 40 digits: string order is numeric order) folded into it. Invariant:
every record of that shard with a sequence number at or below the mark is in the counter, none above.
A delta is applied only if the mark is below its *smallest* contributing sequence number, and moves the
mark to its largest. When the condition fails — Lambda resent records after a partial failure, a crash
or a bisection, and the batch mixes applied and new records — the mark is read (strongly consistent),
the records at or below it are dropped, and the rest is folded and tried again. This is sound because a
shard has one batch in flight at a time (the mapping's parallelization factor is 1, asserted in CDK) and
Lambda delivers a shard's records in order, resending from the first record reported failed: a counter
whose update failed is reported by its smallest contributing record, so every earlier record has all
of its counters in.

Marks stay few: counters are day counters, and a day counter only hears from the shards that were open
that day (DynamoDB rolls a shard about every 4 hours: about 6 marks per open shard per day, ~80 bytes
each), so an item never grows with the shards ever seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.core.observability import logger
from shared.core.time import SECONDS_PER_DAY
from shared.ledger.day_items import sub_counter_adds, sub_counter_labels
from shared.ledger.events import CostEvent
from shared.ledger.keys import Key, counter_keys, counter_values, is_day_item, is_experiment_counter
from shared.ledger.store import CostStore, CounterIncrement, Counters
from shared.ledger.variant_counters import variant_extras

SEQUENCE_DIGITS = 40  # DynamoDB Streams sequence numbers have 21 to 40 digits
_REFOLDS = 4  # a failed condition is refolded and retried; more than a few means something else writes the mark


def padded_sequence(sequence_number: str) -> str:
    """A stream sequence number as a 40-character string that sorts like the number."""
    if not sequence_number.isdigit() or len(sequence_number) > SEQUENCE_DIGITS:
        raise ValueError(f"not a stream sequence number: {sequence_number!r}")
    return sequence_number.zfill(SEQUENCE_DIGITS)


def mark_attribute(shard_id: str) -> str:
    """The counter attribute holding one shard's high-water mark (``SET`` creates it at the top level)."""
    return f"hw_{shard_id.removeprefix('shardId-')}"


@dataclass(frozen=True)
class StreamedEvent:
    """A cost event as the stream delivered it: its padded sequence number in the shard, and the event."""

    sequence: str
    event: CostEvent


@dataclass(frozen=True)
class CounterUpdate:
    """One counter as this batch changed it (``UPDATED_NEW`` minus the delta applied)."""

    key: Key
    before: Counters
    after: Counters


@dataclass
class FoldResult:
    """What a batch did: the updates applied, and the first record whose counters are not all in."""

    updates: list[CounterUpdate] = field(default_factory=list)
    failed_sequence: str | None = None  # Lambda resends from this record on (partial batch response)
    dropped: int = 0  # contributions found already applied (a redelivery)


class CounterConflictError(RuntimeError):
    """A counter's mark kept moving under a refold: another writer is folding the same shard."""


def fold(records: Sequence[StreamedEvent]) -> dict[Key, list[StreamedEvent]]:
    """Each counter key with the records that add to it, in stream order."""
    groups: dict[Key, list[StreamedEvent]] = {}
    for record in records:
        for key in counter_keys(record.event):
            groups.setdefault(key, []).append(record)
    return groups


def increment_of(key: Key, mark: str, records: Sequence[StreamedEvent], ttl_s: int) -> CounterIncrement:
    """One counter's delta over ``records`` (non-empty, in stream order)."""
    total = Counters()
    by_type_model: dict[str, Counters] = {}
    for record in records:
        e = record.event
        call = Counters(e.nanos or 0, 1, e.input_tokens, e.output_tokens, int(e.fallback), e.cached_tokens)
        total += call
        value = counter_values(e)["type_model"]
        by_type_model[value] = by_type_model.get(value, Counters()) + call
    extra: dict[str, int] = {}
    labels: dict[str, str] = {}
    if is_experiment_counter(key):
        extra = variant_extras(r.event for r in records)
    elif is_day_item(key):  # a user's or a tenant's day item: its type_model sub-counters ride along
        extra, labels = sub_counter_adds(by_type_model), sub_counter_labels(by_type_model)
    return CounterIncrement(
        key=key,
        counters=total,
        mark=mark,
        first_seq=records[0].sequence,
        last_seq=records[-1].sequence,
        expires_at=int(max(r.event.at for r in records)) + ttl_s,
        extra=extra,
        labels=labels,
    )


class CostAggregator:
    """Applies one shard's batch to the counters: one ``UpdateItem`` per counter, exactly once."""

    def __init__(self, store: CostStore, counter_ttl_days: int = 400) -> None:
        self._store = store
        self._ttl_s = counter_ttl_days * SECONDS_PER_DAY

    def apply(self, shard_id: str, records: Sequence[StreamedEvent]) -> FoldResult:
        """Fold and apply; a counter that fails is reported by its smallest record, the others still apply."""
        mark = mark_attribute(shard_id)
        result = FoldResult()
        failed: list[str] = []
        for key, contributions in fold(sorted(records, key=lambda r: r.sequence)).items():
            try:
                update, dropped = self._apply_one(key, mark, contributions)
            except Exception:
                logger.exception("counter update failed", extra={"counter": key, "shard": shard_id})
                failed.append(contributions[0].sequence)
                continue
            result.dropped += dropped
            if update is not None:
                result.updates.append(update)
        result.failed_sequence = min(failed, default=None)
        return result

    def _apply_one(self, key: Key, mark: str, records: list[StreamedEvent]) -> tuple[CounterUpdate | None, int]:
        pending, dropped = records, 0
        for _ in range(_REFOLDS):
            increment = increment_of(key, mark, pending, self._ttl_s)
            after = self._store.add_counter(increment)
            if after is not None:
                return CounterUpdate(key, after - increment.counters, after), dropped
            high_water = self._store.high_water(key, mark)
            kept = [r for r in pending if high_water is None or r.sequence > high_water]
            dropped += len(pending) - len(kept)
            if not kept:
                return None, dropped
            pending = kept
        raise CounterConflictError(f"counter {key} kept refusing shard mark {mark}")
