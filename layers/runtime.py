"""The Lambda runtime on this machine: its Python interpreter, and a virtualenv holding only what it ships.

Functions run on ``python3.12`` (``stacks.constants.PYTHON_VERSION``), whose image provides
Python and the AWS SDK (``RUNTIME_PROVIDED_PACKAGES`` at ``LAMBDA_RUNTIME_BOTO3_VERSION``) and
nothing else. Two things here need that exact runtime: the layer build compiles byte code with
it (byte code of another minor version is ignored at import), and the artifact tier and the bench
import the deployed assets under it.

The interpreter is looked up on ``PATH`` (``python3.12``), then in pyenv's versions folder (a pyenv
shim on ``PATH`` exists even when no 3.12 stands behind it, so every candidate is run once to check
its version). The virtualenv is created without pip (the runtime has none) and filled by the dev
environment's pip through ``pip --python``; it lives in ``.build/`` under a name made of the
pinned versions, so changing a pin makes a new one and reruns reuse it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stacks import constants as c

RUNTIME_VENV_ROOT = c.REPO_ROOT / ".build"
_READY_STAMP = ".ready"


@dataclass(frozen=True)
class RuntimeInterpreter:
    """A working interpreter of the runtime's Python version, and where it was found."""

    path: str
    found_in: str  # "PATH" or "pyenv"


@functools.cache
def find_runtime_interpreter(version: str = c.PYTHON_VERSION) -> RuntimeInterpreter | None:
    """``python<version>`` from ``PATH``, else the newest pyenv ``<version>.*`` install; None when neither runs."""
    on_path = shutil.which(f"python{version}")
    if on_path and _reports_version(on_path, version):
        return RuntimeInterpreter(on_path, "PATH")
    root = _pyenv_root()
    if root is None:
        return None
    installs = sorted(root.glob(f"versions/{version}.*/bin/python{version}"), key=_patch_level, reverse=True)
    for candidate in installs:
        if _reports_version(str(candidate), version):
            return RuntimeInterpreter(str(candidate), "pyenv")
    return None


def runtime_venv_dir(boto3_version: str = c.LAMBDA_RUNTIME_BOTO3_VERSION) -> Path:
    """Where the runtime virtualenv for these pins lives (one folder per pin set)."""
    return RUNTIME_VENV_ROOT / f"lambda-runtime-py{c.PYTHON_VERSION}-boto3-{boto3_version}"


def ensure_runtime_venv(boto3_version: str = c.LAMBDA_RUNTIME_BOTO3_VERSION) -> Path:
    """The runtime virtualenv's ``python``, creating it on first use; RuntimeError without a runtime interpreter."""
    venv = runtime_venv_dir(boto3_version)
    python = venv / "bin" / "python"
    if (venv / _READY_STAMP).is_file() and python.exists():
        return python
    interpreter = find_runtime_interpreter()
    if interpreter is None:
        raise RuntimeError(f"no python{c.PYTHON_VERSION} on PATH or in pyenv: cannot build the Lambda runtime venv")
    staging = venv.with_name(venv.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run([interpreter.path, "-m", "venv", "--without-pip", str(staging)], check=True)
    # boto3 and botocore share a version number; their own dependencies (jmespath, s3transfer,
    # dateutil, urllib3) resolve as the runtime's do.
    pins = [f"boto3=={boto3_version}", f"botocore=={boto3_version}"]
    pip = [sys.executable, "-m", "pip", "--python", str(staging / "bin" / "python")]
    subprocess.run([*pip, "install", "--quiet", "--disable-pip-version-check", *pins], check=True)
    # A venv finds its prefix from pyvenv.cfg beside bin/, so it can move (only activate scripts and
    # jmespath's console script name the old path, and nothing here runs them).
    shutil.rmtree(venv, ignore_errors=True)
    staging.rename(venv)
    (venv / _READY_STAMP).write_text(f"python {c.PYTHON_VERSION} from {interpreter.found_in}; {' '.join(pins)}\n")
    return python


def _reports_version(interpreter: str, version: str) -> bool:
    probe = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == version


def _pyenv_root() -> Path | None:
    """``pyenv root`` when pyenv is installed, else pyenv's default folder if it exists."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        answer = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if answer.returncode == 0 and answer.stdout.strip():
            return Path(answer.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _patch_level(interpreter: Path) -> tuple[int, ...]:
    """``versions/3.12.10/bin/python3.12`` → (3, 12, 10), so 3.12.10 sorts above 3.12.9."""
    name = interpreter.parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))
