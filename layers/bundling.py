"""CDK local bundlers for the two layers: CDK calls ``try_bundle`` instead of starting Docker.

Each bundler fills CDK's output directory with ``python/...`` from the builders in
:mod:`layers.build`; the deps layer is built once into ``.build/layers/deps`` and reused while
``requirements.txt`` is unchanged.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ILocalBundling

from layers.build import build_deps_layer, build_shared_layer
from stacks import constants as c


@jsii.implements(ILocalBundling)
class DepsLayerBundler:
    """Installs ``requirements.txt`` for the Lambda platform with pip (wheels only, no Docker)."""

    def __init__(self, requirements: Path = c.REQUIREMENTS_FILE, cache_dir: Path = c.BUILD_DIR / "deps") -> None:
        self._requirements = requirements
        self._cache_dir = cache_dir

    def try_bundle(self, output_dir: str, *, image: Any = None, **kwargs: Any) -> bool:
        """Build (or reuse) the deps layer and copy it into CDK's asset output directory."""
        built = build_deps_layer(self._cache_dir, self._requirements)
        shutil.copytree(built / "python", Path(output_dir) / "python", dirs_exist_ok=True)
        return True


@jsii.implements(ILocalBundling)
class SharedLayerBundler:
    """Copies the project's ``shared`` package to ``python/shared``."""

    def __init__(self, package_dir: Path = c.SHARED_PACKAGE_DIR) -> None:
        self._package_dir = package_dir

    def try_bundle(self, output_dir: str, *, image: Any = None, **kwargs: Any) -> bool:
        """Copy the package; a copy cannot fail halfway in a way Docker would fix, so always True."""
        build_shared_layer(Path(output_dir), self._package_dir)
        return True
