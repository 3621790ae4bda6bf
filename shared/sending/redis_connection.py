"""The limiter's Redis client: standalone or cluster, plain or TLS, one per container, built on first use.

Why cluster mode matters: a cluster-mode Redis (an ElastiCache replication group with several
shards; ElastiCache Serverless, which only exists in cluster mode) answers ``MOVED`` for every key
whose hash slot another shard owns. A standalone client takes that for an error, so the limiter
would fail closed for most accounts; redis-py's ``RedisCluster`` follows the slot map instead.
``EVALSHA``/``EVAL`` are routed by their first key, and the limiter's script touches only the one
key it declares in ``KEYS``, so the same script runs on either client (each shard has its own
script cache: the first call on a shard meets ``NOSCRIPT`` and falls back to ``EVAL`` once).

Which client: ``cluster`` or ``standalone`` as configured, or ``auto``: a standalone client asks
``INFO cluster`` once and is kept when ``cluster_enabled`` is 0, replaced by a cluster client when
it is 1 (``CLUSTER INFO`` decides where ``INFO`` is restricted).

Why lazily: a cluster client connects while it is built (it reads the slot map), and ``auto``
needs a round trip; doing that at cold start would turn "Redis is away" into a failed container,
when the drainer must instead fail closed message by message. :class:`RedisConnection` builds the
client on first use, under a lock, and tries again on the next use after a failure. A malformed
URL is a configuration error and fails at once.

TLS: ``rediss://`` verifies the server's certificate and host name against the system trust store
(which holds the Amazon CAs ElastiCache's certificates chain to); ``ssl_ca_certs`` names a PEM
bundle to trust instead (a private CA; the tests' throwaway one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.connection import parse_url
from redis.exceptions import RedisClusterException
from redis.retry import Retry

ClusterMode = Literal["auto", "standalone", "cluster"]
RedisClient = redis.Redis | RedisCluster
# What a call can raise when Redis cannot answer: the cluster client's own errors (no reachable
# node, a slot no shard covers) are not RedisErrors.
REDIS_FAILURES: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)


def _no_retries() -> Retry:
    return Retry(NoBackoff(), retries=0)


def _connection_options(url: str, timeout_s: float, ssl_ca_certs: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry_on_timeout": False,
    }
    if ssl_ca_certs and url.startswith("rediss://"):
        options["ssl_ca_certs"] = ssl_ca_certs
    return options


def cluster_enabled(client: redis.Redis) -> bool:
    """Whether the server behind a standalone client runs in cluster mode."""
    try:
        info = client.info("cluster")
    except redis.ResponseError:
        info = {}
    if "cluster_enabled" in info:
        return bool(int(info["cluster_enabled"]))
    try:
        client.execute_command("CLUSTER INFO")
    except redis.ResponseError:  # "cluster support disabled"
        return False
    return True


def redis_client(
    url: str, timeout_s: float, *, cluster_mode: ClusterMode = "auto", ssl_ca_certs: str = ""
) -> RedisClient:
    """A client that gives up quickly and never retries on its own: the caller fails closed instead.

    Connects now for ``cluster`` and ``auto`` (see the module docstring); use
    :func:`redis_connection` to defer that to the first call.
    """
    options = _connection_options(url, timeout_s, ssl_ca_certs)
    if cluster_mode == "cluster":
        return _cluster_client(url, options)
    standalone = redis.Redis.from_url(url, retry=_no_retries(), health_check_interval=30, **options)
    if cluster_mode == "standalone":
        return standalone
    try:
        is_cluster = cluster_enabled(standalone)
    except BaseException:
        standalone.close()
        raise
    if not is_cluster:
        return standalone  # its connection stays in the pool for the limiter
    standalone.close()
    return _cluster_client(url, options)


def _cluster_client(url: str, options: dict[str, Any]) -> RedisCluster:
    # dynamic_startup_nodes=False: rediscover through the URL's host (ElastiCache's configuration
    # endpoint, a DNS name) rather than the node addresses CLUSTER SLOTS happened to list.
    return RedisCluster.from_url(url, retry=_no_retries(), dynamic_startup_nodes=False, **options)


class RedisConnection:
    """The container's one Redis client, built on first use (and again after a failed build)."""

    def __init__(self, connect: Callable[[], RedisClient]) -> None:
        self._connect = connect
        self._client: RedisClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, client: RedisClient) -> RedisConnection:
        """Wrap a client that already exists."""
        connection = cls(lambda: client)
        connection._client = client
        return connection

    def client(self) -> RedisClient:
        """The client, building it now if needed; raises one of :data:`REDIS_FAILURES` when Redis is away."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
                client = self._client
        return client

    def close(self) -> None:
        """Close the client's connections (a later call builds a new one)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def redis_connection(
    url: str, timeout_s: float, *, cluster_mode: ClusterMode = "auto", ssl_ca_certs: str = ""
) -> RedisConnection:
    """A lazily built :func:`redis_client`; a malformed URL raises ``ValueError`` now."""
    parse_url(url)
    return RedisConnection(lambda: redis_client(url, timeout_s, cluster_mode=cluster_mode, ssl_ca_certs=ssl_ca_certs))
