"""DynamoDB attribute values to and from Python, without importing boto3 where nothing is written.

Reading uses Powertools' copy of boto3's ``TypeDeserializer``; boto3's ``TypeSerializer`` is
imported on the first write. Importing anything from ``boto3`` loads the whole package (its
session, resources and s3transfer), about 20 ms of cold start that the read-only functions
(status, health, the cost reports) never need: their AWS clients come from botocore directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

_deserializer = TypeDeserializer()


def python_value(attribute: dict[str, Any]) -> Any:
    """``{"N": "5"}`` → ``Decimal(5)``, ``{"S": "a"}`` → ``"a"``, maps and lists recursively."""
    return _deserializer.deserialize(attribute)


def attribute_value(value: Any) -> dict[str, Any]:
    """The inverse: a Python value (str, int, Decimal, bool, None, list, dict, set) as an attribute value."""
    return _serializer().serialize(value)


@lru_cache(maxsize=1)
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict as DynamoDB attribute values (``None`` attributes are left out)."""
    return {name: attribute_value(value) for name, value in item.items() if value is not None}


def deserialize_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as a plain dict, numbers as ``int``."""
    return {name: _plain(python_value(value)) for name, value in raw.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number we store is an integer."""
    return int(value) if isinstance(value, Decimal) else value


def cancellation_codes(exc: ClientError) -> list[str]:
    """The per-item reasons of a cancelled transaction (empty for any other error)."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    reasons: Iterable[Mapping[str, Any]] = exc.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def query_items(client: Any, params: Mapping[str, Any], wanted: int | None = None) -> list[dict[str, Any]]:
    """The raw items a Query answers, following DynamoDB's pages (1 MB each), up to ``wanted`` when given."""
    request = dict(params)
    items: list[dict[str, Any]] = []
    while wanted is None or len(items) < wanted:
        limit = {} if wanted is None else {"Limit": wanted - len(items)}
        page = client.query(**request, **limit)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items
