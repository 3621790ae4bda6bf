"""AWS clients and queues, one per container."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.core.once import PowertoolsOnce
    from shared.core.queues import SqsQueue


@lru_cache(maxsize=4)
def aws_client(service: str) -> Any:
    """One client per service per container (``AWS_ENDPOINT_URL`` points it at moto locally).

    Short timeouts: a slow AWS dependency should fail a request well inside API Gateway's 29 s.
    Built from botocore's default session, which is all ``boto3.client`` does for a client, so
    functions that only read (status, health, cost reports) never load boto3 (~20 ms of cold start).
    """
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return _botocore_session().create_client(service, region_name=get_settings().aws_region, config=config)


@lru_cache(maxsize=1)
def _botocore_session() -> Any:
    """One session per container: it caches credentials and the service models its clients load."""
    from botocore.session import get_session

    return get_session()


def dynamodb_client() -> Any:
    """The container's DynamoDB client."""
    return aws_client("dynamodb")


@lru_cache(maxsize=2)
def queue(name: str) -> SqsQueue:
    """A queue by physical name (its URL is looked up once)."""
    from shared.core.queues import SqsQueue

    return SqsQueue(aws_client("sqs"), name)


def once_guard() -> PowertoolsOnce:
    """At most one completed run per idempotency key, in the idempotency table (one per caller: the workflow
    runner; the message sender keeps its records in Redis, see ``shared.wiring.sending.send_once_guard``)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from shared.core.once import PowertoolsOnce

    settings = get_settings()
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb_client())
    return PowertoolsOnce(persistence, settings.send_dedup_ttl_s)
