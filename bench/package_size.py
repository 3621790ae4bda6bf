"""Package size: both Lambda layers and the functions' code, unzipped, as they would deploy.

The layers come from ``layers.build`` (the same functions the CDK bundlers call, so what is
measured is what deploys; the deps layer is reused when its requirements did not change). The
functions' code is ``functions/*`` without byte code, as the CDK asset excludes it. As a
reference, the size of the ``litellm`` distribution alone (without its own dependencies), which
is what adopting it instead of our router would add at the very least.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _tree_bytes(root: Path) -> int:
    """Bytes of every file under ``root``, byte code and caches excluded."""
    return sum(
        path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    )


def distribution_mb(name: str) -> float | None:
    """Installed size of one distribution's own files (no dependencies, no byte code), or None."""
    try:
        files = metadata.distribution(name).files or []
    except metadata.PackageNotFoundError:
        return None
    total = 0
    for file in files:
        path = Path(str(file.locate()))
        if "__pycache__" not in path.parts and path.is_file():
            total += path.stat().st_size
    return total / MB


def measure() -> dict[str, Any]:
    """Build the layers (cached when unchanged) and size layers, functions and the reference."""
    from layers.build import build_deps_layer, build_shared_layer

    deps = build_deps_layer() / "python"
    shared = build_shared_layer() / "python"
    sizes = {
        "deps_layer_mb": _tree_bytes(deps) / MB,
        "shared_layer_mb": _tree_bytes(shared) / MB,
        "functions_mb": _tree_bytes(REPO_ROOT / "functions") / MB,
    }
    return {**sizes, "total_mb": sum(sizes.values()), "litellm_dist_mb": distribution_mb("litellm")}
