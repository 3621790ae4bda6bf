"""Every command the README and docs/ show is run against a local stack, so none can rot.

Each ```bash block of README.md and docs/*.md is one test case (``tests/support/docs.py`` splits and runs
it): the documented ``localhost:3000`` is the session's API, ``$(make -s token …)`` a real token, and every
command must exit 0 with every HTTP answer below 400, unless it says ``# expect: <status>``. ``make token``
itself is run once for real, and its token must open the API.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.docs import KNOWN_FENCES, REPO_ROOT, bash_blocks, documents, fences, run_block

BLOCKS = [block for path in documents() for block in bash_blocks(path)]


@pytest.fixture(scope="module")
def documented_api(api):
    """The session API, with the flag document the commands may replace put back afterwards."""
    before = api.call("GET", "/_local/flags")
    assert before.status == 200, before.body
    yield api
    restored = api.call("PUT", "/_local/flags", before.body)
    assert restored.status == 200, restored.body


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_documented_block_runs(documented_api, sim, block):
    done = run_block(block, documented_api.url)

    assert not done.problems(), "\n".join([block.name, *done.problems(), "stderr:", done.stderr[-3000:]])


def test_every_shell_block_is_run_or_says_why_not():
    """A shell block under another fence (```sh, ```shell) would escape the test; console and text are never run."""
    unknown = [
        f"{path.relative_to(REPO_ROOT)}:{line} ```{info}"
        for path in documents()
        for line, info in fences(path)
        if info not in KNOWN_FENCES
    ]

    assert not unknown, f"use ```bash (run by this test), ```console or ```text (not run): {unknown}"


def test_the_documents_show_commands_to_run():
    """The quick start and the topics with examples keep runnable blocks (an extraction bug would find none)."""
    where = {block.path.name for block in BLOCKS}

    assert {"README.md", "flags.md", "local.md", "costs.md", "dashboard.md"} <= where
    assert sum(len(block.commands) for block in BLOCKS) >= 30


def test_flags_example_replaces_the_document_with_a_valid_one(documented_api):
    """The flags page's heredoc is a real flag document: PUT as written, the rollout's deny list takes effect."""
    (block,) = [b for b in BLOCKS if b.path.name == "flags.md" and any("-d @flags.json" in c.text for c in b.commands)]

    done = run_block(block, documented_api.url)

    assert not done.problems(), done.problems()
    flags = documented_api.call("GET", "/_local/flags").body
    deny = flags["hybrid_rollout"]["rules"]["deny listed users take the legacy path"]["conditions"][0]["value"]
    assert deny == ["u-legacy"]


def test_make_token_prints_a_token_the_api_accepts(api):
    # `-o .venv/.installed`: never (re)install into the virtualenv from a test, whatever the files' dates.
    made = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "token", "USER=docs-reader"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr

    reply = api.call("GET", "/api/v2/costs/stats", token=made.stdout.strip())

    assert reply.status == 200, reply.body
