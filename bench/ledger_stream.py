"""The cost ledger's meter: write units per recorded call, the busiest item's writes, stats lag, exactness.

Four measurements, each through the real code:

- **Write request units per recorded call**, counted on the wire: every DynamoDB request a recording
  makes (the campaign path's conditional ``PutItem``) and every request the aggregator makes to fold it
  (``UpdateItem`` per counter per batch, the ``GetItem`` of a refold), against a moto server in its own
  process, each write priced by DynamoDB's item-size rule (1 WCU per started KB of the larger of the item
  before and after; moto's items are sized here, after the write) and the aggregator's share amortized over
  the batch size it really ran with (the template's 100, through the local stream poller). The workload is
  the one the issue measures the meter on: ``fan_messages`` campaigns (one user, one campaign, 20 messages
  each), plus, for information, the worst case: every call from a different user and campaign.
- **Writes per second to the busiest item at 1,000 recorded calls/s**: 10 s of traffic (10,000 calls from
  50 users over 500 campaigns) replayed through the real ``CostAggregator`` in batches of the mapping's
  batch size; each counter's updates counted.
- **Stats lag**: a local stack (moto, the stream poller as the template configures it, the API), a sync
  ``caption`` campaign answered, then ``/costs/stats`` polled until it holds the answer's cost.
- **10,000 events through injected failures** (errors before and after writes, crashes before and after
  writes, bisected, partially failed and duplicated batches): every counter exact, no double count.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter as Tally
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Row, median, percentile, verdict, write_json
from local.request_counter import RequestCounter

BATCH_SIZE = 100
WRITE_UNITS_TARGET = 2.0
BUSIEST_TARGET = 20.0
LAG_TARGETS_S = (1.0, 2.0)  # p50, p99
LAG_SAMPLES = 40
AT = datetime(2026, 3, 14, 10, tzinfo=UTC).timestamp()


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (bytes): strings by UTF-8 length, numbers by their digits."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in raw)
    return len(str(raw))


def item_write_units(item: dict[str, Any]) -> int:
    """Write units of writing ``item`` (outside a transaction): one per started KB."""
    size = sum(len(name.encode()) + attribute_size(value) for name, value in item.items())
    return max(1, math.ceil(size / 1024))


def fan_workload(calls: int, per_campaign: int = 20) -> list[Any]:
    """``fan_messages`` campaigns: one user and campaign per ``per_campaign`` consecutive messages; each of the
    50 users in one of 5 tenants (every call has a tenant: its 3 tenant counters are folded too)."""
    from tests.support.factories import event

    return [
        event(n, micros=37, user=f"creator-{n // per_campaign % 50}", campaign_id=f"wf_fan_{n // per_campaign}",
              campaign_type="fan_messages", tenant=f"agency-{n // per_campaign % 5}", at=AT + n / 100)
        for n in range(calls)
    ]  # fmt: skip


def scattered_workload(calls: int) -> list[Any]:
    """The worst case for the counters: every call from another user and campaign (and one of 5 tenants)."""
    from tests.support.factories import event

    return [
        event(n, micros=22, user=f"user-{n}", campaign_id=f"wf_{n}", tenant=f"agency-{n % 5}", at=AT + n / 100)
        for n in range(calls)
    ]


def write_units(server: Any, events: list[Any]) -> dict[str, Any]:
    """Record ``events`` against moto, fold the stream, count and price every write on the wire."""
    from tests.support.streams import Folder

    ddb = server.client("dynamodb")
    name = f"bench-ledger-{time.monotonic_ns()}"
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    from shared.ledger.ledger import CostLedger
    from shared.ledger.store import DynamoCostStore

    recorder = server.client("dynamodb")
    put_units: list[int] = []
    recorder.meta.events.register(
        "before-parameter-build.dynamodb.PutItem",
        lambda params, **_: put_units.append(item_write_units(params["Item"])),
    )
    recorded = RequestCounter(recorder)
    ledger = CostLedger(DynamoCostStore(name, recorder))
    assert all(ledger.record(e) for e in events)

    stack = _StackShim(server)
    folder = Folder(stack, name, created["TableDescription"]["LatestStreamArn"])
    aggregator_client = folder.consumer._aggregator._store._client
    updated: list[tuple[str, str]] = []
    aggregator_client.meta.events.register(
        "before-parameter-build.dynamodb.UpdateItem",
        lambda params, **_: updated.append((params["Key"]["pk"]["S"], params["Key"]["sk"]["S"])),
    )
    folding = RequestCounter(aggregator_client)
    handed = folder.drain()
    invocations = folder.poller.invocations
    update_units = 0
    for pk, sk in updated:  # priced by the item as the update left it (the larger side for an ADD)
        item = ddb.get_item(TableName=name, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
        update_units += item_write_units(item)
    ddb.delete_table(TableName=name)
    requests = {
        **{f"record {k}": v for k, v in recorded.take().items()},
        **{f"fold {k}": v for k, v in folding.take().items()},
    }
    calls = len(events)
    return {
        "calls": calls,
        "handed": handed,
        "invocations": invocations,
        "put_units": sum(put_units),
        "update_units": update_units,
        "updates": len(updated),
        "requests": requests,
        "units_per_call": (sum(put_units) + update_units) / calls,
        "batch_size": calls / max(1, invocations),
    }


class _StackShim:
    """What :class:`tests.support.streams.Folder` needs of a local stack: its moto server."""

    def __init__(self, server: Any) -> None:
        self.moto = server


def busiest_item(calls_per_s: int = 1_000, seconds: int = 10) -> dict[str, Any]:
    """10 s of traffic at 1,000 calls/s through the real aggregator in batches of BATCH_SIZE; updates per key."""
    from shared.ledger.aggregator import CostAggregator, StreamedEvent, padded_sequence
    from tests.support.factories import event
    from tests.support.fakes import InMemoryCostStore

    rng = random.Random(5)
    total = calls_per_s * seconds
    events = [
        event(n, micros=rng.randint(1, 900), user=f"user-{rng.randrange(50)}", campaign_id=f"wf_{rng.randrange(500)}",
              at=AT + n / calls_per_s)
        for n in range(total)
    ]  # fmt: skip
    store = InMemoryCostStore(fold_before_reads=False)
    keys: Tally = Tally()
    original = store.add_counter

    def counted(increment: Any) -> Any:
        keys[increment.key] += 1
        return original(increment)

    store.add_counter = counted  # type: ignore[method-assign]
    aggregator = CostAggregator(store)
    records = [StreamedEvent(padded_sequence(str(10**21 + n)), e) for n, e in enumerate(events)]
    for start in range(0, total, BATCH_SIZE):
        aggregator.apply("shardId-00000001700000000000-bench", records[start : start + BATCH_SIZE])
    ((key, writes),) = keys.most_common(1)
    return {"calls": total, "seconds": seconds, "busiest": list(key), "writes_per_s": writes / seconds,
            "updates": sum(keys.values())}  # fmt: skip


def failure_replay(count: int = 10_000) -> dict[str, Any]:
    """The unit tier's failure-injection replay, at 10,000 events, with its tallies."""
    from shared.core.observability import logger
    from shared.ledger.aggregator import CostAggregator, StreamedEvent, padded_sequence
    from shared.ledger.keys import counter_keys
    from shared.ledger.store import Counters
    from tests.support.factories import event
    from tests.support.stream_faults import EventSourceMapping, FlakyStore

    logger.setLevel("CRITICAL")
    rng = random.Random(99)
    events = [
        event(n, micros=rng.randint(1, 5_000), user=f"u{rng.randrange(30)}", campaign_id=f"wf_{rng.randrange(200)}",
              at=AT + rng.randrange(86_400))
        for n in range(count)
    ]  # fmt: skip
    store = FlakyStore(rng, rate=0.01)
    mapping = EventSourceMapping(CostAggregator(store), "shardId-00000001700000000000-faults", rng)
    mapping.run([StreamedEvent(padded_sequence(str(10**21 + n)), e) for n, e in enumerate(events)])
    expected: dict[Any, int] = {}
    for e in events:
        for key in counter_keys(e):
            expected[key] = expected.get(key, 0) + e.micros
    counted = {k: Counters.from_item(store.items.get(k)).micros for k in expected}
    over = sum(1 for k in expected if counted[k] > expected[k])
    under = sum(1 for k in expected if counted[k] < expected[k])
    return {"events": count, "counters": len(expected), "over": over, "under": under,
            "injected": dict(store.injected), "mapping": dict(mapping.stats)}  # fmt: skip


def stats_lag() -> dict[str, Any]:
    """Sync caption campaigns through the local API; seconds until /costs/stats holds each one's cost."""
    import json
    import urllib.request

    from local.stack import LocalStack
    from local.token import make_token
    from shared.core.pricing import nanos_to_micros

    samples: list[float] = []
    with LocalStack(moto_mode="process", sim_mode="process") as stack:
        assert stack.api_url
        user = f"lag-{time.monotonic_ns()}"
        token = make_token(user)
        body = json.dumps({"type": "caption", "platforms": ["instagram"], "data": {"theme": "lag"}}).encode()

        def call(method: str, path: str, data: bytes | None = None) -> dict:
            request = urllib.request.Request(stack.api_url + path, data=data, method=method)
            request.add_header("authorization", f"Bearer {token}")
            request.add_header("content-type", "application/json")
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        expected_nanos = 0  # the counters sum exact nanos: 40 calls of 18.6 micros show 744, not 40 x 19
        for _ in range(LAG_SAMPLES):
            expected_nanos += call("POST", "/api/v2/campaigns/hybrid", body)["metrics"]["cost"]["costNanos"]
            answered = time.perf_counter()
            while call("GET", "/api/v2/costs/stats")["data"]["todayTotalMicros"] < nanos_to_micros(expected_nanos):
                time.sleep(0.02)
            samples.append(time.perf_counter() - answered)
    return {"samples": samples, "p50_s": median(samples), "p99_s": percentile(samples, 99)}


def measure() -> dict[str, Any]:
    from local.aws import MotoServer

    server = MotoServer(mode="process").start()
    try:
        fan = write_units(server, fan_workload(1_000))
        scattered = write_units(server, scattered_workload(300))
    finally:
        server.stop()
    return {
        "fan": fan,
        "scattered": scattered,
        "busiest": busiest_item(),
        "faults": failure_replay(),
        "lag": stats_lag(),
    }


def rows(data: dict[str, Any]) -> list[Row]:
    """The ledger's rows of the one table."""
    fan, scattered, busiest, faults, lag = (data[k] for k in ("fan", "scattered", "busiest", "faults", "lag"))

    def units(d: dict[str, Any]) -> str:
        put = f"{d['put_units']} WCU in {d['calls']} PutItem"
        folded = f"{d['update_units']} WCU in {d['updates']} UpdateItem over {d['invocations']} batches"
        return f"{put} + {folded} (~{d['batch_size']:.0f}/batch); requests {d['requests']}"

    exact = faults["over"] == faults["under"] == 0
    return [
        Row(
            "ledger: write units per recorded call (fan messages)",
            f"{fan['units_per_call']:.2f}",
            "31-item transaction: 62",
            f"{62 / fan['units_per_call']:.0f}x",
            f"<= {WRITE_UNITS_TARGET:.0f}",
            verdict(fan["units_per_call"] <= WRITE_UNITS_TARGET),
            detail=units(fan),
        ),
        Row(
            "ledger: write units per call, every call another user",
            f"{scattered['units_per_call']:.2f}",
            "31-item transaction: 62",
            f"{62 / scattered['units_per_call']:.0f}x",
            detail="worst case: 2 of 4 counters (5 of 7 with a tenant) are that user's or campaign's own; "
            + units(scattered),
        ),
        Row(
            "ledger: writes/s to the busiest item at 1,000 calls/s",
            f"{busiest['writes_per_s']:.0f}",
            "one write per call: ~1,000",
            target=f"<= {BUSIEST_TARGET:.0f}",
            result=verdict(busiest["writes_per_s"] <= BUSIEST_TARGET),
            detail=f"{busiest['calls']:,} calls over {busiest['seconds']} s in batches of {BATCH_SIZE}, "
            f"busiest {busiest['busiest']}, {busiest['updates']:,} updates in all",
        ),
        Row(
            "ledger: stats lag, campaign answer -> /costs/stats, p50 / p99",
            f"{lag['p50_s']:.2f} s / {lag['p99_s']:.2f} s",
            target=f"<= {LAG_TARGETS_S[0]:.0f} s / <= {LAG_TARGETS_S[1]:.0f} s",
            result=verdict(lag["p50_s"] <= LAG_TARGETS_S[0] and lag["p99_s"] <= LAG_TARGETS_S[1]),
            detail=f"{len(lag['samples'])} sync caption campaigns, local stack, stream poller as the template says",
        ),
        Row(
            "ledger: 10,000 events with injected failures",
            "exact, 0 double counts" if exact else f"{faults['over']} over, {faults['under']} under",
            target="exact to the micro-dollar",
            result=verdict(exact),
            detail=f"{faults['counters']} counters; injected {faults['injected']}; mapping {faults['mapping']}",
        ),
    ]


def main() -> None:
    """``python -m bench.ledger_stream --out FILE``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    write_json(Path(parser.parse_args().out), measure())


if __name__ == "__main__":
    main()
