"""A routing experiment's variant counter: only calls in an experiment add to one, with squares, errors and
the latency histogram; the stored event carries experiment, variant and latency through the stream."""

from __future__ import annotations

from dataclasses import replace

from shared.ledger.aggregator import increment_of
from shared.ledger.keys import counter_keys, is_experiment_counter
from shared.ledger.ledger import event_item
from shared.ledger.stream import event_from_item
from shared.ledger.variant_counters import VariantCounters, bucket_of, variant_extras
from tests.support.factories import event


def test_only_calls_in_an_experiment_add_to_a_variant_counter() -> None:
    plain = event(1)
    assert not any(is_experiment_counter(k) for k in counter_keys(plain))
    tagged = replace(plain, experiment="exp_1", variant="B", latency_ms=120)
    extra = [k for k in counter_keys(tagged) if is_experiment_counter(k)]
    assert extra == [("AGG#EXPERIMENT#exp_1#variant", f"DAY#{tagged.day.isoformat()}#B")]
    assert len(counter_keys(tagged)) == len(counter_keys(plain)) + 1


def test_the_increment_adds_squares_errors_and_the_histogram() -> None:
    from shared.ledger.aggregator import StreamedEvent

    calls = [
        replace(event(n), experiment="exp_1", variant="A", latency_ms=ms, nanos=nanos, status=status)
        for n, (ms, nanos, status) in enumerate([(40, 1000, "ok"), (120, 3000, "ok"), (40_000, 2000, "content_filter")])
    ]
    records = [StreamedEvent(str(n).zfill(40), e) for n, e in enumerate(calls)]
    key = next(k for k in counter_keys(calls[0]) if is_experiment_counter(k))
    increment = increment_of(key, "hw_x", records, 100)
    assert increment.extra == {
        "nanosSquared": 14_000_000,
        "errors": 1,
        "lat_le_50": 1,
        "lat_le_250": 1,
        "lat_le_inf": 1,
    }
    other = next(k for k in counter_keys(calls[0]) if not is_experiment_counter(k))
    assert increment_of(other, "hw_x", records, 100).extra == {}
    counted = VariantCounters.from_item({"requests": 3, "nanos": 6000, **increment.extra})
    assert (counted.latency_percentile_ms(0.5), counted.latency_percentile_ms(0.95)) == (250, 30000)
    assert bucket_of(50) == "lat_le_50" and bucket_of(51) == "lat_le_100"
    assert variant_extras([]) == {}


def test_the_stored_event_keeps_experiment_variant_and_latency() -> None:
    tagged = replace(event(1), experiment="exp_1", variant="B", latency_ms=87)
    item = {"pk": "EVENT#" + tagged.request_id, "sk": "EVENT", **event_item(tagged, 100)}
    assert event_from_item(item) == tagged
    plain = event(2)
    stored = {
        "pk": "EVENT#" + plain.request_id,
        "sk": "EVENT",
        **{k: v for k, v in event_item(plain, 100).items() if v is not None},
    }
    assert event_from_item(stored) == plain
