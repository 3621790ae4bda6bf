"""``make bench``: every benchmark in one run, printed as one table and written to ``bench/out/results.json``.

Order matters on a noisy 2-core machine: the router comparison, the most sensitive to load, runs
first, each part in a process of its own (see the part's module for its method). Ratios are
``reference ÷ measured``, each pair measured together in the same run, so above 1 means ours is
that many times faster or smaller. Sizes are in MB of 2**20 bytes. Exit status 1 when any
target fails, so the run can gate a change.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench import cost_ledger, ledger_stream, limiter, package_size, request_cost
from bench.stats import OUT_DIR, Row, format_table, ratio, rows_payload, run_child, verdict, write_json
from stacks.route_table import FUNCTIONS

ROUTER_TARGETS_MS = {"median_ms": 0.5, "p99_ms": 2.0}
# Cold import as a multiple of a bare `import openai` measured in the same rounds: an absolute
# millisecond target passes on one machine and fails on a slower one, a ratio does not.
IMPORT_RATIO_LLM = 1.5  # the functions that call providers: openai plus our router
IMPORT_RATIO_OTHER = 0.65  # every other function: no openai at all
LAMBDA_UNZIPPED_LIMIT_MB = 250.0
PEAK_RSS_TARGET_MB = 200.0
GROWTH_TARGET_MB = 2.0
PACKAGE_TARGET_MB = 60.0


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if abs(value) < 100 else f"{value:.0f} ms"


def _added_ratio(litellm_ms: float, ours_ms: float) -> str:
    """LiteLLM-added over ours-added; meaningless when ours is within noise of zero."""
    return ratio(litellm_ms, ours_ms) if ours_ms >= 0.01 else "n/a (ours~0)"


def router_rows(data: dict[str, Any]) -> list[Row]:
    """Added latency of our router and LiteLLM's over the direct SDK call."""
    direct, ours, lite = data["direct"], data["ours"], data["litellm"]
    shape = f"{data['rounds']}x{data['calls_per_round']} calls"
    rows = [
        Row(
            "router: direct openai SDK call (floor)",
            f"med {_ms(direct['median_ms'])}, p99 {_ms(direct['p99_ms'])}",
            detail=f"simulator in its own process, latency 0; {shape} per caller",
        )
    ]
    for stat, label in (("median_ms", "median"), ("p99_ms", "p99")):
        added, lite_added = ours[f"added_{stat}"], lite[f"added_{stat}"]
        rows.append(
            Row(
                f"router: ours added, {label}",
                _ms(added),
                f"LiteLLM {_ms(lite_added)}",
                _added_ratio(lite_added, added),
                f"<= {ROUTER_TARGETS_MS[stat]} ms",
                verdict(added <= ROUTER_TARGETS_MS[stat]),
                detail="median over rounds of (router stat - direct stat) in the same round",
            )
        )
    rows.append(
        Row(
            "router: ours self-reported overhead",
            f"med {_ms(ours['self_reported_overhead_median_ms'])}, p99 {_ms(ours['self_reported_overhead_p99_ms'])}",
            detail="RoutingOutcome.overhead_ms: router time outside the provider call",
        )
    )
    return rows


def import_rows(data: dict[str, Any]) -> list[Row]:
    """Cold import of every deployed function, as a ratio to ``import openai`` measured in the same rounds."""
    openai_ms = data["openai"]["median_ms"]
    lite_ms = data["litellm"]["median_ms"] if "litellm" in data else None
    reference = f"import openai {_ms(openai_ms)}"
    rows = [
        Row(
            "cold import: import openai (the reference)",
            _ms(openai_ms),
            f"litellm {_ms(lite_ms)}" if lite_ms is not None else "-",
            ratio(lite_ms, openai_ms) if lite_ms is not None else "-",
            detail="the deps layer alone, on the runtime venv; litellm in the dev virtualenv",
        )
    ]
    for name in data["functions"]:
        entry = data[name]
        calls_providers = FUNCTIONS[name].calls_providers
        limit = IMPORT_RATIO_LLM if calls_providers else IMPORT_RATIO_OTHER
        times = entry["median_ms"] / openai_ms
        ok = times <= limit and (calls_providers or not entry["imports_openai"])
        loads = "imports" if entry["imports_openai"] else "no"
        rows.append(
            Row(
                f"cold import: {name} (from cdk.out)",
                f"{_ms(entry['median_ms'])} = {times:.2f}x openai ({loads} openai)",
                reference,
                target=f"<= {limit:.2f}x openai" + ("" if calls_providers else ", no openai"),
                result=verdict(ok),
                detail=f"median of {data['runs']} fresh Python 3.12 interpreters; {entry['modules']} modules loaded",
            )
        )
    rows.append(
        Row(
            "cold import: campaign, byte code ignored",
            _ms(data["campaign_no_pyc"]["median_ms"]),
            reference,
            detail="source compiled at import: a source-only layer on read-only /opt without SnapStart",
        )
    )
    return rows


def memory_rows(data: dict[str, Any]) -> list[Row]:
    """Peak and growth of the campaign handler's RSS, and whether every invocation succeeded."""
    n = data["invocations"]
    ok_calls = data["statuses"].get("200", 0)
    all_ok = ok_calls == n
    growth = data["growth_mb"]
    growth_pct = 100 * growth / data["first_window_mean_mb"]
    return [
        Row(
            f"memory: campaign peak RSS, {n} warm calls",
            f"{data['peak_rss_mb']:.1f} MB",
            f"after import {data['rss_after_import_mb']:.1f} MB",
            target=f"<= {PEAK_RSS_TARGET_MB:.0f} MB",
            result=verdict(data["peak_rss_mb"] <= PEAK_RSS_TARGET_MB and all_ok),
        ),
        Row(
            "memory: RSS growth, last 100 - first 100",
            f"{growth:+.2f} MB ({growth_pct:+.2f} %)",
            f"first 100 mean {data['first_window_mean_mb']:.1f} MB",
            target=f"<= {GROWTH_TARGET_MB:.0f} MB (absolute)",
            result=verdict(growth <= GROWTH_TARGET_MB and all_ok),
        ),
        Row(
            "memory: invocations answered 200",
            f"{ok_calls}/{n}",
            target=f"{n}/{n}",
            result=verdict(all_ok),
            detail=f"statuses {data['statuses']}; first error: {data['first_error']}",
        ),
        Row(
            "memory: campaign warm invocation latency",
            f"med {_ms(data['latency_median_ms'])}, p99 {_ms(data['latency_p99_ms'])}",
            detail="handler in-process; moto server and simulator in their own processes",
        ),
    ]


def package_rows(data: dict[str, Any]) -> list[Row]:
    """Each function's code + layers against Lambda's limit; layers plus all code once against ours and litellm."""
    lite = data["litellm_dist_mb"]
    rows = [
        Row(
            "package: layers + functions, unzipped",
            f"{data['total_mb']:.1f} MB",
            f"litellm alone {lite:.1f} MB" if lite is not None else "-",
            ratio(lite, data["total_mb"]) if lite is not None else "-",
            f"<= {PACKAGE_TARGET_MB:.0f} MB",
            verdict(data["total_mb"] <= PACKAGE_TARGET_MB),
            detail=(
                f"deps {data['deps_layer_mb']:.2f} MB, shared {data['shared_layer_mb']:.2f} MB, "
                f"functions {data['functions_mb']:.3f} MB (cdk.out, byte code included)"
            ),
        )
    ]
    for name, mb in data["per_function_mb"].items():
        rows.append(
            Row(
                f"package: {name}, code + layers",
                f"{mb:.1f} MB",
                f"Lambda limit {LAMBDA_UNZIPPED_LIMIT_MB:.0f} MB",
                ratio(LAMBDA_UNZIPPED_LIMIT_MB, mb),
                f"<= {LAMBDA_UNZIPPED_LIMIT_MB:.0f} MB",
                verdict(mb <= LAMBDA_UNZIPPED_LIMIT_MB),
            )
        )
    return rows


def _part(name: str, measure: Callable[[], dict[str, Any]], to_rows: Callable[[dict[str, Any]], list[Row]]) -> Any:
    """Run one part; a crash becomes one FAIL row instead of losing the whole table."""
    started = time.perf_counter()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    try:
        data = measure()
        rows = to_rows(data)
    except Exception as exc:
        traceback.print_exc()
        data, rows = {"error": repr(exc)}, [Row(f"{name}: did not run", type(exc).__name__, result="FAIL")]
    print(f"bench: {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return data, rows


def main() -> int:
    """Run every part, print the table, write ``results.json``; 1 when a target fails."""
    started = time.perf_counter()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    parts = [
        ("router overhead", lambda: run_child("bench.router_overhead", OUT_DIR / "router.json"), router_rows),
        ("cold import", lambda: run_child("bench.cold_import", OUT_DIR / "cold_import.json"), import_rows),
        ("memory", lambda: run_child("bench.memory", OUT_DIR / "memory.json"), memory_rows),
        ("package size", package_size.measure, package_rows),
        ("limiter", lambda: run_child("bench.limiter", OUT_DIR / "limiter.json"), limiter.rows),
        ("cost ledger", lambda: run_child("bench.cost_ledger", OUT_DIR / "cost_ledger.json"), cost_ledger.rows),
        ("ledger stream", lambda: run_child("bench.ledger_stream", OUT_DIR / "ledger_stream.json"), ledger_stream.rows),
        ("request cost", lambda: run_child("bench.request_cost", OUT_DIR / "request_cost.json"), request_cost.rows),
    ]
    raw: dict[str, Any] = {}
    rows: list[Row] = []
    for name, measure, to_rows in parts:
        raw[name], part_rows = _part(name, measure, to_rows)
        rows += part_rows
    elapsed = time.perf_counter() - started
    print()
    print(format_table(rows))
    print(f"\nratio = reference / measured; MB = 2**20 bytes; {os.cpu_count()} CPUs; whole run {elapsed:.0f} s")
    write_json(
        OUT_DIR / "results.json",
        {
            "rows": rows_payload(rows),
            "raw": raw,
            "elapsed_s": elapsed,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        },
    )
    return 1 if any(row.result == "FAIL" for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
