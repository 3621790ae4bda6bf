"""Budget items in the costs table: what a capped user or tenant has committed this month, and each open reservation.

Budget:       pk ``BUDGET#USER#<userId>`` (a user's) or ``BUDGET#TENANT#<tenantId>`` (a tenant's), sk
              ``MONTH#YYYY-MM``; ``committedMicros`` = settled spend of budgeted calls + outstanding
              reservations (seeded with the ledger's month-to-date of that user or tenant).
Reservation:  pk ``BUDGET#RES#<reservationId>``, sk ``RES``; the held amount, its month, route and the
              budgets it is held on. It exists from reserve to settle, so a retried settle finds nothing
              and changes nothing.

Reserve and settle are each one ``TransactWriteItems``: the conditional ``ADD`` on every budget the call
is held on (the user's, the tenant's, or both: each with its own cap in its condition) and the
reservation item's Put (or Delete) succeed or fail together, so a call fits both caps or holds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from shared.core.dynamo import deserialize_item, serialize_item
from shared.ledger.keys import BUDGET_PREFIX, RESERVATION_PREFIX, TENANT_BUDGET_PREFIX
from shared.ledger.store import run_transaction

RESERVATION_TTL_S = 40 * 86_400  # a leaked reservation's item outlives its month, then DynamoDB drops it
_CONFLICT_RETRIES = 8  # concurrent requests of one user contend for one budget item; a cancelled one is redone

ReserveStatus = Literal["reserved", "held", "over", "missing"]


def user_budget(user_id: str) -> str:
    """A user's budget: the partition key of their monthly budget items."""
    return f"{BUDGET_PREFIX}{user_id}"


def tenant_budget(tenant_id: str) -> str:
    """A tenant's budget: the partition key of its monthly budget items."""
    return f"{TENANT_BUDGET_PREFIX}{tenant_id}"


@dataclass(frozen=True)
class Reservation:
    """Money held for one call until it is settled, on each of ``budgets`` (:func:`user_budget`,
    :func:`tenant_budget`)."""

    reservation_id: str
    budgets: tuple[str, ...]
    month: str  # "YYYY-MM": the budgets it was taken from (settle goes back to the same ones)
    micros: int
    route: str


@dataclass(frozen=True)
class ReserveResult:
    """``reserved`` (now held), ``held`` (this id already holds one: reused), ``over`` (it would pass a
    cap) or ``missing`` (some budget has no item for the month yet: ``missing`` names them); ``committed``
    (each budget's committed micro-dollars) is known for ``over``."""

    status: ReserveStatus
    reservation: Reservation | None = None
    committed: Mapping[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


class BudgetStore(Protocol):
    """What budget enforcement needs from the costs table."""

    def seed(self, budget: str, month: str, committed_micros: int) -> bool:
        """Create the month's budget item unless it exists; True when this call created it."""
        ...

    def reserve(self, reservation: Reservation, caps: Mapping[str, int]) -> ReserveResult:
        """Add ``reservation.micros`` to every budget's committed if each stays within its cap (``caps``
        by budget), or to none."""
        ...

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        """Replace the held amount by ``actual_micros``; False when already settled (nothing changes)."""
        ...

    def committed(self, budget: str, month: str) -> int | None:
        """The month's committed micro-dollars (None before the first budgeted call)."""
        ...


def budget_key(budget: str, month: str) -> dict[str, Any]:
    """The month's item of one budget."""
    return {"pk": {"S": budget}, "sk": {"S": f"MONTH#{month}"}}


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

    def seed(self, budget: str, month: str, committed_micros: int) -> bool:
        """Conditional Put: of many containers seeding at once exactly one does; the others reuse its item."""
        item = {**budget_key(budget, month), **serialize_item({"committedMicros": committed_micros})}
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def reserve(self, reservation: Reservation, caps: Mapping[str, int]) -> ReserveResult:
        """Per budget ``ADD committedMicros :held`` if ``committedMicros <= cap - held``, plus the reservation's
        Put, in one transaction."""
        now = int(self._clock())
        holds = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": budget_key(budget, reservation.month),
                    "UpdateExpression": "ADD committedMicros :held",
                    "ConditionExpression": "committedMicros <= :room",
                    "ExpressionAttributeValues": serialize_item(
                        {":held": reservation.micros, ":room": caps[budget] - reservation.micros}
                    ),
                }
            }
            for budget in reservation.budgets
        ]
        put = {
            "Put": {
                "TableName": self._table,
                "Item": {
                    **reservation_key(reservation.reservation_id),
                    **serialize_item(
                        {
                            "budgets": list(reservation.budgets),
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
        }
        reasons = self._transact([*holds, put], f"reserving {reservation.reservation_id}")
        if not reasons:
            return ReserveResult("reserved", reservation)
        if reasons[-1] == "ConditionalCheckFailed":
            held = self._held(reservation.reservation_id)
            if held is not None:
                return ReserveResult("held", held)
        committed = {budget: self.committed(budget, reservation.month) for budget in reservation.budgets}
        missing = tuple(budget for budget, micros in committed.items() if micros is None)
        if missing:
            return ReserveResult("missing", missing=missing)
        return ReserveResult("over", committed={budget: int(micros or 0) for budget, micros in committed.items()})

    def settle(self, reservation: Reservation, actual_micros: int) -> bool:
        """Delete the reservation (it must exist) and ``ADD committedMicros :actual - :held`` to each of its
        budgets, together."""
        delta = serialize_item({":delta": actual_micros - reservation.micros})
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": reservation_key(reservation.reservation_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            *(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": budget_key(budget, reservation.month),
                        "UpdateExpression": "ADD committedMicros :delta",
                        "ExpressionAttributeValues": delta,
                    }
                }
                for budget in reservation.budgets
            ),
        ]
        return not self._transact(items, f"settling {reservation.reservation_id}")

    def committed(self, budget: str, month: str) -> int | None:
        """A strongly consistent read of the budget item."""
        item = self._client.get_item(TableName=self._table, Key=budget_key(budget, month), ConsistentRead=True)
        if "Item" not in item:
            return None
        return int(deserialize_item(item["Item"]).get("committedMicros", 0))

    def _held(self, reservation_id: str) -> Reservation | None:
        raw = self._client.get_item(TableName=self._table, Key=reservation_key(reservation_id), ConsistentRead=True)
        if "Item" not in raw:
            return None
        item = deserialize_item(raw["Item"])
        # A hold taken before tenants had budgets names its one user instead.
        budgets = tuple(item.get("budgets") or (user_budget(item["userId"]),))
        return Reservation(reservation_id, budgets, item["month"], int(item["micros"]), item["route"])

    def _transact(self, items: list[dict[str, Any]], what: str) -> list[str]:
        """Run one transaction: [] when it committed, else each item's cancellation code."""
        return run_transaction(self._client, items, what, self._sleep, _CONFLICT_RETRIES)
