"""Cold import: how long each handler module takes to import in a fresh interpreter, as Lambda's init does.

Each sample is a new ``python -c`` whose code adds the repo root to ``sys.path`` and times, with
``time.perf_counter`` inside the child, only the import of ``functions/<name>/app.py`` (loaded
from its file under the name ``app``, as Lambda loads ``app.lambda_handler``) — interpreter
start-up is excluded because it is the same for every handler. The child also reports whether
``openai`` was imported: only the campaign handler calls a provider, so only it may pay for it.

The environment looks like the function's in Lambda: ``AWS_LAMBDA_FUNCTION_NAME`` and friends,
and the function's own variables read from the synthesized template, so Powertools takes its
in-Lambda code paths. ``import openai`` and ``import litellm`` are measured the same way, in the
same rounds (subjects alternate, their order rotating each round), as references. Byte code is
warm (``__pycache__`` filled by a first, untimed pass); one extra row shows the campaign import
with no ``.pyc`` at all, which is what a layer built with ``--no-compile`` gets on Lambda's
read-only ``/opt`` unless SnapStart restores an initialised snapshot.

Handlers and ``import openai`` run in ``.bench-runtime/``, a virtualenv holding what a function
has on Lambda (``requirements.txt``, the layer, plus the boto3 the runtime provides) and nothing
else: the dev virtualenv also holds LiteLLM's dependencies, and ``openai`` imports ``aiohttp``
whenever it is installed (~140 ms no deployed function pays). LiteLLM runs in the dev virtualenv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.stats import OUT_DIR, median

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PYTHON = REPO_ROOT / ".bench-runtime" / "bin" / "python"  # made by `make bench`
HANDLERS = ("campaign", "status", "health")
REFERENCES = ("openai", "litellm")
IMPORTTIME_TOP = 10

_CHILD = """\
import importlib.util, json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(json.dumps({{"s": elapsed, "openai": "openai" in sys.modules, "modules": len(sys.modules)}}))
"""
_IMPORT_HANDLER = """\
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)"""


def child_code(subject: str) -> str:
    """The ``python -c`` program that imports ``subject`` (a handler name or a package) and reports."""
    if subject in HANDLERS:
        body = _IMPORT_HANDLER.format(path=str(REPO_ROOT / "functions" / subject / "app.py"))
    else:
        body = f"import {subject}"
    return _CHILD.format(root=str(REPO_ROOT), body=body)


def function_environment() -> dict[str, dict[str, str]]:
    """Each handler's ``Environment.Variables`` from the synthesized template (plain strings only)."""
    from local.template import Template, template_paths

    template = Template.load(template_paths())
    envs: dict[str, dict[str, str]] = {}
    for logical_id in template.of_type("AWS::Lambda::Function"):
        variables = template.props(logical_id).get("Environment", {}).get("Variables", {})
        for name in HANDLERS:
            if f"{name.capitalize()}Function" in logical_id:
                envs[name] = {k: v for k, v in variables.items() if isinstance(v, str)}
    return envs


def lambda_env(subject: str, function_env: dict[str, str]) -> dict[str, str]:
    """A clean environment as the Lambda runtime gives a 256 MB Python 3.11 function."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": f"hybrid-orch-dev-{subject}",
        # The X-Ray SDK checks this to use Lambda's local sampler instead of building a botocore client.
        "LAMBDA_TASK_ROOT": str(REPO_ROOT / "functions" / subject),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "hybrid-orchestrator",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm would otherwise download its cost map at import
        **function_env,
    }


def interpreter(subject: str) -> str:
    """The runtime virtualenv's Python for the handlers and ``openai``; the dev one for LiteLLM."""
    if subject == "litellm":
        return sys.executable
    if not RUNTIME_PYTHON.exists():
        raise RuntimeError(f"{RUNTIME_PYTHON} is missing: `make bench` creates it from requirements.txt")
    return str(RUNTIME_PYTHON)


def import_once(subject: str, env: dict[str, str], extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """One fresh interpreter importing ``subject``; its JSON report (the last JSON line it printed)."""
    result = subprocess.run(
        [interpreter(subject), *extra_args, "-c", child_code(subject)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"importing {subject} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    report = json.loads(lines[-1])
    report["stderr"] = result.stderr
    return report


def write_importtime(name: str, env: dict[str, str], out_dir: Path = OUT_DIR) -> Path:
    """``python -X importtime`` once: the top imports by cumulative time, overall and top-level only."""
    stderr = import_once(name, env, ("-X", "importtime"))["stderr"]
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, package = line.removeprefix("import time:").split("|", 2)
        depth = (len(package) - len(package.lstrip(" ")) - 1) // 2  # one space, then two per level
        entries.append((int(cumulative_us), int(self_us), depth, package.strip()))
    path = out_dir / f"importtime-{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# python -X importtime: functions/{name}/app.py, top {IMPORTTIME_TOP} by cumulative time (ms)"]
    lines += [f"{c / 1000:9.1f}  {p}" for c, _, _, p in sorted(entries, reverse=True)[:IMPORTTIME_TOP]]
    lines += ["", f"# top-level imports only, top {IMPORTTIME_TOP} by cumulative time (ms)"]
    top_level = sorted((e for e in entries if e[2] == 0), reverse=True)[:IMPORTTIME_TOP]
    lines += [f"{c / 1000:9.1f}  {p}" for c, _, _, p in top_level]
    lines += ["", f"# top {IMPORTTIME_TOP} by self time (ms)"]
    lines += [
        f"{s / 1000:9.1f}  {p}" for _, s, _, p in sorted(entries, key=lambda e: e[1], reverse=True)[:IMPORTTIME_TOP]
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(runs: int = 7, no_pyc_runs: int = 3) -> dict[str, Any]:
    """Median import time per subject over ``runs`` alternating rounds, plus the no-``.pyc`` campaign import."""
    envs = function_environment()
    subjects = (*HANDLERS, *REFERENCES)
    env_of = {s: lambda_env(s, envs.get(s, envs.get("campaign", {}))) for s in subjects}
    for name in HANDLERS:  # untimed: fills __pycache__ and writes the importtime side files
        write_importtime(name, env_of[name])
    for name in REFERENCES:
        import_once(name, env_of[name])
    samples: dict[str, list[dict[str, Any]]] = {s: [] for s in subjects}
    for round_no in range(runs):
        shift = round_no % len(subjects)
        for subject in subjects[shift:] + subjects[:shift]:
            samples[subject].append(import_once(subject, env_of[subject]))
    result: dict[str, Any] = {"runs": runs}
    for subject, reports in samples.items():
        result[subject] = {
            "median_ms": median([r["s"] * 1000 for r in reports]),
            "samples_ms": [r["s"] * 1000 for r in reports],
            "imports_openai": any(r["openai"] for r in reports),
            "modules": reports[-1]["modules"],
        }
    with tempfile.TemporaryDirectory() as empty:
        env = {**env_of["campaign"], "PYTHONDONTWRITEBYTECODE": "1"}
        cold = [import_once("campaign", env, ("-X", f"pycache_prefix={empty}"))["s"] * 1000 for _ in range(no_pyc_runs)]
    result["campaign_no_pyc"] = {"median_ms": median(cold), "samples_ms": cold}
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure and write the JSON to ``--out`` (runs in its own process like every part)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    from bench.stats import write_json

    write_json(args.out, measure(args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
