"""Layer builds: the shared layer is a clean copy; the deps layer drops what the runtime already ships."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from layers.build import _prune, build_deps_layer, build_shared_layer, pip_install_command, size_mb
from layers.bundling import SharedLayerBundler
from layers.runtime import find_runtime_interpreter
from stacks import constants as c


def test_shared_layer_bundler_copies_the_package_under_python(tmp_path: Path) -> None:
    assert SharedLayerBundler().try_bundle(str(tmp_path), image=None) is True
    assert (tmp_path / "python" / "shared" / "__init__.py").is_file()
    assert (tmp_path / "python" / "shared" / "core" / "naming.py").is_file()
    # Byte code only from the runtime's Python (none without one), never a stale cache of the source tree.
    compiled = sorted(p.name for p in tmp_path.rglob("*.pyc"))
    assert bool(compiled) == (find_runtime_interpreter() is not None)
    assert all(name.endswith(f".cpython-{c.PYTHON_VERSION.replace('.', '')}.pyc") for name in compiled)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["python"]


def test_shared_layer_rebuild_replaces_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "python" / "shared" / "removed_module.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("")
    build_shared_layer(tmp_path)
    assert not stale.exists()
    assert (tmp_path / "python" / "shared" / "__init__.py").is_file()


def test_pip_command_targets_the_lambda_platform(tmp_path: Path) -> None:
    command = pip_install_command(Path("requirements.txt"), tmp_path)
    joined = " ".join(command)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    for fragment in (
        "--platform manylinux2014_x86_64",
        "--only-binary=:all:",
        "--python-version 3.12",
        "--implementation cp",
        "--abi cp312",
        f"--target {tmp_path}",
        "--no-compile",
    ):
        assert fragment in joined


def test_prune_drops_runtime_packages_scripts_caches_and_tests(tmp_path: Path) -> None:
    site = tmp_path / "python"
    for relative in (
        "boto3/__init__.py",
        "botocore-1.40.0.dist-info/METADATA",
        "s3transfer/__init__.py",
        "jmespath/__init__.py",
        "bin/openai",
        "pkg/__init__.py",
        "pkg/__pycache__/mod.cpython-311.pyc",
        "pkg/tests/test_pkg.py",
        "pkg/stray.pyc",
        "pkg-1.0.dist-info/METADATA",
    ):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text("x")
    _prune(site, drop_packages=c.RUNTIME_PROVIDED_PACKAGES)
    remaining = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert remaining == ["pkg-1.0.dist-info/METADATA", "pkg/__init__.py"]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("HO_RUN_SLOW"), reason="downloads wheels; set HO_RUN_SLOW=1")
def test_deps_layer_builds_for_lambda_without_runtime_packages(tmp_path: Path) -> None:
    out = build_deps_layer(tmp_path / "deps")
    site = out / "python"
    assert list(site.glob("pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so"))
    assert (site / "aws_lambda_powertools").is_dir()
    assert (site / "openai").is_dir()
    for name in c.RUNTIME_PROVIDED_PACKAGES:
        assert not (site / name).exists()
    tags = {path.name.split(".")[-2] for path in site.rglob("*.pyc")}
    assert tags == ({"cpython-312"} if find_runtime_interpreter() else set())
    assert size_mb(site) < 60


def test_bytecode_is_compiled_only_by_the_runtimes_own_python(tmp_path: Path) -> None:
    from layers.build import compile_bytecode

    (tmp_path / "mod.py").write_text("VALUE = 1\n")
    compiled = compile_bytecode(tmp_path)
    assert compiled == (find_runtime_interpreter() is not None)
    expected = [tmp_path / "__pycache__" / f"mod.cpython-{c.PYTHON_VERSION.replace('.', '')}.pyc"] if compiled else []
    assert list(tmp_path.rglob("*.pyc")) == expected
