"""Two checkers that know nothing of CDK, on the synthesized template: checkov and cfn-lint.

cdk-nag runs inside the synth and judges constructs; these read the CloudFormation that deploys,
with rule sets of their own. Both templates are checked: the session synth (Redis reachable
without a VPC) and one with the created VPC and Valkey cache. Every accepted finding is in
``stacks/template-check-skips.yaml`` with its reason; anything else fails, and so does an entry
that matches nothing any more, so a fixed finding's skip cannot outlive the fix.

checkov lives in its own virtualenv (``make checkov``, pinned in requirements-checkov.txt); when
it is missing this test makes it, so ``pytest tests/infra`` works on a fresh clone too.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import constants as c
from stacks.app_builder import build_app
from tests.support.infra import TEST_CONTEXT, Synth

SKIPS_FILE = c.REPO_ROOT / "stacks" / "template-check-skips.yaml"
CHECKOV = c.REPO_ROOT / ".build" / "checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT_S = 240


@dataclass(frozen=True)
class Finding:
    """One failed check on one resource."""

    check: str
    resource: str  # logical id
    message: str


@dataclass(frozen=True)
class Skip:
    check: str
    reason: str
    resources: tuple[str, ...] = ()

    def matches(self, finding: Finding) -> bool:
        return finding.check == self.check and (
            not self.resources or any(part in finding.resource for part in self.resources)
        )


def load_skips(tool: str) -> list[Skip]:
    entries = yaml.safe_load(SKIPS_FILE.read_text())[tool]
    return [Skip(e["check"], e["reason"], tuple(e.get("resources", ()))) for e in entries]


def unaccepted(findings: list[Finding], skips: list[Skip]) -> tuple[list[Finding], set[Skip]]:
    """Findings no skip accepts, and the skips that accepted something (the first matching entry wins)."""
    used: set[Skip] = set()
    left = []
    for finding in findings:
        skip = next((s for s in skips if s.matches(finding)), None)
        if skip is None:
            left.append(finding)
        else:
            used.add(skip)
    return left, used


@pytest.fixture(scope="module")
def templates(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The session synth's template and one with the created VPC and Valkey cache."""
    outdir = tmp_path_factory.mktemp("cdk.out-created-network")
    _app, stack = build_app({**TEST_CONTEXT, "redisUrl": ""}, outdir=str(outdir))
    stack.node.root.synth()  # type: ignore[attr-defined]  # the App: writes the template files
    return {
        "imported redis": synth.outdir / f"{synth.stack.stack_name}.template.json",
        "created network": outdir / f"{stack.stack_name}.template.json",
    }


def checkov_findings(template: Path) -> list[Finding]:
    if not CHECKOV.exists():
        subprocess.run(["make", "-s", "checkov"], cwd=c.REPO_ROOT, check=True, timeout=900)
    # --skip-download: offline, no Prisma Cloud guidelines or policies.
    options = ["--framework", "cloudformation", "--output", "json", "--skip-download", "--compact", "--quiet"]
    completed = subprocess.run(
        [str(CHECKOV), "--file", str(template), *options],
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        check=False,
    )
    if completed.returncode not in (0, 1):  # 1: some check failed
        pytest.fail(f"checkov failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    report: Any = json.loads(completed.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    assert report["summary"]["passed"] > 0, "checkov checked nothing"
    return [
        Finding(f["check_id"], f["resource"].split(".", 1)[-1], f["check_name"])
        for f in report["results"]["failed_checks"]
    ]


def cfn_lint_findings(template: Path) -> list[Finding]:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template, ManualArgs(regions=["us-east-1"]))
    return [Finding(m.rule.id, "/".join(str(p) for p in m.path[:2]), m.message) for m in matches]


def test_every_skip_says_why() -> None:
    for tool in ("checkov", "cfn-lint"):
        for skip in load_skips(tool):
            assert len(skip.reason.split()) >= 5, f"{tool} {skip.check}: say why it is accepted"


@pytest.mark.parametrize(
    ("tool", "find"), [("checkov", checkov_findings), ("cfn-lint", cfn_lint_findings)], ids=["checkov", "cfn-lint"]
)
def test_template_has_no_unaccepted_finding(templates: dict[str, Path], tool: str, find: Any) -> None:
    skips = load_skips(tool)
    used: set[Skip] = set()
    problems = []
    for name, template in templates.items():
        left, accepted = unaccepted(find(template), skips)
        used |= accepted
        problems += [f"{name}: {f.check} on {f.resource}: {f.message}" for f in left]
    assert not problems, f"{tool} findings: fix them in stacks/ or accept them in {SKIPS_FILE.name}:\n" + "\n".join(
        problems
    )
    stale = [f"{s.check} {list(s.resources) or 'all'}" for s in skips if s not in used]
    assert not stale, f"{tool}: these entries of {SKIPS_FILE.name} match no finding any more, remove them: {stale}"
