"""What the threshold checks read: spend names summed from the counters (:func:`spend_of`), and
:class:`SpendView`, which reads them and marker items lazily, only when a check asks.

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

from shared.ledger.keys import Key, Scope, is_spend_name, spend_scope, split_sort_key, total_key
from shared.ledger.ledger import day_totals, last_day_of_month
from shared.ledger.store import CostStore, Counters


def spend_of(
    store: CostStore,
    names: list[Key],
    known: Mapping[Key, int] | None = None,
    until: date | None = None,
    consistent: bool = False,
) -> dict[Key, int]:
    """The micro-dollars of spend names (:func:`shared.ledger.keys.spend_name`).

    A day is its scope's day total: the day items of every name at once in one ``BatchGetItem``, a campaign's
    one Query of its providers. A month is the sum of its days to its end or ``until`` (no later day has spend
    yet; a ``BatchGetItem`` bills every key it names). ``known`` are day totals the caller just saw written
    (``UPDATED_NEW``, fresher than a read): not read again, and laid over the days a month reads.
    """
    known = dict(known or {})
    spent: dict[Key, int] = {n: known[n] for n in names if n in known}
    days = [n for n in names if n not in spent and n[1].startswith("DAY#")]
    items = {n: total_key(*_day_of(n)) for n in days if spend_scope(n)[0].campaign_id is None}
    found = store.get_items(list(items.values()), consistent) if items else {}
    spent.update({n: Counters.from_item(found.get(key)).micros for n, key in items.items()})
    for name in (n for n in days if n not in spent):
        scope, day = _day_of(name)
        spent[name] = sum(c.micros for c in day_totals(store, scope, day, day, consistent).values())
    for name in (n for n in names if n not in spent):
        scope, period = spend_scope(name)
        month = period.removeprefix("MONTH#")
        first, last = date.fromisoformat(f"{month}-01"), last_day_of_month(month)
        if until is not None and first <= until < last:
            last = until
        read = {day: c.micros for day, c in day_totals(store, scope, first, last, consistent).items()}
        spent[name] = sum({**read, **_known_days(name, month, known)}.values())
    return spent


def _day_of(name: Key) -> tuple[Scope, date]:
    scope, period = spend_scope(name)
    return scope, date.fromisoformat(period.removeprefix("DAY#"))


def _known_days(month_name: Key, month: str, known: Mapping[Key, int]) -> dict[date, int]:
    """The known day totals of a month name's scope in that month."""
    owner = split_sort_key(month_name[1])[1]
    days: dict[date, int] = {}
    for (pk, sk), micros in known.items():
        period, value = split_sort_key(sk)
        if pk == month_name[0] and value == owner and period.startswith(f"DAY#{month}-"):
            days[date.fromisoformat(period.removeprefix("DAY#"))] = micros
    return days


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
