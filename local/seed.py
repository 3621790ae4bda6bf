"""``make seed``: 60 days of spend history, recorded through the real ledger, so the local stack has something to show.

The forecast needs a week of history, the optimizer 30 days of traffic and the dashboard a few weeks of
days to draw; a fresh ``make run`` has none. This module builds that history as the product would have
recorded it — one :class:`CostEvent` per billed call, priced by the real :class:`PriceTable` from token
counts, served by the configured routes — and records it with :meth:`CostLedger.record`, the one
conditional Put the campaign path makes. The counters then come from the costs table's stream through
the real aggregator (``local/stream_poller.py`` drains it as the deployed mapping would), which folds an
event into the UTC day of its ``at``, however old; the seed waits (bounded) until every seeded user's
history is in the counters.

What the history looks like, and why (the figures are per day at ``scale`` 1):

- four users (agencies running creators) with different mixes, so per-user views differ;
- every campaign type on its configured route: planning on the first planning candidate (Azure), chat
  work on OpenAI; about 5 % of calls served by the fallback candidate;
- a weekly rhythm (weekends at about half), a gentle upward trend (+0.6 % a day), and one spike
  (a fan-message blast 12 days before the end), so the forecast has shape and the spike shows;
- Azure's planning deployment degraded for the last 20 days (every fourth planning call falls back),
  so the optimizer has a real fallback-order recommendation to make.

Reproducible and idempotent: every random draw comes from ``random.Random`` seeded with the seed and the
day, and request ids are derived from them (``wf_seed<seed>_<yyyymmdd>_<n>#generate#0``), so the same
seed on the same day builds the same events and a second run records nothing new (each Put finds its id
taken).

The history is the ``days`` complete UTC days before today: today stays the first screen's own.
``make seed`` records into a running ``make run`` (whose endpoints and environment ``local/run.py``
writes to :data:`STACK_FILE`); ``make run SEED=1`` records at start-up; tests call :func:`seed_history`
in-process against their own stack.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from local.template import REPO_ROOT
from shared.core.pricing import PriceTable
from shared.ledger.events import CostEvent
from shared.ledger.keys import Scope
from shared.ledger.ledger import CostLedger
from shared.routing.candidates import RouteCandidate

STACK_FILE = REPO_ROOT / ".local" / "stack.json"  # written by `make run` while it runs, removed when it stops
DEFAULT_SEED = 42
DEFAULT_DAYS = 60
SPIKE_DAYS_BEFORE_END = 12
DEGRADED_PLANNING_DAYS = 20  # the last days in which Azure's planning deployment fails often
DEGRADED_FALLBACK_EVERY = 4  # in them, every 4th planning call is served by the fallback
BASE_FALLBACK_SHARE = 0.04
DAILY_TREND = 0.006
WEEKDAY_FACTOR = (1.0, 1.1, 1.1, 1.05, 1.0, 0.55, 0.45)  # Monday first


@dataclass(frozen=True)
class CallShape:
    """The usual size of one call of a campaign type: mean tokens in and out."""

    input_tokens: int
    output_tokens: int


# Campaign type -> (mean campaigns a day at scale 1, calls per campaign, call size). Planning prompts are
# long and their answers longer (a month's calendar); fan messages are many small calls, one per fan.
CAMPAIGN_MIX: dict[str, tuple[float, int, CallShape]] = {
    "content_planning": (4.0, 1, CallShape(2_200, 2_600)),
    "caption": (9.0, 1, CallShape(380, 110)),
    "message_generation": (6.0, 1, CallShape(520, 240)),
    "fan_messages": (1.5, 10, CallShape(430, 150)),
}
# Who runs them: user id -> share of each day's campaigns.
USERS: dict[str, float] = {"seed-agency-north": 0.4, "seed-agency-south": 0.3, "seed-studio": 0.2, "seed-solo": 0.1}


def history(
    prices: PriceTable,
    routes: Mapping[str, Sequence[RouteCandidate]],
    today: date,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    scale: float = 1.0,
) -> list[CostEvent]:
    """Every billed call of the ``days`` complete UTC days before ``today``, oldest first (pure: no I/O)."""
    first = today - timedelta(days=days)
    events: list[CostEvent] = []
    planning_calls = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        rng = random.Random(f"{seed}:{day.isoformat()}")
        volume = scale * WEEKDAY_FACTOR[day.weekday()] * (1 + DAILY_TREND * offset)
        degraded = offset >= days - DEGRADED_PLANNING_DAYS
        campaign_no = 0
        for campaign_type, (per_day, calls_each, shape) in CAMPAIGN_MIX.items():
            mean = per_day * volume
            if campaign_type == "fan_messages" and offset == days - SPIKE_DAYS_BEFORE_END:
                mean *= 6  # the blast
            route = routes[campaign_type]
            for _ in range(_count(rng, mean, at_least=1 if campaign_type == "content_planning" else 0)):
                campaign_no += 1
                campaign_id = f"wf_seed{seed}_{day:%Y%m%d}_{campaign_no:03d}"
                user = rng.choices(list(USERS), weights=list(USERS.values()))[0]
                started = _working_hours_instant(rng, day)
                for call_no in range(calls_each):
                    if campaign_type == "content_planning":
                        planning_calls += 1
                        fallback = (
                            planning_calls % DEGRADED_FALLBACK_EVERY == 0
                            if degraded
                            else rng.random() < BASE_FALLBACK_SHARE
                        )
                    else:
                        fallback = rng.random() < BASE_FALLBACK_SHARE
                    step = "generate" if calls_each == 1 else f"generate:fan-{call_no + 1}"
                    events.append(
                        _priced_call(
                            prices,
                            route[1] if fallback and len(route) > 1 else route[0],
                            request_id=f"{campaign_id}#{step}#{2 if fallback else 0}",
                            campaign_type=campaign_type,
                            campaign_id=campaign_id,
                            user_id=user,
                            shape=shape,
                            rng=rng,
                            at=started + call_no * rng.uniform(0.2, 1.5),
                            fallback=fallback,
                        )
                    )
    return events


def record(ledger: CostLedger, events: Iterable[CostEvent]) -> int:
    """Record each event once (one conditional Put each); how many were new."""
    return sum(1 for event in events if ledger.record(event))


def expected_spend(events: Iterable[CostEvent]) -> dict[str, int]:
    """Each seeded user's exact spend over the history, in nano-dollars: what their counters must reach."""
    spend: dict[str, int] = {}
    for event in events:
        spend[event.user_id] = spend.get(event.user_id, 0) + int(event.nanos or 0)
    return spend


def folded_spend(ledger: CostLedger, users: Iterable[str], first: date, last: date) -> dict[str, int]:
    """Each user's spend from ``first`` to ``last`` as the counters hold it (one Query per user)."""
    return {
        user: sum(c.nanos for c in ledger.breakdown(Scope(user_id=user), "day", first, last).values()) for user in users
    }


def wait_until_folded(
    ledger: CostLedger, events: Sequence[CostEvent], timeout_s: float = 180.0, every_s: float = 0.5
) -> None:
    """Block until the stream aggregator has folded every seeded user's history into the counters."""
    if not events:
        return
    expected = expected_spend(events)
    first, last = min(e.day for e in events), max(e.day for e in events)
    deadline = time.monotonic() + timeout_s
    while (found := folded_spend(ledger, expected, first, last)) != expected:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the counters did not reach the seeded spend within {timeout_s:.0f} s "
                f"(is the stream poller running?): expected {expected}, found {found}"
            )
        time.sleep(every_s)


def seed_history(
    ledger: CostLedger,
    prices: PriceTable,
    routes: Mapping[str, Sequence[RouteCandidate]],
    *,
    today: date | None = None,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    scale: float = 1.0,
    wait_s: float = 180.0,
) -> tuple[int, int]:
    """Build, record and wait for the history; ``(events in it, events newly recorded)``."""
    events = history(prices, routes, today or datetime.now(UTC).date(), seed=seed, days=days, scale=scale)
    recorded = record(ledger, events)
    wait_until_folded(ledger, events, timeout_s=wait_s)
    return len(events), recorded


def seed_from_container(**options: Any) -> tuple[int, int]:
    """:func:`seed_history` with the collaborators the handlers use, from the current environment."""
    from shared.wiring import container

    routes = container.get_settings().routing_table
    return seed_history(container.cost_ledger(), container.price_table(), routes, **options)


def write_stack_file(api_url: str, env: Mapping[str, str], path: Path = STACK_FILE) -> None:
    """What a running ``make run`` tells ``make seed``: its API and the handlers' environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "api": api_url, "env": dict(env)}, indent=2))


def read_stack_file(path: Path = STACK_FILE) -> dict[str, Any]:
    """The running stack's description; a clear error when no ``make run`` is running."""
    try:
        described = json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit("no local stack is running: start `make run` in another terminal first") from None
    if not _alive(int(described.get("pid", 0))):
        raise SystemExit(f"{path} names a `make run` that is no longer running: start `make run` again")
    return described


def main(argv: list[str] | None = None) -> None:
    """``python -m local.seed [--seed 42] [--days 60] [--scale 1]`` against the running ``make run``."""
    parser = argparse.ArgumentParser(description="Record reproducible spend history into the running local stack.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same history (default 42)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="complete UTC days before today (default 60)")
    parser.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1)")
    args = parser.parse_args(argv)
    stack = read_stack_file()
    os.environ.update(stack["env"])
    started = time.monotonic()
    total, recorded = seed_from_container(seed=args.seed, days=args.days, scale=args.scale)
    print(
        f"seeded {args.days} days (seed {args.seed}): {recorded} new of {total} calls, folded into the counters "
        f"in {time.monotonic() - started:.1f} s; try {stack['api']}/dashboard or GET /api/v2/costs/forecast",
    )


def _count(rng: random.Random, mean: float, at_least: int = 0) -> int:
    """A count around ``mean`` (Poisson-like spread), never below ``at_least``."""
    return max(at_least, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 0 else at_least


def _working_hours_instant(rng: random.Random, day: date) -> float:
    """An instant of ``day`` (UTC), most of them between 08:00 and 22:00, none after 23:30 (a campaign's
    calls, seconds apart, stay in its day)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    hour = min(23.0, max(0.0, rng.gauss(15, 3.5)))
    return midnight + hour * 3600 + rng.uniform(0, 1800)


def _priced_call(
    prices: PriceTable,
    candidate: RouteCandidate,
    *,
    request_id: str,
    campaign_type: str,
    campaign_id: str,
    user_id: str,
    shape: CallShape,
    rng: random.Random,
    at: float,
    fallback: bool,
) -> CostEvent:
    """One billed call as the router records it: tokens around the type's shape, priced by the price table."""
    input_tokens = max(50, round(rng.gauss(shape.input_tokens, shape.input_tokens * 0.2)))
    output_tokens = max(20, round(rng.gauss(shape.output_tokens, shape.output_tokens * 0.25)))
    cached = 1_024 if input_tokens >= 1_280 and rng.random() < 0.3 else 0  # a reused planning brief
    cost = prices.cost(candidate.provider, candidate.model, input_tokens, output_tokens, cached)
    return CostEvent(
        request_id=request_id,
        provider=candidate.provider,
        model=cost.priced_model,
        deployment=candidate.model,
        campaign_type=campaign_type,
        campaign_id=campaign_id,
        user_id=user_id,
        tenant=None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        micros=cost.micros,
        at=at,
        fallback=fallback,
        nanos=cost.nanos,
        cached_tokens=cached,
    )


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    main()
