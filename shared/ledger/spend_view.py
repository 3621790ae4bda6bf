"""What the threshold checks read, read only when a check asks: spend names and marker items, lazily.

The checks (:mod:`shared.alerts.threshold_alerts`, :mod:`shared.alerts.checker`) ask a mapping for a
threshold's spend (``items.get(threshold.counter(day))``) and, only when that spend reached the amount,
whether its crossing marker exists (``marker in items``). A :class:`SpendView` answers the first from
what the caller knows (the aggregator's ``UPDATED_NEW`` day totals) or with :func:`spend_of`, the second
with one strongly consistent read of that marker, so most batches read no marker at all: spend stays
below most thresholds most of the time (a threshold announced already costs its marker's read per batch
for the rest of its period: not cached across batches, since a failed send releases the marker for a retry).

Consistency: a day total the batch did not write (a campaign's, the sum of its providers) is read
strongly consistent, so the last writer sees the full sum; a month's other days are read eventually
consistent (they settled seconds after their day ended) with the batch's own days laid over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from shared.ledger.keys import Key, is_spend_name, spend_scope
from shared.ledger.ledger import spend_of
from shared.ledger.store import CostStore


class SpendView(Mapping[Key, Mapping[str, Any]]):
    """Spend names as ``{"micros": …}`` and items by key, each read the first time it is asked for."""

    def __init__(
        self,
        store: CostStore,
        until: date | None = None,
        known_spend: Mapping[Key, int] | None = None,
        items: Mapping[Key, Mapping[str, Any]] | None = None,
        absent: Iterable[Key] = (),
    ) -> None:
        self._store = store
        self._until = until
        self._known = dict(known_spend or {})
        self._spend: dict[Key, int] = dict(self._known)
        self._items: dict[Key, Mapping[str, Any] | None] = {key: None for key in absent}
        self._items.update(items or {})

    def __getitem__(self, key: Key) -> Mapping[str, Any]:
        if is_spend_name(key):
            return {"micros": self._spent(key)}
        item = self._item(key)
        if item is None:
            raise KeyError(key)
        return item

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple):
            return False
        return is_spend_name(key) or self._item(key) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Key]:
        return iter([key for key, item in self._items.items() if item is not None])

    def __len__(self) -> int:
        return sum(1 for item in self._items.values() if item is not None)

    def _item(self, key: Key) -> Mapping[str, Any] | None:
        if key not in self._items:
            self._items[key] = self._store.get_items([key]).get(key)
        return self._items[key]

    def _spent(self, name: Key) -> int:
        if name not in self._spend:
            derived = name[1].startswith("DAY#") or spend_scope(name)[0].campaign_id is not None
            found = spend_of(self._store, [name], self._known, self._until, consistent=derived)
            self._spend[name] = found[name]
        return self._spend[name]
