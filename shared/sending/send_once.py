"""The message sender's once-per-key guard, in the limiter's Redis (Powertools' cache persistence layer).

Why Redis and not the idempotency table: the guard writes twice per message (in progress, then
completed); in DynamoDB that is 2 write units per message, a fifth of the message's AWS cost. The
sender already sits beside Redis for the limiter, so the records go there: ``SET NX EX`` for the
in-progress record, ``SET EX`` for the completed one (``SEND_DEDUP_TTL_S``), ``DEL`` when a run
raises. Keys are ``<prefix>-<stage>-send-once#<md5 of the producer's key>`` (and ``…:lock`` while an
orphaned record is taken over), each a single key, so a cluster client routes every call to one shard.

Durability, plainly: the records now live where the rate limit lives (ElastiCache; the default
stack's Serverless cache replicates across Availability Zones, a node-based one should run a
replica with Multi-AZ). Replication is asynchronous, so a failover can lose the last writes,
among them a just-completed send's record; a redelivery of that message would then send again.
The second line of defence is the gateway's: every send carries the producer's key as
``Idempotency-Key`` (and ``messageId``), and the gateway answers a repeated key with the first
receipt instead of delivering twice. The records expire after ``SEND_DEDUP_TTL_S``; they carry a
TTL, so a ``volatile-*`` eviction policy (ElastiCache's default ``volatile-lru``; Serverless evicts
TTL'd keys only at its storage cap) could drop them early only under memory pressure.

Fails closed: a client is built on first use (:class:`~shared.sending.redis_connection.RedisConnection`),
and any Redis error while the in-progress record is written surfaces as
:class:`~shared.core.once.OnceGuardUnavailableError`; the drainer puts the message back on the queue,
exactly as when the limiter cannot decide. Nothing is ever sent without its record.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer

from shared.core.naming import resource_name
from shared.core.once import PowertoolsOnce
from shared.sending.redis_connection import RedisConnection

KEY_SUFFIX = "send-once"


def send_once_key_prefix(resource_prefix: str, stage: str) -> str:
    """The records' key prefix, e.g. ``hybrid-orch-prod-send-once`` (Powertools appends ``#<hash>``)."""
    return resource_name(resource_prefix, stage, KEY_SUFFIX)


class ConnectionBackedClient:
    """The three calls Powertools makes (``get``, ``set``, ``delete``), on the container's lazy connection.

    Powertools holds a client from construction; the container's client is built on first use, so
    Redis away at cold start fails a message (closed), not the container.
    """

    def __init__(self, connection: RedisConnection) -> None:
        self._connection = connection

    def get(self, name: bytes | str | memoryview) -> Any:
        return self._connection.client().get(name)

    def set(
        self,
        name: str | bytes,
        value: bytes | float | str,
        ex: float | timedelta | None = None,
        px: float | timedelta | None = None,
        nx: bool = False,
    ) -> Any:
        return self._connection.client().set(name, value, ex=ex, px=px, nx=nx)

    def delete(self, *names: bytes | str | memoryview) -> Any:
        return self._connection.client().delete(*names)


def redis_once(connection: RedisConnection, expires_after_s: int, key_prefix: str) -> PowertoolsOnce:
    """The sender's :class:`PowertoolsOnce` with its records in Redis under ``key_prefix``."""
    with warnings.catch_warnings():
        # Powertools 3.x marks the class deprecated under its old name (RedisCachePersistenceLayer), and the
        # new name is an alias of the same class, so constructing it under either name warns.
        warnings.simplefilter("ignore", DeprecationWarning)
        persistence = CachePersistenceLayer(client=ConnectionBackedClient(connection))
    return PowertoolsOnce(persistence, expires_after_s, key_prefix=key_prefix)
