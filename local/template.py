"""The synthesized CDK template as the local stack's source of truth.

Locally created resources and the handlers' environment both come from ``cdk.out``, so what runs
on a laptop cannot drift from what deploys. This module finds (or synthesizes) the templates,
merges them, and resolves the intrinsic functions the local stack needs against the physical
names, URLs and ARNs of the resources created in moto.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# Inputs of the synth: a template older than any of them is stale.
SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "shared/core/naming.py")
LOCAL_JWT_ISSUER = "hybrid-orchestrator-local"


class TemplateError(RuntimeError):
    """The template cannot be used locally (missing, unsynthesizable or self-contradictory)."""


def cdk_context(repo_root: Path = REPO_ROOT) -> dict[str, Any]:
    """The ``context`` block of cdk.json (empty when there is no cdk.json yet)."""
    path = repo_root / "cdk.json"
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text()).get("context", {}))


def _newest_input_mtime(repo_root: Path) -> float:
    newest = 0.0
    for name in SYNTH_INPUTS:
        path = repo_root / name
        files: Iterable[Path] = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def synthesize(repo_root: Path = REPO_ROOT, outdir: Path | None = None) -> None:
    """Run ``app.py`` the way the CDK CLI would, skipping asset bundling (no pip, no Docker).

    The CLI passes cdk.json's context in ``CDK_CONTEXT_JSON``; we do the same and add
    ``aws:cdk:bundling-stacks=[]`` so layers are not built just to start the local stack.
    """
    context = {**cdk_context(repo_root), "aws:cdk:bundling-stacks": []}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    if outdir is not None:
        env["CDK_OUTDIR"] = str(outdir)
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise TemplateError(f"`python app.py` failed ({result.returncode}):\n{result.stderr[-4000:]}")


def _stack_templates(outdir: Path) -> list[Path]:
    """The current stacks' templates: from the cloud assembly manifest (stale leftovers of renamed
    stacks are ignored), else every ``*.template.json``."""
    manifest = outdir / "manifest.json"
    if manifest.exists():
        artifacts = json.loads(manifest.read_text()).get("artifacts", {}).values()
        files = [
            outdir / a["properties"]["templateFile"]
            for a in artifacts
            if a.get("type") == "aws:cloudformation:stack" and "templateFile" in a.get("properties", {})
        ]
        if files and all(f.exists() for f in files):
            return sorted(files)
    return sorted(outdir.glob("*.template.json"))


def template_paths(repo_root: Path = REPO_ROOT, synth: bool = True) -> list[Path]:
    """Templates in cdk.out, synthesizing first when they are missing or older than their inputs."""
    outdir = repo_root / "cdk.out"
    found = _stack_templates(outdir)
    stale = not found or min(p.stat().st_mtime for p in found) < _newest_input_mtime(repo_root)
    if stale and synth:
        if not (repo_root / "app.py").exists():
            raise TemplateError(f"no CDK app at {repo_root / 'app.py'} and no template in {outdir}")
        synthesize(repo_root)
        found = _stack_templates(outdir)
    if not found:
        raise TemplateError(f"`python app.py` wrote no *.template.json in {outdir}")
    return found


@dataclass
class Template:
    """The resources and outputs of one or more templates, merged (logical ids must be unique)."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> Template:
        """Merge parsed templates by name; cross-stack ``Fn::ImportValue`` resolves through ``exports``."""
        merged = cls()
        for name, doc in documents.items():
            merged.sources.append(name)
            for logical_id, resource in doc.get("Resources", {}).items():
                if logical_id in merged.resources:
                    raise TemplateError(f"logical id {logical_id} appears in more than one template")
                merged.resources[logical_id] = dict(resource)
            for output in doc.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if isinstance(export, str):
                    merged.exports[export] = output.get("Value")
        return merged

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Template:
        """Parse template files (as written by ``cdk synth``)."""
        return cls.from_documents({str(p): json.loads(p.read_text()) for p in paths})

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        """Resources of the given CloudFormation types, by logical id, in template order."""
        return {lid: r for lid, r in self.resources.items() if r.get("Type") in types}

    def props(self, logical_id: str) -> dict[str, Any]:
        """A resource's ``Properties`` (empty when it has none)."""
        return dict(self.resources[logical_id].get("Properties", {}))


@dataclass
class PhysicalResource:
    """What Ref and Fn::GetAtt answer for one locally created resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Resolves the intrinsic functions found in Lambda environments and resource properties.

    Only what a local stack needs: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
    Fn::ImportValue and the pseudo parameters. A reference to something not created locally
    (a role, a log group) is an error naming it, never a silent empty string.
    """

    def __init__(self, template: Template, physical: Mapping[str, PhysicalResource], stack_name: str = "local") -> None:
        self.template = template
        self.physical = physical
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::NoValue": None,
        }

    def ref(self, name: str) -> str:
        """The value of ``{"Ref": name}``."""
        if name in self.pseudo:
            return str(self.pseudo[name])
        if name in self.physical:
            return self.physical[name].ref
        kind = self.template.resources.get(name, {}).get("Type", "unknown resource")
        raise TemplateError(f"Ref {name} ({kind}) is not created locally")

    def get_att(self, name: str, attribute: str) -> str:
        """The value of ``{"Fn::GetAtt": [name, attribute]}``."""
        resource = self.physical.get(name)
        if resource is None or attribute not in resource.attributes:
            raise TemplateError(f"Fn::GetAtt {name}.{attribute} is not available locally")
        return resource.attributes[attribute]

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value`` (dicts, lists, scalars)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._functions().get(key)
            if handler is not None:
                return handler(arg)
        return {key: self.resolve(item) for key, item in value.items()}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda arg: self.ref(arg),
            "Fn::GetAtt": lambda arg: self.get_att(*(arg.split(".", 1) if isinstance(arg, str) else arg)),
            "Fn::Join": lambda arg: str(arg[0]).join(str(self.resolve(part)) for part in self.resolve(arg[1])),
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            "Fn::Sub": self._sub,
            "Fn::ImportValue": lambda arg: self._import(self.resolve(arg)),
        }

    def _import(self, export_name: str) -> Any:
        if export_name not in self.template.exports:
            raise TemplateError(f"Fn::ImportValue {export_name} has no matching export")
        return self.resolve(self.template.exports[export_name])

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
        return "".join(out) + rest


def lambda_environment(template: Template, resolver: Resolver, skip: Collection[str] = ()) -> dict[str, str]:
    """Union of every Lambda function's resolved ``Environment.Variables``.

    The handlers share one process locally, so they share one environment; two functions that
    give the same variable different values cannot both be honoured, and that is a loud error.
    Keys in ``skip`` are replaced locally anyway (e.g. ``REDIS_URL`` naming an ElastiCache
    endpoint), so they are neither resolved nor compared.
    """
    env: dict[str, str] = {}
    owner: dict[str, str] = {}
    for logical_id in template.of_type("AWS::Lambda::Function"):
        variables = template.props(logical_id).get("Environment", {}).get("Variables", {})
        for key, raw in variables.items():
            if key in skip:
                continue
            value = str(resolver.resolve(raw))
            if key in env and env[key] != value:
                raise TemplateError(
                    f"Lambda environment conflict on {key}: {owner[key]}={env[key]!r} vs {logical_id}={value!r}"
                )
            env[key], owner[key] = value, logical_id
    return env


def jwt_settings(repo_root: Path = REPO_ROOT) -> tuple[str, list[str]]:
    """(issuer, audiences) the local authorizer accepts: cdk.json's, else a local default."""
    context = cdk_context(repo_root)
    issuer = str(context.get("jwtIssuer") or LOCAL_JWT_ISSUER)
    audience = context.get("jwtAudience") or LOCAL_JWT_ISSUER
    audiences = [a.strip() for a in audience.split(",")] if isinstance(audience, str) else [str(a) for a in audience]
    return issuer, audiences
