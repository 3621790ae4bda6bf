"""Memory: the campaign handler's peak and steady-state RSS over 1,000 warm invocations.

Two processes, so that only the handler's memory is counted: this module's ``main`` starts the
local stack (moto server and provider simulator each in a process of their own, Redis, resources
from the synthesized template) and then runs ``--invoke`` in a fresh interpreter with the
stack's environment. That child holds nothing but what a Lambda container would: it imports
``functions/campaign/app.py`` from its file, then calls ``lambda_handler`` with a real API
Gateway HTTP API (payload 2.0) event for a ``caption`` campaign and a Lambda context, once per
invocation. After each invocation it reads the current RSS from ``/proc/self/statm``; the peak
is ``ru_maxrss``. Growth is the mean RSS of the last 100 invocations minus that of the first
100, against an absolute bound (2 MB): a leak of a few KB per request shows there, while the
first invocation's one-off allocations (clients, secrets, breaker state) sit inside both means.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stats import OUT_DIR, median, percentile, write_json

REPO_ROOT = Path(__file__).resolve().parent.parent
ROUTE = "/api/v2/campaigns/hybrid"
BODY = {"type": "caption", "platforms": ["instagram"], "data": {"theme": "sunset paddleboarding"}, "mode": "sync"}
CLAIMS = {"jwt": {"claims": {"sub": "bench"}, "scopes": None}}  # what local.events.authorizer_context gives
WINDOW = 100
MB = 1024 * 1024


def current_rss_bytes() -> int:
    """Resident set size now, from ``/proc/self/statm`` (second field, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Highest RSS this process has had (``ru_maxrss`` is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def invoke(invocations: int) -> dict[str, Any]:
    """Import the campaign handler and call it ``invocations`` times; RSS and status of each call."""
    from local.events import LambdaContext, build_http_event

    rss_before_import = current_rss_bytes()
    spec = importlib.util.spec_from_file_location("app", REPO_ROOT / "functions" / "campaign" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    rss_after_import = current_rss_bytes()
    body = json.dumps(BODY).encode()
    headers = [("host", "127.0.0.1"), ("content-type", "application/json"), ("user-agent", "bench")]
    rss: list[int] = []
    latencies_ms: list[float] = []
    statuses: dict[str, int] = {}
    first_error: str | None = None
    for _ in range(invocations):
        event = build_http_event(
            method="POST",
            raw_path=ROUTE,
            raw_query="",
            headers=headers,
            body=body,
            route_key=f"POST {ROUTE}",
            source_ip="127.0.0.1",
            authorizer=CLAIMS,
        )
        context = LambdaContext(function_name="hybrid-orch-dev-campaign", memory_limit_in_mb=256, timeout_s=30)
        t0 = time.perf_counter()
        response = module.lambda_handler(event, context)
        latencies_ms.append((time.perf_counter() - t0) * 1000)
        status = int(response.get("statusCode", 0))
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status != 200 and first_error is None:
            first_error = str(response.get("body"))[:1000]
        rss.append(current_rss_bytes())
    first, last = rss[:WINDOW], rss[-WINDOW:]
    return {
        "invocations": invocations,
        "statuses": statuses,
        "first_error": first_error,
        "rss_before_import_mb": rss_before_import / MB,
        "rss_after_import_mb": rss_after_import / MB,
        "peak_rss_mb": peak_rss_bytes() / MB,
        "first_window_mean_mb": sum(first) / len(first) / MB,
        "last_window_mean_mb": sum(last) / len(last) / MB,
        "growth_mb": (sum(last) / len(last) - sum(first) / len(first)) / MB,
        "latency_median_ms": median(latencies_ms),
        "latency_p99_ms": percentile(latencies_ms, 99),
        "rss_every_100_mb": [rss[i] / MB for i in range(0, invocations, 100)],
    }


def run_with_stack(out: Path, invocations: int) -> None:
    """Start the local stack, then the invoking child with the stack's environment."""
    from local.stack import LocalStack

    with LocalStack(with_api=False, drain_queues=False, sim_mode="process", moto_mode="process") as stack:
        env = {
            **os.environ,
            **stack.env,
            "AWS_LAMBDA_FUNCTION_NAME": "hybrid-orch-dev-campaign",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        }
        env.pop("PYTHONPATH", None)
        log = OUT_DIR / "memory-handler.log"
        with log.open("w") as handler_log:
            subprocess.run(
                [sys.executable, "-m", "bench.memory", "--invoke", "--out", str(out), "-n", str(invocations)],
                cwd=REPO_ROOT,
                env=env,
                stdout=handler_log,
                check=True,
            )


def main(argv: list[str] | None = None) -> int:
    """Without ``--invoke``: start the stack and run the child. With it: be the child."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("-n", "--invocations", type=int, default=1000)
    parser.add_argument("--invoke", action="store_true", help="be the handler process (needs the stack's env)")
    args = parser.parse_args(argv)
    if args.invoke:
        write_json(args.out, invoke(args.invocations))
    else:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        run_with_stack(args.out, args.invocations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
