"""Every command the README and docs/ show is run against a local stack, so none can rot.

Each ```bash block of README.md and docs/*.md is one test case (``tests/support/docs.py`` splits and runs
it): the documented ``localhost:3000`` is the session's API, ``$(make -s token …)`` a real token, and every
command must exit 0 with every HTTP answer below 400, unless it says ``# expect: <status>``. ``make token``
itself is run once for real, and its token must open the API.

Commands written inline in prose (`` `make run FRESH=1` ``, ``tests/support/inline_commands.py``) are checked
too: a ``make`` one must name targets and ``VAR=`` options the Makefile has (and a ``VAR=… make`` prefix must
be read by the local stack); ``make token …`` is run as written; the other targets are listed with the reason
they are not run; a ``python -m`` one must name a module of this repository that reads its ``--options``.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.docs import KNOWN_FENCES, REPO_ROOT, bash_blocks, documents, fences, run_block
from tests.support.inline_commands import inline_commands, makefile_targets, makefile_variables

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


# Inline commands (written in prose, `make run FRESH=1`): tests/support/inline_commands.py finds them.
INLINE = [command for path in documents() for command in inline_commands(path)]
# Make targets whose inline mentions are checked (target and options exist) but not run here, and why.
NOT_RUN_TARGETS = {
    "run": "a server until Ctrl-C; test_state_survives_restart.py starts `python -m local.run` as it does",
    "seed": "records into a running `make run`; test_newcomer_path.py runs seed_from_container, which it calls",
    "test": "the whole suite this test is part of",
    "test-unit": "a tier of this suite",
    "test-browser": "a tier of this suite (headless Chromium)",
    "bench": "minutes of benchmarks on a shared machine",
    "lint": "part of `make test`",
    "format": "rewrites the working tree",
    "synth": "rewrites cdk.out (the infra tier synthesizes its own)",
    "checkov": "builds a virtualenv of its own",
    "dashboard-assets": "downloads from npm (the file it makes is committed)",
}
# Other programs' inline commands that are not run, and why (anything else must be made runnable or listed).
NOT_RUN_COMMANDS = {"cdk deploy": "needs an AWS account"}


def test_the_documents_write_commands_inline():
    """An extraction bug would find none and every check below would pass on nothing."""
    assert {"make", ".venv/bin/python", "python", "cdk"} <= {command.program for command in INLINE}
    assert any(command.make_variables == ("FRESH",) for command in INLINE if command.path.name == "README.md")


def test_every_inline_make_command_names_a_target_and_options_that_exist():
    targets, variables = makefile_targets(), makefile_variables()
    wrong = []
    for command in (c for c in INLINE if c.program == "make"):
        missing = [t for t in command.make_targets if t not in targets]
        unknown = [v for v in command.make_variables if v not in variables]
        unread = [v for v in command.environment if not _read_from_the_environment(v)]
        if missing or unknown or unread or not command.make_targets:
            wrong.append(f"{command.name}: targets {missing}, options {unknown}, environment {unread}")

    assert not wrong, wrong


def test_every_inline_make_target_is_run_or_says_why_not(documented_api):
    """``make token …`` is run as written, and its token opens the API; every other target is listed with a reason."""
    unlisted = []
    for command in (c for c in INLINE if c.program == "make"):
        if command.make_targets == ("token",):
            _check_token_command(documented_api, command)
        elif any(target not in NOT_RUN_TARGETS for target in command.make_targets):
            unlisted.append(command.name)

    assert not unlisted, f"run them here, or add the target to NOT_RUN_TARGETS with a reason: {unlisted}"
    assert set(NOT_RUN_TARGETS) <= makefile_targets(), "a listed target left the Makefile: drop it from the list"


def test_every_other_inline_command_is_a_real_module_file_or_block_command():
    """``python -m X --opt``: X is a module here (or pytest's file) reading ``--opt``; ``curl``: a block's command."""
    block_commands = [" ".join(command.text.split()) for block in BLOCKS for command in block.commands]
    wrong = []
    for command in (c for c in INLINE if c.program != "make"):
        if command.program in ("python", "python3", ".venv/bin/python") and command.arguments[0] == "-m":
            problem = _python_module_problem(command.arguments[1:])
        elif command.program == "curl":
            written = command.text.rstrip("…").rstrip()
            problem = None if any(c.startswith(written) for c in block_commands) else "not a ```bash block's command"
        else:
            problem = None if command.text in NOT_RUN_COMMANDS else "neither run nor in NOT_RUN_COMMANDS"
        if problem:
            wrong.append(f"{command.name}: {problem}")

    assert not wrong, wrong


def _check_token_command(api, command) -> None:
    made = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", *command.arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, (command.name, made.stderr)
    token = made.stdout.strip()
    assert api.call("GET", "/api/v2/costs/stats", token=token).status == 200, command.name
    if "ADMIN=1" in command.arguments:  # an admin-only route opens to it
        assert api.call("GET", "/api/v2/costs/optimization", token=token).status == 200, command.name


def _read_from_the_environment(variable: str) -> bool:
    """``VAR=… make run`` does something only if the local stack or the settings read VAR."""
    local = any(f'"{variable}"' in path.read_text() for path in (REPO_ROOT / "local").glob("*.py"))
    setting = f"    {variable.lower()}:" in (REPO_ROOT / "shared" / "config" / "settings.py").read_text()
    return local or setting


def _python_module_problem(arguments: tuple[str, ...]) -> str | None:
    module, options = arguments[0], [a for a in arguments[1:] if a.startswith("--")]
    if module == "pytest":
        missing = [a for a in arguments[1:] if not a.startswith("-") and not (REPO_ROOT / a.split("::")[0]).exists()]
        return f"no such test path {missing}" if missing else None
    base = REPO_ROOT / module.replace(".", "/")
    source = next((p for p in (base.with_suffix(".py"), base / "__main__.py") if p.exists()), None)
    if source is None:
        return f"no module {module} in this repository"
    unknown = [o for o in options if f'"{o}"' not in source.read_text()]
    return f"{module} reads no {unknown}" if unknown else None
