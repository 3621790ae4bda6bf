"""The artifact tier's fixtures: the synthesized assembly, the Lambda runtime venv, and two ways to invoke.

``artifact.invoke(name, event)`` runs one invocation of the *deployed* function — its
``cdk.out`` asset and layers, under Python 3.12 with only the runtime's boto3 — in a fresh
subprocess whose environment is the local stack's plus what Lambda sets, nothing from the dev
virtualenv. ``artifact.in_process(name, event)`` calls the same handler from the source tree in
this process, the way the local server does, so a test can compare the two answers.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from layers.artifact import FunctionArtifact, ensure_bundled_assembly, load_functions
from layers.runtime import ensure_runtime_venv, find_runtime_interpreter
from local.events import LambdaContext
from stacks import constants as c
from stacks.route_table import FUNCTIONS

INVOKER = Path(__file__).with_name("invoke.py")
MARKER = "ARTIFACT-RESULT "
INVOKE_TIMEOUT_S = 120


@dataclass
class Invocation:
    """What one subprocess invocation reported (see invoke.py), with its raw output for failure messages."""

    report: dict[str, Any]
    stdout: str
    stderr: str
    returncode: int

    @property
    def result(self) -> Any:
        """The handler's return value; fails the test with the traceback when it raised or did not import."""
        if "error" in self.report:
            pytest.fail(f"{self.report['phase']} failed inside the artifact:\n{self.report['error']}\n{self.tail()}")
        return self.report["result"]

    def tail(self) -> str:
        return f"--- stderr (tail) ---\n{self.stderr[-3000:]}"


@dataclass
class ArtifactRunner:
    """Invokes functions from the assembly in the runtime venv, or from the source tree in-process."""

    functions: dict[str, FunctionArtifact]
    runtime_python: Path
    stack: Any
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def environment(self, function: FunctionArtifact) -> dict[str, str]:
        """AWS_* and the local stack's variables, what Lambda adds, and PYTHONPATH = task root + layers."""
        spec = FUNCTIONS[function.name]
        env = {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
        env.update(self.stack.env)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": f"{self.stack.env.get('RESOURCE_PREFIX', 'ho')}-{function.name}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
                "LAMBDA_TASK_ROOT": str(function.code_dir),
                "_HANDLER": function.handler,
                "TZ": ":UTC",
                "LANG": "en_US.UTF-8",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH": os.pathsep.join(function.python_path),
            }
        )
        return env

    def invoke(self, name: str, event: Mapping[str, Any]) -> Invocation:
        """One cold invocation of the deployed function ``name`` in a fresh runtime process."""
        function = self.functions[name]
        spec = FUNCTIONS[name]
        request = {
            "handler": function.handler,
            "event": event,
            "function_name": name,
            "memory_mb": spec.memory_mb,
            "timeout_s": spec.timeout_s,
        }
        completed = subprocess.run(
            [str(self.runtime_python), "-P", str(INVOKER)],
            input=json.dumps(request),
            env=self.environment(function),
            cwd=function.code_dir,  # Lambda's working directory is the task root
            capture_output=True,
            text=True,
            timeout=INVOKE_TIMEOUT_S,
            check=False,
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith(MARKER)]
        if not lines:
            pytest.fail(
                f"{name}: the runtime process printed no result (exit {completed.returncode}):\n"
                f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
            )
        invocation = Invocation(
            json.loads(lines[-1][len(MARKER) :]), completed.stdout, completed.stderr, completed.returncode
        )
        self.invocations.append((name, invocation.report))
        return invocation

    def in_process(self, name: str, event: Mapping[str, Any]) -> Any:
        """The same handler from the source tree, in this (dev) process, as the local server calls it."""
        spec = FUNCTIONS[name]
        context = LambdaContext(function_name=name, memory_limit_in_mb=spec.memory_mb, timeout_s=spec.timeout_s)
        return self.stack.handlers.get(name)(json.loads(json.dumps(event)), context)


@pytest.fixture(scope="session")
def assembly() -> dict[str, FunctionArtifact]:
    """Every function of a current, bundled ``cdk.out`` (synthesized first when stale)."""
    return load_functions(ensure_bundled_assembly(c.DEFAULT_OUTDIR))


@pytest.fixture(scope="session")
def runtime_python() -> Path:
    """The Lambda runtime venv's interpreter (Python 3.12 + the runtime's boto3, nothing else)."""
    if find_runtime_interpreter() is None:
        pytest.skip(f"no python{c.PYTHON_VERSION} on PATH or in pyenv: the artifact tier needs the runtime's Python")
    return ensure_runtime_venv()


@pytest.fixture(scope="session")
def artifact(assembly: dict[str, FunctionArtifact], runtime_python: Path, local_stack: Any) -> ArtifactRunner:
    """Invoke deployed functions against the session's local stack (started after the synth)."""
    return ArtifactRunner(assembly, runtime_python, local_stack)
