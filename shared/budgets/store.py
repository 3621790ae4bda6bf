"""Budget items in the costs table: what a capped user has committed this month, and each open reservation.

Budget:       pk ``BUDGET#USER#<userId>``, sk ``MONTH#YYYY-MM``; ``committedMicros`` = settled spend
              of budgeted calls + outstanding reservations (seeded with the ledger's month-to-date).
Reservation:  pk ``BUDGET#RES#<reservationId>``, sk ``RES``; the held amount, its month and route.
              It exists from reserve to settle, so a retried settle finds nothing and changes nothing.

Reserve and settle are each one ``TransactWriteItems``: the conditional ``ADD`` on the budget and
the reservation item's Put (or Delete) succeed or fail together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import deserialize_item, serialize_item
from shared.ledger.keys import BUDGET_PREFIX, RESERVATION_PREFIX
from shared.ledger.store import run_transaction

RESERVATION_TTL_S = 40 * 86_400  # a leaked reservation's item outlives its month, then DynamoDB drops it
_CONFLICT_RETRIES = 8  # concurrent requests of one user contend for one budget item; a cancelled one is redone

ReserveStatus = Literal["reserved", "held", "over", "missing"]


@dataclass(frozen=True)
class Reservation:
    """Money held for one call until it is settled."""

    reservation_id: str
    user_id: str
    month: str  # "YYYY-MM": the budget it was taken from (settle goes back to the same one)
    micros: int
    route: str


@dataclass(frozen=True)
class ReserveResult:
    """``reserved`` (now held), ``held`` (this id already holds one: reused), ``over`` (it would pass the
    cap) or ``missing`` (no budget item for the month yet); ``committed`` is known for ``over``."""

    status: ReserveStatus
    reservation: Reservation | None = None
    committed_micros: int = 0


class BudgetStore(Protocol):
    """What budget enforcement needs from the costs table."""

    def seed(self, user_id: str, month: str, committed_micros: int) -> bool:
        """Create the month's budget item unless it exists; True when this call created it."""
        ...

    def reserve(self, reservation: Reservation, cap_micros: int) -> ReserveResult:
        """Add ``reservation.micros`` to committed if it stays within ``cap_micros``."""
        ...

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        """Replace the held amount by ``actual_micros``; False when already settled (nothing changes)."""
        ...

    def committed(self, user_id: str, month: str) -> int | None:
        """The month's committed micro-dollars (None before the first budgeted call)."""
        ...


def budget_key(user_id: str, month: str) -> dict[str, Any]:
    """The month's budget item of one user."""
    return {"pk": {"S": f"{BUDGET_PREFIX}{user_id}"}, "sk": {"S": f"MONTH#{month}"}}


def reservation_key(reservation_id: str) -> dict[str, Any]:
    """One open reservation."""
    return {"pk": {"S": f"{RESERVATION_PREFIX}{reservation_id}"}, "sk": {"S": "RES"}}


class DynamoBudgetStore:
    """:class:`BudgetStore` over the costs table."""

    def __init__(
        self,
        table_name: str,
        client: Any,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._clock = clock
        self._sleep = sleep

    def seed(self, user_id: str, month: str, committed_micros: int) -> bool:
        """Conditional Put: of many containers seeding at once exactly one does; the others reuse its item."""
        item = {**budget_key(user_id, month), **serialize_item({"committedMicros": committed_micros})}
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def reserve(self, reservation: Reservation, cap_micros: int) -> ReserveResult:
        """``ADD committedMicros :held`` if ``committedMicros <= cap - held``, plus the reservation's Put."""
        now = int(self._clock())
        items = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": budget_key(reservation.user_id, reservation.month),
                    "UpdateExpression": "ADD committedMicros :held",
                    "ConditionExpression": "committedMicros <= :room",
                    "ExpressionAttributeValues": serialize_item(
                        {":held": reservation.micros, ":room": cap_micros - reservation.micros}
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **reservation_key(reservation.reservation_id),
                        **serialize_item(
                            {
                                "userId": reservation.user_id,
                                "month": reservation.month,
                                "micros": reservation.micros,
                                "route": reservation.route,
                                "reservedAt": now,
                                "expiresAt": now + RESERVATION_TTL_S,
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        reasons = self._transact(items, f"reserving {reservation.reservation_id}")
        if not reasons:
            return ReserveResult("reserved", reservation)
        if reasons[1] == "ConditionalCheckFailed":
            held = self._held(reservation.reservation_id)
            if held is not None:
                return ReserveResult("held", held)
        committed = self.committed(reservation.user_id, reservation.month)
        if committed is None:
            return ReserveResult("missing")
        return ReserveResult("over", committed_micros=committed)

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        """Delete the reservation (it must exist) and ``ADD committedMicros :actual - :held``, together."""
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": reservation_key(reservation.reservation_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": budget_key(reservation.user_id, reservation.month),
                    "UpdateExpression": "ADD committedMicros :delta",
                    "ExpressionAttributeValues": serialize_item({":delta": actual_micros - reservation.micros}),
                }
            },
        ]
        return not self._transact(items, f"settling {reservation.reservation_id}")

    def committed(self, user_id: str, month: str) -> int | None:
        """A strongly consistent read of the budget item."""
        item = self._client.get_item(TableName=self._table, Key=budget_key(user_id, month), ConsistentRead=True)
        if "Item" not in item:
            return None
        return int(deserialize_item(item["Item"]).get("committedMicros", 0))

    def _held(self, reservation_id: str) -> Reservation | None:
        raw = self._client.get_item(TableName=self._table, Key=reservation_key(reservation_id), ConsistentRead=True)
        if "Item" not in raw:
            return None
        item = deserialize_item(raw["Item"])
        return Reservation(reservation_id, item["userId"], item["month"], int(item["micros"]), item["route"])

    def _transact(self, items: list[dict[str, Any]], what: str) -> list[str]:
        """Run one transaction: [] when it committed, else each item's cancellation code."""
        return run_transaction(self._client, items, what, self._sleep, _CONFLICT_RETRIES)
