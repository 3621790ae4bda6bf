"""The two Lambda layers every function uses: third-party dependencies and the ``shared`` package."""

from __future__ import annotations

from aws_cdk import AssetHashType, BundlingOptions, DockerImage, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from layers.build import deps_fingerprint
from layers.bundling import DepsLayerBundler, SharedLayerBundler
from stacks import constants as c
from stacks.config import StackConfig

# Local bundling always succeeds, so this image is never pulled; CDK requires one to be named.
_UNUSED_IMAGE = DockerImage.from_registry("unused")
_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc"]
RUNTIME = lambda_.Runtime.PYTHON_3_12  # the layers are built for it: see constants.PYTHON_VERSION
ARCHITECTURE = lambda_.Architecture.X86_64  # matches constants.LAYER_PLATFORM


class Layers(Construct):
    """Builds both layers locally at synth time (skipped when bundling is off, as in the tests)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.deps = self._build_deps_layer()
        self.shared = self._build_shared_layer()

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        """Both layers, in the order functions attach them."""
        return [self.deps, self.shared]

    def _build_deps_layer(self) -> lambda_.LayerVersion:
        # The asset's source folder is only a placeholder (the bundler reads requirements.txt), so
        # the hash is the requirements' fingerprint: the layer changes exactly when they do.
        code = lambda_.Code.from_asset(
            str(c.REPO_ROOT / "layers"),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=deps_fingerprint(),
            bundling=BundlingOptions(image=_UNUSED_IMAGE, local=DepsLayerBundler()),
        )
        return self._layer("DepsLayer", "deps", code, "Third-party dependencies from requirements.txt")

    def _build_shared_layer(self) -> lambda_.LayerVersion:
        code = lambda_.Code.from_asset(
            str(c.SHARED_PACKAGE_DIR),
            exclude=_ASSET_EXCLUDES,
            bundling=BundlingOptions(image=_UNUSED_IMAGE, local=SharedLayerBundler()),
        )
        return self._layer("SharedLayer", "shared", code, "The orchestrator's shared package")

    def _layer(self, construct_id: str, suffix: str, code: lambda_.Code, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            layer_version_name=self._config.name(suffix),
            code=code,
            description=description,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            removal_policy=RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY,
        )
