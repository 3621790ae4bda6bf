"""Router overhead: what our ``ProviderRouter`` and LiteLLM's ``Router`` add to one chat call.

Three callers hit the same provider simulator, which runs in its own process with no added
latency so that its work does not share our GIL:

- ``direct``: the ``openai`` SDK alone (the floor every router pays);
- ``ours``: ``ProviderRouter`` over the real ``OpenAIChatProvider`` for ``caption`` (default
  routing table → OpenAI gpt-4o-mini), breaker state in ``InMemoryCircuitStore`` so storage
  round trips are excluded — the router's own code and the breaker's logic are what is measured;
- ``litellm``: ``litellm.Router`` with one deployment for the same model, retries off.

Method. After a warm-up of every caller, each round makes ``calls`` calls per caller in
sub-blocks of ``SUB_BLOCK`` back-to-back calls; the callers' sub-blocks alternate, their order
cycling through all six permutations, so all three see the same load from whatever else runs on
this 2-core machine, and each follows LiteLLM equally often (LiteLLM hands every call to
background logging threads, whose work would otherwise land on the next caller). A short pause
before each sub-block lets that work drain. Within a round we take each caller's median and
p99 (nearest rank); a router's added latency in that round is its statistic minus the direct
call's matched statistic (median - median, p99 - p99: the difference of quantiles, not the
quantile of per-call differences, which would count the direct call's own jitter twice). We
report the median over rounds of those per-round differences, so one noisy round moves the
result little. The ratio is LiteLLM's added latency over ours.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import median, percentile, write_json

MODEL = "gpt-4o-mini"
SIM_KEY = "sim-openai-key"
MAX_TOKENS = 800  # the settings default the campaign handler passes
TIMEOUT_S = 10.0  # the router's per-attempt default, passed to every caller alike
MESSAGES = [
    {"role": "system", "content": "You write short captions for a creator."},
    {"role": "user", "content": "Write a caption for my sunset paddleboard video"},
]
BLOCK_PAUSE_S = 0.02
SUB_BLOCK = 20


def _direct_caller(base_url: str) -> Callable[[], Any]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=SIM_KEY, max_retries=0)

    def call() -> Any:
        return client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, timeout=TIMEOUT_S)

    return call


def _our_caller(base_url: str, overheads: list[float]) -> Callable[[], Any]:
    from shared.core.pricing import PriceTable
    from shared.routing.candidates import DEFAULT_AZURE_DEPLOYMENTS, DEFAULT_ROUTING_TABLE
    from shared.routing.clients import build_azure_provider, build_openai_provider
    from shared.routing.deadline import Deadline
    from shared.routing.router import ProviderRouter, RetryPolicy, breaker_config
    from tests.support.fakes import InMemoryCircuitStore

    router = ProviderRouter(
        routing_table=DEFAULT_ROUTING_TABLE,
        providers={
            "openai": build_openai_provider(SIM_KEY, base_url),
            "azure": build_azure_provider("sim-azure-key", base_url.removesuffix("/v1"), "2024-10-21"),
        },
        prices=PriceTable.load(DEFAULT_AZURE_DEPLOYMENTS),
        breaker_store=InMemoryCircuitStore(),
        breaker_config=breaker_config(5, 30, 1, 1),
        policy=RetryPolicy(attempt_timeout_s=TIMEOUT_S),
    )

    def call() -> Any:
        routed = router.complete("caption", MESSAGES, Deadline(29.0), MAX_TOKENS)
        if routed.provider != "openai" or routed.fallback_used:
            raise RuntimeError(f"caption was not served by openai first: {routed.outcome}")
        overheads.append(routed.outcome.overhead_ms)
        return routed

    return call


def _litellm_caller(base_url: str) -> Callable[[], Any]:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no cost-map download at import
    import litellm

    litellm.telemetry = False
    litellm.callbacks = []
    litellm.success_callback = []
    litellm.failure_callback = []
    litellm.suppress_debug_info = True
    model = {"model": f"openai/{MODEL}", "api_base": base_url, "api_key": SIM_KEY}
    router = litellm.Router(model_list=[{"model_name": "caption", "litellm_params": model}], num_retries=0)

    def call() -> Any:
        return router.completion(model="caption", messages=MESSAGES, max_tokens=MAX_TOKENS, timeout=TIMEOUT_S)

    return call


def _block(call: Callable[[], Any], calls: int) -> list[float]:
    """Latencies (ms) of ``calls`` back-to-back calls."""
    latencies = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def measure(base_url: str, rounds: int, calls: int, warmup: int) -> dict[str, Any]:
    """Interleaved rounds of the three callers against ``base_url`` (the simulator's ``/v1``)."""
    overheads: list[float] = []
    callers = {
        "direct": _direct_caller(base_url),
        "ours": _our_caller(base_url, overheads),
        "litellm": _litellm_caller(base_url),
    }
    for call in callers.values():
        _block(call, warmup)
    overheads.clear()
    orders = itertools.cycle(itertools.permutations(callers))
    per_round: list[dict[str, dict[str, float]]] = []
    samples: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(rounds):
        latencies: dict[str, list[float]] = {name: [] for name in callers}
        for _ in range(max(1, calls // SUB_BLOCK)):
            for name in next(orders):
                time.sleep(BLOCK_PAUSE_S)
                latencies[name] += _block(callers[name], SUB_BLOCK)
        stats: dict[str, dict[str, float]] = {}
        for name, values in latencies.items():
            samples[name] += values
            stats[name] = {"median_ms": median(values), "p99_ms": percentile(values, 99)}
        per_round.append(stats)
    result: dict[str, Any] = {"rounds": rounds, "calls_per_round": calls, "sub_block": SUB_BLOCK, "warmup": warmup}
    for name in callers:
        entry = {
            "median_ms": median(samples[name]),
            "p99_ms": percentile(samples[name], 99),
            "round_medians_ms": [r[name]["median_ms"] for r in per_round],
            "round_p99s_ms": [r[name]["p99_ms"] for r in per_round],
        }
        if name != "direct":
            for stat in ("median_ms", "p99_ms"):
                added = [r[name][stat] - r["direct"][stat] for r in per_round]
                entry[f"added_{stat}"] = median(added)
                entry[f"added_{stat}_per_round"] = added
        result[name] = entry
    result["ours"]["self_reported_overhead_median_ms"] = median(overheads)
    result["ours"]["self_reported_overhead_p99_ms"] = percentile(overheads, 99)
    return result


def main(argv: list[str] | None = None) -> int:
    """Start the simulator in its own process, measure, write the JSON to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)
    from local.simulators import SimulatorProcess

    sim = SimulatorProcess(latency_ms=0).start()
    try:
        result = measure(f"{sim.url}/v1", args.rounds, args.calls, args.warmup)
    finally:
        sim.stop()
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
