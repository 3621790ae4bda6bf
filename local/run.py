"""``make run``: the whole product on 127.0.0.1, until Ctrl-C.

Moto and the provider simulator run as processes of their own here (not threads) so the API's
handlers keep this process's GIL to themselves, as a deployed Lambda would.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from local import seed
from local.console import Console
from local.stack import LocalStack
from local.template import REPO_ROOT
from local.token import make_token

# The Lambda output (Powertools JSON logs, EMF metrics, warnings) of a `make run`; the console keeps one line each.
LAMBDA_LOG = REPO_ROOT / ".local" / "lambda.log"
PROCESS_STARTED_AT = time.time()  # "ready in" counts from here when `make run` did not pass its own start
SAMPLE_CAMPAIGN = {"type": "content_planning", "platforms": ["instagram"], "data": {"theme": "fitness"}, "mode": "sync"}


def banner(stack: LocalStack, ready_s: float, log_path: Path | None = None) -> str:
    """What a person needs to start using the local stack, ready to copy."""
    assert stack.api_url is not None and stack.sim is not None
    token = make_token("u1")
    curl = (
        f"curl -s -X POST {stack.api_url}/api/v2/campaigns/hybrid "
        f"-H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        f"-d {shlex.quote(json.dumps(SAMPLE_CAMPAIGN))}"
    )
    providers = ", ".join(
        f"{p}: {'REAL (key from environment)' if p in stack.real_keys else 'simulated'}" for p in ("azure", "openai")
    )
    res = stack.resources
    counts = f"{len(res.tables)} tables, {len(res.queues)} queues, {len(res.topics)} topics, {len(res.secrets)} secrets"
    sources = ", ".join(os.path.relpath(path) for path in stack.template.sources)
    pollers = ", ".join(p.source.function for p in stack.pollers) or "none (no SQS event source mappings)"
    lines = [
        "",
        f"Hybrid Orchestrator — local stack ready in {ready_s:.1f} s (services {stack.startup_s:.1f} s)",
        f"  API            {stack.api_url}   (health: {stack.api_url}/api/health/hybrid-orchestrator)",
        f"  AWS (moto)     {stack.moto_url}   ({counts} from {sources})",
        f"  Redis          {stack.redis.url}   ({stack.redis.kind})",
        f"  Provider sim   {stack.sim.url}   ({providers})",
        f'  Faults         POST {stack.api_url}/_sim/faults  {{"provider": "azure", "status": 500, "count": 2}}',
        f"  Gateway sim    {stack.gateway.url if stack.gateway else '-'}   (sends: GET {stack.api_url}/_sim/sent; "
        f'faults: POST {stack.api_url}/_sim/gateway/faults {{"status": 500, "count": 3}})',
        f"  Alert e-mails  GET  {stack.api_url}/_local/emails",
        f"  Slack sim      webhooks {stack.api_url}/_sim/slack/services/<ids>   "
        f"(posts: GET {stack.api_url}/_sim/slack; "
        f'faults: POST {stack.api_url}/_sim/slack/faults {{"status": 429, "count": 1, "retryAfterS": 1}})',
        f"  Feature flags  GET|PUT {stack.api_url}/_local/flags   (seen within FLAGS_CACHE_S, no restart)",
        f"  API docs       {stack.api_url}/api/docs   ({stack.api_url}/api/openapi.json)",
        # The token rides in the fragment, which the browser never sends; the page moves it to sessionStorage.
        f"  Dashboard      {stack.api_url}/dashboard#token={make_token('local-admin', admin=True)}   (admin, 1 h)",
        f"  Queue drainers {pollers}",
        f"  Lambda logs    {os.path.relpath(log_path) if log_path else 'on this console (LOG_TO_CONSOLE=1)'}"
        "   (Powertools JSON logs, EMF metrics; below: one line per request and per drained batch)",
        "",
        f"  Token (u1, 1 h; `make token USER=u1 [ADMIN=1]` for more):\n    {token}",
        "",
        f"  Try:\n    {curl}",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Start the stack on ``PORT`` (default 3000) and wait for SIGINT/SIGTERM."""
    # `make run` passes the time it started (before installing the virtualenv), so "ready in" is what a person waited.
    started_at = float(os.environ.get("HO_STARTED_AT") or PROCESS_STARTED_AT)
    port = int(os.environ.get("PORT") or 3000)
    to_console = os.environ.get("LOG_TO_CONSOLE", "").lower() in ("1", "true", "yes")
    console = Console(sys.stdout, None if to_console else LAMBDA_LOG)
    latency = int(os.environ.get("SIM_LATENCY_MS") or 50)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stack = LocalStack(
        api_port=port,
        with_api=True,
        sim_latency_ms=latency,
        sim_mode="process",
        moto_mode="process",
        use_real_providers=True,
        console=console,
    )
    try:
        stack.start()
    except OSError as exc:
        sys.exit(f"cannot start the local stack on port {port}: {exc} (set PORT=... to use another port)")
    console.install()
    assert stack.api_url is not None
    seed.write_stack_file(stack.api_url, stack.env)  # what `make seed` in another terminal records into
    try:
        console.line(banner(stack, time.time() - started_at, console.log_path))
        if os.environ.get("SEED", "").lower() in ("1", "true", "yes"):
            threading.Thread(target=_seed, args=(console,), name="seed", daemon=True).start()
        while not stop.wait(0.5):
            pass
    finally:
        console.line("\nstopping…")
        seed.STACK_FILE.unlink(missing_ok=True)
        stack.stop()
        console.uninstall()


def _seed(console: Console) -> None:
    """``make run SEED=1``: record the seed history while the API already serves (it takes a minute or two)."""
    console.line(f"seeding {seed.DEFAULT_DAYS} days of spend history (make seed)…")
    started = time.monotonic()
    try:
        total, recorded = seed.seed_from_container()
    except Exception as exc:  # the stack keeps serving; the person can rerun `make seed`
        console.line(f"seeding failed: {exc!r}")
        return
    console.line(f"seeded: {recorded} new of {total} calls, in the counters after {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
