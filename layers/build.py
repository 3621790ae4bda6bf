"""Build the two Lambda layers locally (no Docker) and report their unzipped sizes.

``python -m layers.build`` writes ``.build/layers/deps`` (third-party packages for the Lambda
platform, from ``requirements.txt``) and ``.build/layers/shared`` (the project's ``shared``
package). The CDK bundlers in :mod:`layers.bundling` call the same functions, so what this
command measures is what deploys. Nothing here imports CDK: it stays quick to run.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from layers.runtime import find_runtime_interpreter
from stacks import constants as c

_FINGERPRINT_FILE = ".fingerprint"
_JUNK_DIRS = frozenset({"__pycache__", "tests", "test"})
_JUNK_FILE_SUFFIXES = (".pyc", ".pyo")


def pip_install_command(requirements: Path, target: Path) -> list[str]:
    """The pip command that resolves ``requirements`` for the Lambda platform, wheels only."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "-r",
        str(requirements),
        "--platform",
        c.LAYER_PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        c.PYTHON_VERSION,
        "--implementation",
        c.LAYER_IMPLEMENTATION,
        # Stated rather than inferred: only cp312 (and abi3/none) wheels, whatever runs pip.
        "--abi",
        f"{c.LAYER_IMPLEMENTATION}{c.PYTHON_VERSION.replace('.', '')}",
        "--target",
        str(target),
    ]


def deps_fingerprint(requirements: Path = c.REQUIREMENTS_FILE) -> str:
    """Hash of everything that decides the deps layer's content: requirements, platform, byte code or not."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{c.LAYER_PLATFORM}|{c.PYTHON_VERSION}|{c.LAYER_IMPLEMENTATION}".encode())
    digest.update(",".join(c.RUNTIME_PROVIDED_PACKAGES).encode())
    # A layer built without a runtime interpreter (source only) must not be reused once one is here.
    digest.update(b"bytecode" if find_runtime_interpreter() else b"source-only")
    return digest.hexdigest()


def build_deps_layer(
    out_dir: Path = c.BUILD_DIR / "deps", requirements: Path = c.REQUIREMENTS_FILE, *, force: bool = False
) -> Path:
    """Install the requirements into ``out_dir/python``; reuse the previous build if nothing changed."""
    fingerprint = deps_fingerprint(requirements)
    stamp = out_dir / _FINGERPRINT_FILE
    if not force and stamp.is_file() and stamp.read_text() == fingerprint and (out_dir / "python").is_dir():
        return out_dir
    staging = out_dir.with_name(out_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "python").mkdir(parents=True)
    subprocess.run(pip_install_command(requirements, staging / "python"), check=True)
    _prune(staging / "python", drop_packages=c.RUNTIME_PROVIDED_PACKAGES)
    compile_bytecode(staging / "python")
    (staging / _FINGERPRINT_FILE).write_text(fingerprint)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def build_shared_layer(out_dir: Path = c.BUILD_DIR / "shared", package_dir: Path = c.SHARED_PACKAGE_DIR) -> Path:
    """Copy the ``shared`` package to ``out_dir/python/shared``, without caches."""
    target = out_dir / "python" / package_dir.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(package_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    compile_bytecode(out_dir / "python")
    return out_dir


def compile_bytecode(site_dir: Path) -> bool:
    """Ship byte code compiled by the runtime's own Python version, when this machine has that interpreter.

    ``/opt`` is read-only in Lambda, so a layer without ``.pyc`` files is compiled again in every
    cold start (about 2.5x slower imports). Byte code from another minor version would be ignored,
    so it is written only by a ``python3.12`` (``__pycache__/*.cpython-312.pyc``); without one the
    layer ships source only and this says so. ``unchecked-hash`` byte code is used whatever the
    sources' mtimes, which zipping the asset does not keep.
    """
    interpreter = find_runtime_interpreter()
    if interpreter is None:
        print(
            f"layers: WARNING no python{c.PYTHON_VERSION} on PATH or in pyenv, shipping source only "
            "(every cold start compiles it)",
            file=sys.stderr,
        )
        return False
    print(f"layers: byte code for {site_dir.parent.name} by {interpreter.path} (from {interpreter.found_in})")
    command = [interpreter.path, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*command, str(site_dir)], check=True)
    return True


def _prune(site_dir: Path, *, drop_packages: tuple[str, ...]) -> None:
    """Remove what the runtime already has, console scripts, byte code and bundled test suites."""
    for name in drop_packages:
        shutil.rmtree(site_dir / name, ignore_errors=True)
        for dist_info in site_dir.glob(f"{name}-*.dist-info"):
            shutil.rmtree(dist_info, ignore_errors=True)
    shutil.rmtree(site_dir / "bin", ignore_errors=True)
    for path in sorted(site_dir.rglob("*"), reverse=True):
        if path.is_dir() and path.name in _JUNK_DIRS and path.parent != site_dir:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in _JUNK_FILE_SUFFIXES:
            path.unlink()


def size_mb(path: Path) -> float:
    """Unzipped size of a directory tree in MB (what counts toward Lambda's 250 MB limit)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    """Build both layers into ``.build/layers`` and print their unzipped sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild the deps layer even if up to date")
    args = parser.parse_args(argv)
    deps = build_deps_layer(force=args.force)
    shared = build_shared_layer()
    sizes = {"deps": size_mb(deps / "python"), "shared": size_mb(shared / "python")}
    for name, mb in sizes.items():
        print(f"{name:<8}{mb:8.2f} MB  {c.BUILD_DIR / name}")
    print(f"{'total':<8}{sum(sizes.values()):8.2f} MB unzipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
