"""One in-process synth per test session: the stack built from a test context, layers not bundled."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.app_builder import build_app
from stacks.orchestrator_stack import OrchestratorStack

TEST_CONTEXT: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],  # skip pip: no layer is built in the tests
    "stage": "test",
    "resourcePrefix": "ho-infra",
    "jwtIssuer": "https://issuer.example.test/",
    "jwtAudience": ["orchestrator-api", "orchestrator-admin"],
    "alertEmails": ["alerts@example.test", "finance@example.test"],
    "dailyCostThresholdUsd": 12.5,
    "monthlyCostThresholdUsd": 300,
    "azureOpenAiEndpoint": "https://test-resource.openai.azure.com/",
    "redisUrl": "redis://cache.example.test:6379/0",
}
PREFIX_STAGE = "ho-infra-test"


@dataclass(frozen=True)
class Synth:
    """The synthesized stack, its template (assertions API and plain dict) and the assembly folder."""

    stack: OrchestratorStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, Any]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds the deps layer with pip (set HO_RUN_SLOW=1 to run)")


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    _app, stack = build_app(TEST_CONTEXT, outdir=str(outdir))
    template = Template.from_stack(stack)
    as_json = template.to_json()
    return Synth(stack, template, as_json["Resources"], as_json.get("Outputs", {}), outdir)


@pytest.fixture(scope="session")
def validation_report(synth: Synth) -> dict[str, Any]:
    return json.loads((synth.outdir / "validation-report.json").read_text())
