"""DynamoDB attribute values to and from Python, without importing boto3 where nothing is written.

Reading uses Powertools' copy of boto3's ``TypeDeserializer``; boto3's ``TypeSerializer`` is
imported on the first write. Importing anything from ``boto3`` loads the whole package (its
session, resources and s3transfer), about 20 ms of cold start that the read-only functions
(status, health, the cost reports) never need: their AWS clients come from botocore directly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

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
