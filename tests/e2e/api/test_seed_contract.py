"""The product documents' examples hold against the local API, field by field and type by type.

The examples are read from the seed document itself (``docs/seeds/final-summary.fr.md``, a verbatim
copy of the product's), never copied here: each ```bash block with a ``curl`` and an ``# Expected:``
JSON answer becomes one case. Every field of the example must exist in the answer with the same JSON
type (extra fields are fine); an integer in the example must be an integer; ``"wf_xxx"`` means a
string starting ``wf_``, ``"..."`` any non-empty string, and any other string must match exactly.

The curl commands run as written with the real ``curl``, token aside: the host becomes the local
API, ``YOUR_TOKEN`` a real token, and a command that carries no token (the seeds' stats example,
which our API refuses with 401) gets the ``Authorization`` header added.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

SEED = Path(__file__).resolve().parents[3] / "docs" / "seeds" / "final-summary.fr.md"
SEED_HOST = "https://app.huntaze.com"
BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def seed_examples() -> list[tuple[str, list[str], Any]]:
    """(path, curl argv, expected JSON) for each block of the seed with a curl and an expected answer."""
    examples = []
    for block in BASH_BLOCK.findall(SEED.read_text(encoding="utf-8")):
        if "# Expected:" not in block:
            continue
        command, expected = block.split("# Expected:", 1)
        argv = shlex.split(command.replace("\\\n", " "))
        assert argv[0] == "curl", command
        url = next(arg for arg in argv if arg.startswith(SEED_HOST))
        examples.append((url.removeprefix(SEED_HOST), argv, json.loads(expected)))
    return examples


EXAMPLES = seed_examples()


def test_the_seed_has_the_three_examples_the_contract_is_about():
    assert [path for path, _, _ in EXAMPLES] == [
        "/api/health/hybrid-orchestrator",
        "/api/v2/campaigns/hybrid",
        "/api/v2/costs/stats",
    ]


def shape_mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every way ``actual`` falls short of the example ``expected`` (empty when it holds)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where.rstrip('.') or 'body'}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}{key}: missing")
            else:
                problems += shape_mismatches(value, actual[key], f"{where}{key}.")
        return problems
    field = where.rstrip(".")
    if isinstance(expected, bool):
        return [] if isinstance(actual, bool) else [f"{field}: expected a boolean, got {actual!r}"]
    if isinstance(expected, int):
        ok = isinstance(actual, int) and not isinstance(actual, bool)
        return [] if ok else [f"{field}: expected an integer, got {actual!r}"]
    if isinstance(expected, float):
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
        return [] if ok else [f"{field}: expected a number, got {actual!r}"]
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return [f"{field}: expected a string, got {actual!r}"]
        if expected == "...":
            return [] if actual else [f"{field}: expected a non-empty string"]
        if expected.endswith("_xxx"):
            prefix = expected.removesuffix("xxx")
            return [] if actual.startswith(prefix) else [f"{field}: expected {prefix}…, got {actual!r}"]
        return [] if actual == expected else [f"{field}: expected {expected!r}, got {actual!r}"]
    raise AssertionError(f"{field}: the seed uses a JSON type this test does not know: {expected!r}")


def test_the_shape_check_catches_what_it_must():
    example = {"a": {"b": 1, "c": 0.5, "d": "wf_xxx", "e": "...", "f": "healthy"}}
    assert shape_mismatches(example, {"a": {"b": 2, "c": 3, "d": "wf_9", "e": "x", "f": "healthy", "extra": 1}}) == []
    assert shape_mismatches(example, {"a": {"b": 1.5, "c": "0.5", "d": "x", "e": "", "f": "degraded"}}) == [
        "a.b: expected an integer, got 1.5",
        "a.c: expected a number, got '0.5'",
        "a.d: expected wf_…, got 'x'",
        "a.e: expected a non-empty string",
        "a.f: expected 'healthy', got 'degraded'",
    ]
    assert shape_mismatches(example, {"a": []}) == ["a: expected an object, got []"]
    assert shape_mismatches(example, {}) == ["a: missing"]


def run_as_written(argv: list[str], api_url: str, token: str) -> tuple[int, Any]:
    """The seed's curl with the local host and a real token; (HTTP status, parsed body)."""
    command = [arg.replace(SEED_HOST, api_url).replace("YOUR_TOKEN", token) for arg in argv]
    if not any(arg.lower().startswith("authorization:") for arg in command):
        command += ["-H", f"Authorization: Bearer {token}"]  # token aside: every /api/v2 route needs one
    done = subprocess.run(
        [*command, "--silent", "--show-error", "--max-time", "30", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, status = done.stdout.rsplit("\n", 1)
    return int(status), json.loads(body)


@pytest.fixture(scope="module")
def contract_user(api) -> str:
    """A user who has spent on both providers today: a planning campaign (Azure) and a caption (OpenAI)."""
    user, spent = f"seed-{uuid.uuid4().hex[:8]}", 0
    for campaign_type in ("content_planning", "caption"):
        body = {"type": campaign_type, "platforms": ["instagram"], "data": {"theme": "fitness"}}
        reply = requests.post(
            f"{api.url}/api/v2/campaigns/hybrid",
            json=body,
            headers={"Authorization": f"Bearer {api.token(user)}"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        spent += reply.json()["metrics"]["cost"]["costMicros"]
    api.wait_for_spend(api.token(user), spent)  # the counters trail the answers by the stream's fold
    return user


@pytest.mark.parametrize(("path", "argv", "expected"), EXAMPLES, ids=[path for path, _, _ in EXAMPLES])
def test_each_seed_curl_answers_in_the_seed_shape(api, contract_user, path, argv, expected):
    status, body = run_as_written(argv, api.url, api.token(contract_user))
    assert status == 200, body
    assert shape_mismatches(expected, body) == [], json.dumps(body, indent=2)


def test_the_stats_example_holds_with_real_spend_on_both_providers(api, contract_user):
    (argv,) = [argv for path, argv, _ in EXAMPLES if path == "/api/v2/costs/stats"]
    status, body = run_as_written(argv, api.url, api.token(contract_user))
    data = body["data"]
    assert status == 200 and set(data["providerBreakdown"]) == {"azure", "openai"}
    assert all(usd > 0 for usd in data["providerBreakdown"].values())
    assert abs(data["todayTotal"] - sum(data["providerBreakdown"].values())) < 1e-9


def test_an_idle_user_still_sees_every_configured_provider_at_zero(api):
    (argv,) = [argv for path, argv, _ in EXAMPLES if path == "/api/v2/costs/stats"]
    status, body = run_as_written(argv, api.url, api.token(f"idle-{uuid.uuid4().hex[:8]}"))
    assert status == 200 and body["data"]["providerBreakdown"] == {"azure": 0, "openai": 0}
    assert body["data"]["todayTotal"] == 0
