"""Package size: what each function deploys — its code asset plus both layers, unzipped — from ``cdk.out``.

The assets are the bundled synth's (``layers.artifact``: the folders ``cdk deploy`` zips, byte
code included, since it deploys), so what is measured is what Lambda's 250 MB limit counts for
each function. As a reference, the size of the ``litellm`` distribution alone (without its own
dependencies), which is what adopting it instead of our router would add at the very least.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from layers.artifact import MB, ensure_bundled_assembly, load_functions, tree_bytes


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
    """Each function's code + layers, both layers and all code once, and the reference."""
    functions = load_functions(ensure_bundled_assembly())
    deps, shared = functions["campaign"].layer_dirs
    code_mb = {name: tree_bytes(f.code_dir) / MB for name, f in sorted(functions.items())}
    sizes = {
        "deps_layer_mb": tree_bytes(deps) / MB,
        "shared_layer_mb": tree_bytes(shared) / MB,
        "functions_mb": sum(code_mb.values()),
    }
    return {
        **sizes,
        "total_mb": sum(sizes.values()),
        "per_function_mb": {name: f.unzipped_mb() for name, f in sorted(functions.items())},
        "litellm_dist_mb": distribution_mb("litellm"),
    }
