"""Fuzzing from the published OpenAPI document: no input may cause a 5xx or a reply off its schema.

Schemathesis (its CLI, the stable interface) generates valid and invalid requests for every
documented operation and sends them to the local API: real handlers, moto server, simulator.
Bounded so ``make test`` stays quick: ``FUZZ_EXAMPLES`` cases per operation (default 50), a
fixed seed so a failure reproduces, and a time budget.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "30")
TOOL_CRASH = "recursion depth mismatch"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_no_5xx_and_every_reply_matches_its_schema(api, tmp_path):
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{api.url}/api/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261125",
        "--workers",
        "2",
        "--max-time",
        "75",
        "--header",
        f"Authorization: Bearer {api.token('fuzzer')}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=170, check=False)
    if result.returncode != 0 and TOOL_CRASH in result.stdout + result.stderr:
        # CPython 3.11 can trip over its own recursion bookkeeping while hypothesis compiles a
        # strategy: a crash of the tool, not a finding about the API. Findings are never retried.
        result = subprocess.run(command, capture_output=True, text=True, timeout=170, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout[-3000:]
