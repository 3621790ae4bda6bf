"""The deployable artifact: each function's code and layers as ``cdk synth`` staged them in ``cdk.out``.

``cdk deploy`` zips exactly the folders named in the cloud assembly's asset manifest
(``<stack>.assets.json``, keyed by the hash the template's ``S3Key`` names), so that is what is
read here — never ``functions/`` or ``.build/`` directly. A function's artifact is its code folder
(``/var/task`` on Lambda), its layers' folders in attach order (extracted into ``/opt``, where
``python/`` is on ``sys.path``), its handler string and runtime, all from the template.

:func:`ensure_bundled_assembly` runs the real synth (``python app.py``, layers bundled, byte
code compiled) when ``cdk.out`` is missing, older than any input, or was written with bundling
skipped (the local stack's quick synth: its layer assets then point at source folders).
Nothing here imports CDK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import constants as c

# Everything that decides what the assembly holds: a newer file here makes cdk.out stale.
ARTIFACT_INPUTS = ("app.py", "cdk.json", "requirements.txt", "stacks", "layers", "shared", "functions")
LAMBDA_ZIP_LIMIT_MB = 250.0  # function code plus all its layers, unzipped
MB = 1024 * 1024


class ArtifactError(RuntimeError):
    """The assembly does not describe a deployable function (missing asset, unbundled layer, ...)."""


@dataclass(frozen=True)
class FunctionArtifact:
    """One function as it deploys."""

    name: str  # the route table's name (``FunctionName`` is ``<prefix>-<stage>-<name>``)
    logical_id: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def python_path(self) -> list[str]:
        """``sys.path`` entries Lambda gives the code: the task root, then each layer's ``python/``."""
        return [str(self.code_dir), *(str(layer / "python") for layer in self.layer_dirs)]

    def unzipped_mb(self) -> float:
        """Code plus layers, unzipped: what Lambda's 250 MB limit counts."""
        return sum(tree_bytes(path) for path in (self.code_dir, *self.layer_dirs)) / MB


def tree_bytes(root: Path) -> int:
    """Bytes of every file under ``root``, byte code included (it deploys)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def load_functions(outdir: Path = c.DEFAULT_OUTDIR) -> dict[str, FunctionArtifact]:
    """Every ``AWS::Lambda::Function`` of the assembly's stacks, by route-table name."""
    functions: dict[str, FunctionArtifact] = {}
    for template_file, assets_file in _stack_files(outdir):
        resources = json.loads(template_file.read_text()).get("Resources", {})
        asset_paths = {
            asset_hash: outdir / entry["source"]["path"]
            for asset_hash, entry in json.loads(assets_file.read_text()).get("files", {}).items()
        }
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            props = resource.get("Properties", {})
            name = _route_table_name(props.get("FunctionName"), logical_id)
            layers = []
            for layer in props.get("Layers", []):
                layer_id = layer.get("Ref") if isinstance(layer, dict) else None
                if layer_id not in resources:
                    raise ArtifactError(f"{logical_id}: layer {layer!r} is not a layer of this stack")
                layers.append(_asset_dir(asset_paths, resources[layer_id]["Properties"]["Content"], layer_id))
            functions[name] = FunctionArtifact(
                name=name,
                logical_id=logical_id,
                handler=props["Handler"],
                runtime=props["Runtime"],
                code_dir=_asset_dir(asset_paths, props["Code"], logical_id),
                layer_dirs=tuple(layers),
                environment=dict(props.get("Environment", {}).get("Variables", {})),
            )
    return functions


def ensure_bundled_assembly(outdir: Path = c.DEFAULT_OUTDIR, repo_root: Path = c.REPO_ROOT) -> Path:
    """``outdir`` holding a current, bundled synth; runs ``python app.py`` (as ``make synth``) when it does not."""
    reason = stale_reason(outdir, repo_root)
    if reason is None:
        return outdir
    print(f"artifact: synthesizing into {outdir} ({reason})", file=sys.stderr)
    env = {k: v for k, v in os.environ.items() if k != "CDK_CONTEXT_JSON"}
    env["CDK_OUTDIR"] = str(outdir)
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise ArtifactError(f"`python app.py` failed ({result.returncode}):\n{result.stderr[-4000:]}")
    still = stale_reason(outdir, repo_root)
    if still is not None:
        raise ArtifactError(f"synth wrote {outdir} but it is still not deployable: {still}")
    return outdir


def stale_reason(outdir: Path, repo_root: Path = c.REPO_ROOT) -> str | None:
    """Why ``outdir`` is not a current bundled assembly, or None when it is."""
    manifest = outdir / "manifest.json"
    if not manifest.is_file():
        return "no cloud assembly yet"
    newest = max((_newest_mtime(repo_root / name) for name in ARTIFACT_INPUTS), default=0.0)
    if manifest.stat().st_mtime < newest:
        return "inputs changed since the last synth"
    try:
        functions = load_functions(outdir)
    except (ArtifactError, KeyError, OSError, ValueError) as exc:
        return f"unreadable assembly: {exc}"
    if not functions:
        return "no Lambda function in the assembly"
    for function in functions.values():
        for layer in function.layer_dirs:
            if not (layer / "python").is_dir():
                return f"layer {layer.name} was not bundled (synth ran with bundling skipped)"
    return None


def _stack_files(outdir: Path) -> list[tuple[Path, Path]]:
    """(template, asset manifest) of every stack in the cloud assembly."""
    artifacts = json.loads((outdir / "manifest.json").read_text()).get("artifacts", {})
    pairs = []
    for artifact in artifacts.values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = outdir / artifact["properties"]["templateFile"]
        assets = [
            outdir / artifacts[dependency]["properties"]["file"]
            for dependency in artifact.get("dependencies", [])
            if artifacts.get(dependency, {}).get("type") == "cdk:asset-manifest"
        ]
        if not assets:
            raise ArtifactError(f"{template.name}: no asset manifest in {outdir}")
        pairs.append((template, assets[0]))
    return pairs


def _asset_dir(asset_paths: dict[str, Path], code: dict[str, Any], owner: str) -> Path:
    """The staged folder of a ``Code``/``Content`` property (``S3Key`` is ``<asset hash>.zip``)."""
    key = code.get("S3Key")
    if not isinstance(key, str) or key.removesuffix(".zip") not in asset_paths:
        raise ArtifactError(f"{owner}: code {code!r} is not an asset of this assembly")
    path = asset_paths[key.removesuffix(".zip")]
    if not path.is_dir():
        raise ArtifactError(f"{owner}: asset folder {path} is missing")
    return path


def _route_table_name(function_name: Any, logical_id: str) -> str:
    """``hybrid-orch-dev-workflow_runner`` → ``workflow_runner`` (prefix and stage never hold a name)."""
    from stacks.route_table import FUNCTIONS

    if isinstance(function_name, str):
        for name in sorted(FUNCTIONS, key=len, reverse=True):
            if function_name.endswith(f"-{name}"):
                return name
    raise ArtifactError(f"{logical_id}: function name {function_name!r} matches no route-table function")


def _newest_mtime(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    files = (p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return max((p.stat().st_mtime for p in files), default=0.0)
