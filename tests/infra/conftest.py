"""One in-process synth per test session: the stack built from a test context, layers not bundled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.app_builder import build_app
from tests.support.infra import TEST_CONTEXT, Synth


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
