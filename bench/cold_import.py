"""Cold import: how long each deployed function's handler takes to import in a fresh Python 3.12, as Lambda's init does.

Each sample is a new ``python -c`` in the Lambda runtime virtualenv (``layers.runtime``: Python
3.12 with only the runtime's boto3) whose ``PYTHONPATH`` is the function's ``cdk.out`` asset and
its layers' ``python/`` folders — the artifact that deploys, byte code as shipped — and whose code
times, with ``time.perf_counter`` inside the child, only ``importlib.import_module`` of the
template's handler module (interpreter start-up is the same for every subject, so it is left
out). ``PYTHONDONTWRITEBYTECODE`` is set, as ``/var/task`` and ``/opt`` are read-only. The child
also reports whether ``openai`` was imported: only the functions that call a provider may pay
for it.

The reference is a bare ``import openai`` from the same deps layer, measured in the same rounds
(subjects alternate, their order rotating each round), so the targets are ratios to it and hold
on a slower machine as on a faster one. ``import litellm`` (dev virtualenv) is measured the same
way, for information. One extra row shows the campaign import with the shipped byte code
ignored (``-X pycache_prefix`` at an empty folder): what a source-only layer costs on Lambda's
read-only ``/opt`` unless SnapStart restores an initialised snapshot.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import OUT_DIR, median
from layers.artifact import FunctionArtifact, ensure_bundled_assembly, load_functions
from layers.runtime import ensure_runtime_venv

OPENAI, LITELLM = "openai", "litellm"
IMPORTTIME_TOP = 10

_CHILD = """\
import importlib, json, sys, time
t0 = time.perf_counter()
importlib.import_module({module!r})
elapsed = time.perf_counter() - t0
print(json.dumps({{"s": elapsed, "openai": "openai" in sys.modules, "modules": len(sys.modules)}}))
"""


def child_code(module: str) -> str:
    """The ``python -c`` program that imports ``module`` and reports its time."""
    return _CHILD.format(module=module)


def lambda_env(function: FunctionArtifact) -> dict[str, str]:
    """A clean environment as Lambda gives the function: its template variables (plain strings) and the runtime's."""
    variables = {k: v for k, v in function.environment.items() if isinstance(v, str)}
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": f"hybrid-orch-dev-{function.name}",
        # The X-Ray SDK checks this to use Lambda's local sampler instead of building a botocore client.
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only
        "PYTHONPATH": os.pathsep.join(function.python_path),
        **variables,
    }


@dataclass(frozen=True)
class Subject:
    """What one sample imports, with which interpreter and environment."""

    name: str
    module: str
    python: str
    env: dict[str, str]


def subjects() -> list[Subject]:
    """Every function of the bundled assembly, ``import openai`` from its deps layer, and ``import litellm``."""
    functions = load_functions(ensure_bundled_assembly())
    runtime = str(ensure_runtime_venv())
    found = [Subject(n, f.handler.rpartition(".")[0], runtime, lambda_env(f)) for n, f in sorted(functions.items())]
    campaign = functions["campaign"]
    # The same deps layer, nothing of ours: what importing the SDK alone costs on the runtime.
    openai_env = {**lambda_env(campaign), "PYTHONPATH": str(campaign.layer_dirs[0] / "python")}
    found.append(Subject(OPENAI, "openai", runtime, openai_env))
    if importlib.util.find_spec("litellm") is not None:  # installed by `make bench` (bench/requirements.txt)
        litellm_env = {**lambda_env(campaign), "PYTHONPATH": "", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        litellm_env.pop("PYTHONDONTWRITEBYTECODE")  # the dev virtualenv's own byte code may be written
        found.append(Subject(LITELLM, "litellm", sys.executable, litellm_env))
    return found


def import_once(subject: Subject, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """One fresh interpreter importing the subject; its JSON report (the last JSON line it printed)."""
    with tempfile.TemporaryDirectory() as cwd:  # nothing importable in the working directory
        result = subprocess.run(
            [subject.python, *extra_args, "-c", child_code(subject.module)],
            cwd=cwd,
            env=subject.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"importing {subject.name} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    report = json.loads(lines[-1])
    report["stderr"] = result.stderr
    return report


def write_importtime(subject: Subject, out_dir: Path = OUT_DIR) -> Path:
    """``python -X importtime`` once: the top imports by cumulative time, overall and top-level only."""
    stderr = import_once(subject, ("-X", "importtime"))["stderr"]
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, package = line.removeprefix("import time:").split("|", 2)
        depth = (len(package) - len(package.lstrip(" ")) - 1) // 2  # one space, then two per level
        entries.append((int(cumulative_us), int(self_us), depth, package.strip()))
    path = out_dir / f"importtime-{subject.name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# python -X importtime: {subject.module} from cdk.out, top {IMPORTTIME_TOP} by cumulative time (ms)"]
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


def measure(runs: int = 15, no_pyc_runs: int = 3) -> dict[str, Any]:
    """Median import time per subject over ``runs`` alternating rounds, plus the campaign import without byte code."""
    every = subjects()
    for subject in every:  # untimed: warms the file cache and writes the importtime side files
        if subject.name in ("campaign", "status", "health"):
            write_importtime(subject)
        else:
            import_once(subject)
    samples: dict[str, list[dict[str, Any]]] = {s.name: [] for s in every}
    for round_no in range(runs):
        shift = round_no % len(every)
        for subject in every[shift:] + every[:shift]:
            samples[subject.name].append(import_once(subject))
    result: dict[str, Any] = {"runs": runs, "functions": [s.name for s in every if s.name not in (OPENAI, LITELLM)]}
    for name, reports in samples.items():
        result[name] = {
            "median_ms": median([r["s"] * 1000 for r in reports]),
            "samples_ms": [r["s"] * 1000 for r in reports],
            "imports_openai": any(r["openai"] for r in reports),
            "modules": reports[-1]["modules"],
        }
    campaign = next(s for s in every if s.name == "campaign")
    with tempfile.TemporaryDirectory() as empty:
        cold = [import_once(campaign, ("-X", f"pycache_prefix={empty}"))["s"] * 1000 for _ in range(no_pyc_runs)]
    result["campaign_no_pyc"] = {"median_ms": median(cold), "samples_ms": cold}
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure and write the JSON to ``--out`` (runs in its own process like every part)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=15)  # 7 let one noisy run move a median ratio by ~0.1x
    args = parser.parse_args(argv)
    from bench.stats import write_json

    write_json(args.out, measure(args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
