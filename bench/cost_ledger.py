"""Cost ledger: stats and breakdown latency with 1,000 vs 100,000 recorded calls, and DynamoDB requests.

Both tables live in one moto server (its own process) and are read in the same run, interleaved
round by round, through the same ``CostLedger`` code the routes use.

How the tables are filled, honestly: moto spends 100-200 ms on one recorded call (it re-parses
the 30 counter update expressions of the transaction every time), so 100,000 calls through moto's
``TransactWriteItems`` would take hours. Both tables are therefore built the same way: the calls
are recorded through the very same ``CostLedger`` into the in-memory store of ``tests/support/fakes.py``
(same keys, same counters, same idempotency), and every resulting item, raw events included, is
bulk-loaded with ``BatchWriteItem``. The 1,000 calls are the first 1,000 of the 100,000.

What recording costs is measured separately, for real: ``RECORDED`` calls go through
``CostTracker.record`` as deployed (ledger transaction, the settings' thresholds with one the
sample crosses once, the stored thresholds and their rules, the forecast's early warning) against
moto, every DynamoDB request counted by a botocore ``before-send.dynamodb.*`` hook: that gives
requests per recorded call.

moto itself is patched to behave like DynamoDB where it matters here (``local/moto_dynamodb.py``):
a base-table Query reads its partition, where moto sorted the whole table on every Query, which
would have measured moto's table size instead of the access pattern.

Calls share fixed pools of dimension values, as production traffic does: 2 providers, 4 models,
3 campaign types, 200 campaigns each owned by one of 50 users, over the 30 days of one month. The
counters a stats or provider/day breakdown reads are then the same in both tables and only the
number of calls differs, which is exactly what must not change the latency. ``groupBy=campaign``
is reported for information: it reads one counter per (day, campaign) that had spend, which grows
with the calls until every pair is used (days x distinct values, never the calls themselves).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stats import Row, median, percentile, verdict, write_json
from local.request_counter import RequestCounter

SMALL, LARGE = 1_000, 100_000
RECORDED = 200  # calls recorded through moto's transactions for the request count
ROUNDS, REPEATS = 15, 5
RATIO_TARGET = 1.5  # 100,000-call latency / 1,000-call latency
REQUESTS_PER_CALL_TARGET = 3
MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
TODAY = date(2026, 3, 20)
MODELS = (("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("azure", "gpt-4o"), ("azure", "gpt-4o-mini"))
TYPES = ("content_planning", "message_generation", "caption")
QUERIES: dict[str, tuple[str, date, date]] = {
    "breakdown by provider, 7 days": ("provider", date(2026, 3, 14), TODAY),
    "breakdown by day, 30 days": ("day", date(2026, 3, 1), date(2026, 3, 30)),
    "breakdown by campaign, 7 days": ("campaign", date(2026, 3, 14), TODAY),
}


def workload(count: int, seed: int = 3) -> Iterator[Any]:
    """Deterministic calls: the first ``n`` of any workload are the same ``n`` calls."""
    from shared.ledger.events import CostEvent

    rng = random.Random(seed)
    start = MONTH_START.timestamp()
    for n in range(count):
        provider, model = rng.choice(MODELS)
        campaign = rng.randrange(200)
        yield CostEvent(
            request_id=f"wf_{n:06d}#generate#0",
            provider=provider,
            model=model,
            deployment=model,
            campaign_type=rng.choice(TYPES),
            campaign_id=f"wf_campaign_{campaign:03d}",
            user_id=f"user-{campaign % 50:02d}",
            tenant=None,
            input_tokens=rng.randint(50, 2_000),
            output_tokens=rng.randint(20, 800),
            micros=rng.randint(1, 5_000),
            at=start + rng.randrange(30 * 86_400),
        )


def _create_table(ddb: Any, name: str) -> None:
    from stacks import constants as c

    keys = (c.COSTS_PARTITION_KEY, c.COSTS_SORT_KEY)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": keys[0], "KeyType": "HASH"}, {"AttributeName": keys[1], "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def record_sample(server: Any, table: str) -> dict[str, Any]:
    """``RECORDED`` calls through the deployed recording path, requests counted.

    The tracker is the container's own (``shared.wiring.container.cost_tracker``) pointed at this moto
    and table: the ledger transaction, the settings' thresholds, the stored thresholds with their
    alert rules, and the forecast's early warning. One stored global monthly threshold makes every
    call read its counter and marker too.
    """
    import os

    from local.aws import LOCAL_CREDENTIALS
    from shared.alerts.thresholds import GLOBAL_OWNER, SpendThreshold
    from shared.wiring import container

    topic = server.client("sns").create_topic(Name="bench-cost-alerts")["TopicArn"]
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
            "AWS_REGION": LOCAL_CREDENTIALS["region_name"],
            "COST_TABLE_NAME": table,
            "COST_ALERT_TOPIC_ARN": topic,
            # A monthly threshold the sample crosses once: the one alert's reads and writes are in the count.
            "DAILY_COST_THRESHOLD_USD": "50",
            "MONTHLY_COST_THRESHOLD_USD": "0.1",
        }
    )
    container.clear_caches()
    container.threshold_store().put(
        SpendThreshold("th_" + "0" * 32, "global", None, GLOBAL_OWNER, "monthly", 1_000 * 1_000_000, created_by="bench")
    )
    counter = RequestCounter(container.dynamodb_client())
    tracker = container.cost_tracker()
    latencies: list[float] = []

    def record(event: Any) -> bool:
        started = time.perf_counter()
        recorded = tracker.record(event)
        latencies.append((time.perf_counter() - started) * 1000)
        return recorded

    recorded = sum(record(event) for event in workload(RECORDED))
    requests = counter.take()
    return {
        "recorded": recorded,
        "requests": requests,
        "requests_per_call": sum(requests.values()) / RECORDED,
        "record_median_ms": median(latencies),
        "record_p99_ms": percentile(latencies, 99),
    }


def build_table(server: Any, table: str, calls: int) -> dict[str, Any]:
    """``calls`` calls through the ledger into the in-memory store, then every item into moto."""
    from boto3.dynamodb.types import TypeSerializer

    from shared.ledger.ledger import CostLedger
    from tests.support.fakes import InMemoryCostStore

    store = InMemoryCostStore()
    ledger = CostLedger(store)
    started = time.perf_counter()
    # The stats' month total runs from the 1st to TODAY: it must equal exactly the calls made by TODAY's end.
    to_date_end = (MONTH_START.replace(day=TODAY.day) + timedelta(days=1)).timestamp()
    recorded = [e for e in workload(calls) if ledger.record(e)]
    total_micros = sum(e.micros for e in recorded)
    month_to_date_micros = sum(e.micros for e in recorded if e.at < to_date_end)
    store.drain()  # the counters the stream's aggregator folds, through the same CostAggregator
    recorded_s = time.perf_counter() - started
    serializer = TypeSerializer()
    items = [{k: serializer.serialize(v) for k, v in item.items()} for item in store.items.values()]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> None:
        client = server.client("dynamodb")
        request = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, batches))
    return {
        "items": len(items),
        "total_micros": total_micros,
        "month_to_date_micros": month_to_date_micros,
        "ledger_s": recorded_s,
        "load_s": time.perf_counter() - started,
    }


def measure_reads(server: Any, tables: dict[str, str], totals: dict[str, int]) -> dict[str, Any]:
    """Interleaved rounds of stats and breakdowns on both tables; medians of per-round medians."""
    from shared.ledger.keys import EVERYONE
    from shared.ledger.ledger import CostLedger
    from shared.ledger.store import DynamoCostStore

    ledgers, counters = {}, {}
    for size, table in tables.items():
        client = server.client("dynamodb")
        counters[size] = RequestCounter(client)
        ledgers[size] = CostLedger(DynamoCostStore(table, client))
    queries: dict[str, Callable[[CostLedger], Any]] = {"stats": lambda ledger: ledger.stats(EVERYONE, TODAY)}
    for label, (group_by, first, last) in QUERIES.items():
        queries[label] = lambda ledger, g=group_by, f=first, t=last: ledger.breakdown(EVERYONE, g, f, t)
    exact = all(ledgers[size].stats(EVERYONE, TODAY).month_total.micros == totals[size] for size in tables)
    timings: dict[str, dict[str, list[float]]] = {q: {size: [] for size in tables} for q in queries}
    requests: dict[str, dict[str, int]] = {q: {} for q in queries}
    items: dict[str, dict[str, int]] = {q: {} for q in queries}
    for round_no in range(ROUNDS):
        sizes = list(tables) if round_no % 2 == 0 else list(reversed(tables))
        for label, query in queries.items():
            for size in sizes:
                samples = []
                for _ in range(REPEATS):
                    counters[size].take()
                    started = time.perf_counter()
                    query(ledgers[size])
                    samples.append((time.perf_counter() - started) * 1000)
                    items[label][size] = counters[size].items_read
                    requests[label][size] = sum(counters[size].take().values())
                timings[label][size].append(median(samples))
    return {
        "latency_ms": {q: {size: median(v) for size, v in by_size.items()} for q, by_size in timings.items()},
        "requests": requests,
        "items_read": items,
        "totals_exact": exact,
    }


def measure() -> dict[str, Any]:
    """Start moto in its own process, fill both tables, measure."""
    from local.aws import MotoServer

    server = MotoServer(mode="process").start()
    try:
        ddb = server.client("dynamodb")
        tables = {"small": "bench-costs-1k", "large": "bench-costs-100k", "recorded": "bench-costs-recorded"}
        for name in tables.values():
            _create_table(ddb, name)
        recorded = record_sample(server, tables.pop("recorded"))
        built = {
            "small": build_table(server, tables["small"], SMALL),
            "large": build_table(server, tables["large"], LARGE),
        }
        reads = measure_reads(server, tables, {size: b["month_to_date_micros"] for size, b in built.items()})
    finally:
        server.stop()
    return {"recorded": recorded, "built": built, **reads, "rounds": ROUNDS, "repeats": REPEATS}


def rows(data: dict[str, Any]) -> list[Row]:
    """Latency 100k vs 1k per query, requests per recorded call and per query, exactness."""
    out = []
    for label, by_size in data["latency_ms"].items():
        small, large = by_size["small"], by_size["large"]
        informational = label.endswith("by campaign, 7 days")
        items = data["items_read"][label]
        out.append(
            Row(
                f"costs: {label}, 100k vs 1k calls",
                f"{large:.2f} ms",
                f"1k calls {small:.2f} ms",
                f"{small / large:.2f}x",
                "-" if informational else f"100k <= {RATIO_TARGET}x 1k",
                "INFO" if informational else verdict(large <= RATIO_TARGET * small),
                detail=f"counter items read {items['small']} vs {items['large']}; median of {data['rounds']} "
                f"interleaved rounds x {data['repeats']} calls, moto in its own process",
            )
        )
    per_query = {label: (r["small"], r["large"]) for label, r in data["requests"].items()}
    recorded, built = data["recorded"], data["built"]
    out += [
        Row(
            "costs: DynamoDB requests per recorded call",
            f"{recorded['requests_per_call']:.3f}",
            ", ".join(f"{op} {n}" for op, n in sorted(recorded["requests"].items())),
            target=f"<= {REQUESTS_PER_CALL_TARGET}",
            result=verdict(
                recorded["requests_per_call"] <= REQUESTS_PER_CALL_TARGET and recorded["recorded"] == RECORDED
            ),
            detail=f"{RECORDED} calls via CostTracker (record + threshold check, one alert crossed); record med "
            f"{recorded['record_median_ms']:.0f} ms, p99 {recorded['record_p99_ms']:.0f} ms (moto's own speed)",
        ),
        Row(
            "costs: DynamoDB requests per stats / breakdown",
            " / ".join(f"{a} at 1k, {b} at 100k" for a, b in (per_query["stats"], per_query[next(iter(QUERIES))])),
            target="constant",
            result=verdict(all(a == b for a, b in per_query.values())),
            detail="; ".join(f"{label}: {a} vs {b}" for label, (a, b) in per_query.items()),
        ),
        Row(
            "costs: month totals exact at 1,000 and 100,000 calls",
            "equal" if data["totals_exact"] else "differs",
            target="equal to the micro-dollar",
            result=verdict(data["totals_exact"]),
            detail=f"items {built['small']['items']:,} and {built['large']['items']:,}, bulk-loaded in "
            f"{built['small']['load_s']:.0f} s and {built['large']['load_s']:.0f} s",
        ),
    ]
    return out


def main() -> None:
    """``python -m bench.cost_ledger --out FILE``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    write_json(Path(parser.parse_args().out), measure())


if __name__ == "__main__":
    main()
