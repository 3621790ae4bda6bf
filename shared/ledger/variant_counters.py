"""What a routing experiment's variant counter keeps beyond money, calls and tokens: the statistics' inputs.

Welch's t-test on cost per call needs each variant's n, mean and variance, so the counter keeps the sum of
the calls' nano-dollars squared (``nanosSquared``): a call costs at most a few 10^9 nanos, its square about
10^19, and a DynamoDB number holds 38 digits, room for 10^18 such calls. Latency is a histogram of flat
attributes (``lat_le_<ms>``, each call ADDed to the first bucket its provider time fits, ``lat_le_inf``
past the last bound), so p50/p95 are read to the bucket's upper bound. ``errors`` counts billed attempts
that did not answer ``ok`` (a completion filtered on output): failures the provider did not bill are no
cost events and never reach the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.ledger.events import CostEvent
from shared.ledger.store import Counters

LATENCY_BOUNDS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
NANOS_SQUARED = "nanosSquared"
ERRORS = "errors"


def latency_attribute(bound_ms: int | None) -> str:
    """The histogram bucket holding calls up to ``bound_ms`` (None: past the last bound)."""
    return f"lat_le_{bound_ms}" if bound_ms is not None else "lat_le_inf"


def bucket_of(latency_ms: int) -> str:
    """The bucket one call's latency adds to."""
    return latency_attribute(next((b for b in LATENCY_BOUNDS_MS if latency_ms <= b), None))


def variant_extras(events: Iterable[CostEvent]) -> dict[str, int]:
    """The extra attributes a batch of one variant's calls ADDs to its counter."""
    extras: dict[str, int] = {}
    for event in events:
        nanos = event.nanos or 0
        extras[NANOS_SQUARED] = extras.get(NANOS_SQUARED, 0) + nanos * nanos
        extras[ERRORS] = extras.get(ERRORS, 0) + int(event.status != "ok")
        if event.latency_ms is not None:
            bucket = bucket_of(event.latency_ms)
            extras[bucket] = extras.get(bucket, 0) + 1
    return extras


@dataclass(frozen=True)
class VariantCounters:
    """One variant's calls summed over days: the ledger's counters plus squares, errors and the histogram."""

    counters: Counters = field(default_factory=Counters)
    nanos_squared: int = 0
    errors: int = 0
    latency: Mapping[str, int] = field(default_factory=dict)  # bucket attribute → calls

    def __add__(self, other: VariantCounters) -> VariantCounters:
        buckets = {
            name: self.latency.get(name, 0) + other.latency.get(name, 0) for name in {*self.latency, *other.latency}
        }
        return VariantCounters(
            self.counters + other.counters,
            self.nanos_squared + other.nanos_squared,
            self.errors + other.errors,
            buckets,
        )

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> VariantCounters:
        """A stored variant counter's values."""
        return cls(
            Counters.from_item(item),
            int(item.get(NANOS_SQUARED, 0)),
            int(item.get(ERRORS, 0)),
            {name: int(value) for name, value in item.items() if name.startswith("lat_le_")},
        )

    def latency_percentile_ms(self, share: float) -> int | None:
        """The upper bound of the bucket where ``share`` of the timed calls is reached (None: no timed call;
        past the last bound: that bound, as a floor)."""
        total = sum(self.latency.values())
        if not total:
            return None
        seen = 0
        for bound in (*LATENCY_BOUNDS_MS, None):
            seen += self.latency.get(latency_attribute(bound), 0)
            if seen >= share * total:
                return bound if bound is not None else LATENCY_BOUNDS_MS[-1]
        return LATENCY_BOUNDS_MS[-1]  # pragma: no cover - the loop reaches the whole total
