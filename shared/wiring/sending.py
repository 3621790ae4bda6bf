"""Redis, the limiter and the drainer (the functions beside Redis)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config.settings import get_settings

if TYPE_CHECKING:
    from shared.core.once import PowertoolsOnce
    from shared.sending.drainer import MessageDrainer
    from shared.sending.limiter import SlidingWindowLimiter
    from shared.sending.redis_connection import RedisConnection


from shared.wiring.aws import queue
from shared.wiring.campaigns import message_states, workflow_store
from shared.wiring.routing import provider_key


@lru_cache(maxsize=1)
def redis_connection() -> RedisConnection:
    """The container's one Redis client (standalone or cluster, as configured), connected on first use."""
    from shared.sending.redis_connection import redis_connection as connect_lazily

    settings = get_settings()
    return connect_lazily(
        settings.redis_url,
        settings.redis_timeout_s,
        cluster_mode=settings.redis_cluster_mode,
        ssl_ca_certs=settings.redis_ssl_ca_certs,
    )


@lru_cache(maxsize=1)
def sliding_limiter() -> SlidingWindowLimiter:
    """The sending limiter; the health check probes Redis through this same one."""
    from shared.sending.limiter import SlidingWindowLimiter

    settings = get_settings()
    return SlidingWindowLimiter(
        redis_connection(),
        settings.of_rate_limit,
        settings.of_rate_window_s * 1000,
        guard_ms=settings.of_rate_guard_ms,
        unavailable_retry_ms=settings.of_limiter_unavailable_delay_s * 1000,
    )


@lru_cache(maxsize=1)
def send_once_guard() -> PowertoolsOnce:
    """The sender's once-per-key guard, in the limiter's Redis (records kept ``SEND_DEDUP_TTL_S``)."""
    from shared.sending.send_once import redis_once, send_once_key_prefix

    settings = get_settings()
    key_prefix = send_once_key_prefix(settings.resource_prefix, settings.stage)
    return redis_once(redis_connection(), settings.send_dedup_ttl_s, key_prefix)


@lru_cache(maxsize=1)
def message_drainer() -> MessageDrainer:
    """The drainer over Redis, the gateway (key from Secrets Manager), the queue and the workflow counts."""
    from shared.sending.drainer import MessageDrainer
    from shared.sending.gateway import SendingGateway

    settings = get_settings()
    gateway_key = provider_key(settings.gateway_api_key_secret_name, settings.gateway_api_key.get_secret_value())
    return MessageDrainer(
        limiter=sliding_limiter(),
        gateway=SendingGateway(settings.gateway_url, gateway_key, settings.gateway_timeout_s),
        queue=queue(settings.messages_queue_name),
        counters=workflow_store(),
        states=message_states(),
        once=send_once_guard(),
        guard_unavailable_delay_s=settings.of_limiter_unavailable_delay_s,
        max_receive_count=settings.messages_max_receive_count,
        retry_backoff_s=settings.send_retry_backoff_s,
        gateway_timeout_s=settings.gateway_timeout_s,
    )
