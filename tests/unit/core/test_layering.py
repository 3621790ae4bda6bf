"""The layering contract in ``pyproject.toml`` holds, and it really fails when a lower layer imports a higher one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    for name in ("shared", "functions"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_both_contracts():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_build(tmp_path):
    root = copy_of_the_code(tmp_path)
    with (root / "shared" / "core" / "time.py").open("a") as module:
        module.write("\nfrom shared.wiring import container  # noqa: E402,F401\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "shared.core is not allowed to import shared.wiring" in result.stdout


def test_a_handler_importing_a_feature_directly_breaks_the_build(tmp_path):
    root = copy_of_the_code(tmp_path)
    with (root / "functions" / "status" / "app.py").open("a") as handler:
        handler.write("\nfrom shared.ledger import ledger  # noqa: E402,F401\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "functions is not allowed to import shared.ledger" in result.stdout
