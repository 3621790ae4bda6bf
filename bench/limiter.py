"""Limiter: decisions per second from one process against a local Redis, and round trips per decision.

Three things run against the same ``redis-server`` in the same run, interleaved round by round
so that machine noise hits them alike:

* ours: ``SlidingWindowLimiter.acquire`` (one EVALSHA of the sliding-log script);
* the ``limits`` library's moving window (``MovingWindowRateLimiter`` over ``RedisStorage``);
* a raw ``EVALSHA`` of a trivial script (``return 1``): what one script round trip costs here,
  the floor any one-round-trip limiter can approach (``redis-benchmark`` measures the same thing
  with pipelining and many clients; one synchronous client is the limiter's real situation).

Each decision is for one of ``ACCOUNTS`` accounts in turn, limit 10 per 60 s, so after the first
pass most decisions are refusals, as under load. Round trips are counted by wrapping
``redis.connection.Connection.send_packed_command``: one call is one request sent to Redis.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from bench.stats import Row, median, verdict, write_json

ROUNDS = 15
DECISIONS = 1500
ACCOUNTS = 200
LIMIT, WINDOW_S = 10, 60
RAW_TARGET = 0.5  # ours / raw EVALSHA, decisions per second


class RoundTrips:
    """Counts requests sent to Redis by any client in this process."""

    def __init__(self) -> None:
        self.count = 0
        original = redis.connection.Connection.send_packed_command

        def counting(connection: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            original(connection, command, check_health)

        redis.connection.Connection.send_packed_command = counting  # type: ignore[method-assign]


def contenders(url: str) -> dict[str, Callable[[str], Any]]:
    """One decision for an account, for each of the three."""
    from limits import RateLimitItemPerMinute
    from limits.storage import RedisStorage
    from limits.strategies import MovingWindowRateLimiter

    from shared.sending.limiter import SlidingWindowLimiter
    from shared.sending.redis_connection import redis_client

    ours = SlidingWindowLimiter(redis_client(url, 2.0), LIMIT, WINDOW_S * 1000)
    moving = MovingWindowRateLimiter(RedisStorage(url))
    item = RateLimitItemPerMinute(LIMIT)
    raw = redis.Redis.from_url(url)
    sha = raw.script_load("return 1")
    return {
        "ours": ours.acquire,
        "limits": lambda account: moving.hit(item, account),
        "raw_evalsha": lambda account: raw.evalsha(sha, 1, account),
    }


def measure(url: str) -> dict[str, Any]:
    """Rounds of DECISIONS decisions per contender; median decisions/s and round trips per decision."""
    trips = RoundTrips()
    calls = contenders(url)
    accounts = [f"bench-{i}" for i in range(ACCOUNTS)]
    for call in calls.values():  # warm: scripts loaded, connections open
        for account in accounts[:20]:
            call(account)
    rates: dict[str, list[float]] = {name: [] for name in calls}
    per_decision: dict[str, float] = {}
    names = list(calls)
    for round_no in range(ROUNDS):
        order = names[round_no % 3 :] + names[: round_no % 3]  # each goes first, second and last in turn
        for name in order:
            call = calls[name]
            before = trips.count
            started = time.perf_counter()
            for n in range(DECISIONS):
                call(accounts[n % ACCOUNTS])
            elapsed = time.perf_counter() - started
            rates[name].append(DECISIONS / elapsed)
            per_decision[name] = (trips.count - before) / DECISIONS
    # Paired per round: machine noise moves a round's three rates together, so ratios are steadier.
    paired = {
        other: median([ours / theirs for ours, theirs in zip(rates["ours"], rates[other], strict=True)])
        for other in ("limits", "raw_evalsha")
    }
    return {
        "rounds": ROUNDS,
        "decisions_per_round": DECISIONS,
        "accounts": ACCOUNTS,
        "per_second": {name: median(values) for name, values in rates.items()},
        "ours_over": paired,
        "all_rounds": rates,
        "round_trips_per_decision": per_decision,
    }


def rows(data: dict[str, Any]) -> list[Row]:
    """Throughput against ``limits`` and raw EVALSHA, and round trips, as table rows."""
    rate, trips, over = data["per_second"], data["round_trips_per_decision"], data["ours_over"]
    shape = f"{data['rounds']} interleaved rounds x {data['decisions_per_round']} decisions, 1 client; ratio: median"
    return [
        Row(
            "limiter: decisions/s, ours vs limits moving window",
            f"{rate['ours']:,.0f}/s ({1e6 / rate['ours']:.0f} us)",
            f"limits {rate['limits']:,.0f}/s",
            f"{over['limits']:.2f}x",
            "ahead of limits (> 1x)",
            verdict(over["limits"] > 1.0),
            detail=f"{shape} of per-round ours/limits",
        ),
        Row(
            "limiter: ours vs raw EVALSHA (return 1)",
            f"{rate['ours']:,.0f}/s",
            f"raw EVALSHA {rate['raw_evalsha']:,.0f}/s",
            f"{over['raw_evalsha']:.2f}x",
            f">= {RAW_TARGET}x",
            verdict(over["raw_evalsha"] >= RAW_TARGET),
            detail=f"same server, same run: the floor of one script round trip; {shape} of per-round ours/raw",
        ),
        Row(
            "limiter: Redis round trips per decision",
            f"{trips['ours']:.2f}",
            f"limits {trips['limits']:.2f}",
            target="1",
            result=verdict(abs(trips["ours"] - 1.0) < 1e-9),
            detail="requests sent (Connection.send_packed_command), counted over every round",
        ),
    ]


def main() -> None:
    """``python -m bench.limiter --out FILE``: start a local Redis, measure, write JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from local.redis_server import RedisServer

    with RedisServer() as server:
        result = measure(server.url)
        result["redis"] = server.kind
    write_json(Path(args.out), result)


if __name__ == "__main__":
    main()
