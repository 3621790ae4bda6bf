"""Exact sliding-window rate limiter per creator account, in Redis: one Lua script, one round trip.

Why a log and not a counter: a fixed window, a token bucket or GCRA all let up to ``2N - 1``
sends into some window of the platform's length; the platform counts any 60 s span. The script
keeps, per account, a sorted set of the sends it admitted, scored by Redis's own clock (read
with ``TIME``, so every Lambda container agrees on "now"). A send is admitted exactly when fewer
than ``limit`` admitted sends lie in the last window, i.e. when the ``limit``-th newest is at
least a window old; so the set only ever needs the newest ``limit`` entries (older ones are
dropped on admit), and otherwise the answer is how long until that entry leaves the window.
Everything happens inside one script, so concurrent callers are serialized by Redis itself. The
reply is one integer (the server time when admitted, minus the wait when not): the cheapest
reply to parse, since this runs once per message.

Failing closed: any Redis error or timeout is "not now, ask again later", never "send". The
client may be standalone or cluster (see :mod:`shared.sending.redis_connection`): the script
touches only ``KEYS[1]``, so it runs on the shard that owns the account's key.

The same script backs the health check (:meth:`SlidingWindowLimiter.probe`): it runs on reserved
keys (``of:probe:{n}``, never an account's ``of:sent:<accountId>``) with a 1 ms window, one key per
shard of a cluster client, or keys spread over the slot space on a standalone client (pointed at a
cluster by mistake, it fails only for the slots other shards own), and raises whatever kept the
limiter from deciding: "cache healthy" means "the limiter can decide, whichever shard an account
is on".
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections.abc import Callable, Hashable
from typing import Any, Literal, NamedTuple, Protocol

import redis
from redis.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from shared.sending.redis_connection import REDIS_FAILURES, RedisClient, RedisConnection

KEY_PREFIX = "of:sent:"
# Reserved for the health probe: an account id holds neither ':' nor '{', so no account shares these keys.
PROBE_KEY_PREFIX = "of:probe:"
PROBE_WINDOW_US = 1000  # a probe key holds at most one entry, gone after 1 ms
PROBE_SLOT_BUCKETS = 8  # standalone client: one probe key per eighth of the cluster slot space

# KEYS[1] log of admitted sends; ARGV: limit, window in microseconds, unique member.
# Returns the server time in microseconds when admitted, or minus the microseconds to wait.
SLIDING_LOG_LUA = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local limit = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local edge = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  local wait_us = tonumber(edge[2]) + window_us - now_us
  if wait_us > 0 then
    return -wait_us
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit)
end
redis.call('ZADD', KEYS[1], now_us, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window_us / 1000))
return now_us
"""
SLIDING_LOG_SHA = hashlib.sha1(SLIDING_LOG_LUA.encode()).hexdigest()  # Redis names scripts by their SHA-1


class Decision(NamedTuple):
    """The limiter's answer: send now, or wait ``retry_after_ms`` (``reason`` says why).

    A named tuple, not a dataclass: it is built once per message and costs a fraction to create.
    """

    allowed: bool
    retry_after_ms: int = 0
    server_time_us: int | None = None  # Redis's clock when it admitted (None otherwise)
    reason: Literal["admitted", "limited", "unavailable"] = "admitted"

    @property
    def retry_after_s(self) -> int:
        """Whole seconds to wait (SQS delays are whole seconds), at least 1 when not allowed."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_ms / 1000))


class RateLimiter(Protocol):
    """What the drainer needs from a limiter."""

    def acquire(self, account_id: str) -> Decision: ...


class SlidingWindowLimiter:
    """``limit`` sends per ``window_ms`` per account; ``guard_ms`` widens the window for arrival jitter."""

    def __init__(
        self,
        redis_source: RedisConnection | RedisClient,
        limit: int,
        window_ms: int,
        *,
        guard_ms: int = 0,
        unavailable_retry_ms: int = 10_000,
    ) -> None:
        if limit < 1 or window_ms < 1:
            raise ValueError("limit and window must be positive")
        self._redis = redis_source if isinstance(redis_source, RedisConnection) else RedisConnection.of(redis_source)
        self._limit = limit
        self._window_us = (window_ms + guard_ms) * 1000
        self._unavailable_retry_ms = unavailable_retry_ms
        # Log members must be unique across containers: a random prefix per limiter, then a counter
        # (cheaper than a uuid4 per decision; ``next`` on a count is atomic under the GIL).
        self._member_prefix = os.urandom(8).hex()
        self._members = itertools.count()

    def acquire(self, account_id: str) -> Decision:
        """Admit one send for ``account_id`` now, or say how long until one would be admitted."""
        args: list[Any] = [self._limit, self._window_us, f"{self._member_prefix}{next(self._members)}"]
        try:
            reply = _run_script(self._redis.client(), KEY_PREFIX + account_id, args)
        except REDIS_FAILURES:
            return Decision(False, self._unavailable_retry_ms, None, "unavailable")
        if reply > 0:
            return Decision(True, 0, reply, "admitted")
        return Decision(False, max(1, math.ceil(-reply / 1000)), None, "limited")

    def probe(self) -> int:
        """Run the script on reserved keys covering every shard; return how many keys it decided for.

        Raises what stopped a decision (``MOVED``, ``CROSSSLOT``, a script error, a timeout, no
        reachable node) where :meth:`acquire` would only have said "not now".
        """
        client = self._redis.client()
        keys = probe_keys(client)
        for key in keys:
            _run_script(client, key, [1, PROBE_WINDOW_US, f"{self._member_prefix}{next(self._members)}"])
        return len(keys)


def _run_script(client: RedisClient, key: str, args: list[Any]) -> int:
    try:
        return client.evalsha(SLIDING_LOG_SHA, 1, key, *args)
    except redis.exceptions.NoScriptError:
        return client.eval(SLIDING_LOG_LUA, 1, key, *args)  # runs it and caches it for EVALSHA


def probe_keys(client: RedisClient) -> list[str]:
    """Reserved keys: one per primary of a cluster client, one per slot-space bucket on a standalone one."""
    bucket_of: Callable[[str], Hashable]
    if isinstance(client, RedisCluster):
        buckets = len(client.get_primaries())
        bucket_of = lambda key: client.get_node_from_key(key).name  # noqa: E731 - raises when no shard covers the slot
    else:
        buckets = PROBE_SLOT_BUCKETS
        bucket_of = lambda key: key_slot(key.encode()) * PROBE_SLOT_BUCKETS // REDIS_CLUSTER_HASH_SLOTS  # noqa: E731
    keys: dict[Hashable, str] = {}
    # Hash tags {0}, {1}, ... land in a given bucket with chance 1/buckets each, so this ends after
    # about buckets x ln(buckets) tries (a few for 3 shards, ~3,000 for 500).
    for n in itertools.count():
        key = f"{PROBE_KEY_PREFIX}{{{n}}}"
        keys.setdefault(bucket_of(key), key)
        if len(keys) >= buckets:
            break
    return list(keys.values())
