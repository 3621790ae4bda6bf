"""How the docs test reads a document: fences, whole commands, substitutions, and what counts as a failure."""

from __future__ import annotations

import jwt

from local.events import DEFAULT_JWT_SECRET
from tests.support.docs import Block, Command, CommandRun, bash_blocks, fences, run_block, split_commands, substitute
from tests.support.inline_commands import inline_commands, makefile_targets, makefile_variables, parse

DOCUMENT = """# Title

## Quick start

```console
make run
```

```bash
TOKEN=$(make -s token USER=u7 ADMIN=1)
curl -fsS localhost:3000/api/v2/costs/stats \\
  -H "Authorization: Bearer $TOKEN"
```

- a list item:

  ```bash
  cat > f.json <<'JSON'
  {"a": 1}
  JSON
  for n in 1 2; do
    echo "$n"
  done
  curl -sS localhost:3000/nope   # expect: 404
  ```
"""


def test_bash_blocks_are_found_in_lists_too_and_split_into_whole_commands(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(DOCUMENT)

    first, second = bash_blocks(path)

    assert [info for _, info in fences(path)] == ["console", "bash", "bash"]
    assert (first.section, first.line) == ("Quick start", 9)
    assert [c.line for c in first.commands] == [10, 11]
    assert first.commands[1].text.endswith('-H "Authorization: Bearer $TOKEN"')
    assert [c.text.splitlines()[0] for c in second.commands] == [
        "cat > f.json <<'JSON'",
        "for n in 1 2; do",
        "curl -sS localhost:3000/nope   # expect: 404",
    ]
    assert [c.expected_status for c in second.commands] == [None, None, "404"]


def test_the_documented_address_and_token_calls_are_substituted():
    text = substitute('curl localhost:3000/a -H "Bearer $(make -s token USER=u7 ADMIN=1)"', "http://127.0.0.1:4567")

    url, token = text.split()[1], text.split("Bearer ")[1].rstrip('"')
    claims = jwt.decode(token, DEFAULT_JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert url == "127.0.0.1:4567/a"
    assert (claims["sub"], claims["scope"]) == ("u7", "user admin")


def test_a_failing_command_an_error_answer_and_a_wrong_expected_status_all_fail():
    assert CommandRun(Command("false", 1), exit_status=1).problem()
    assert CommandRun(Command("curl -fsS x", 1), exit_status=0, http_statuses=["500"]).problem()
    assert CommandRun(Command("curl -sS x  # expect: 4xx", 1), exit_status=0, http_statuses=["200"]).problem()
    assert CommandRun(Command("curl -sS x  # expect: 4xx", 1), exit_status=0, http_statuses=["422"]).problem() is None
    assert CommandRun(Command("echo", 1)).problem() == "never ran (an earlier command ended the block)"


def test_run_block_reports_each_command_and_keeps_variables_between_them(tmp_path):
    commands = split_commands(["X=2", 'test "$X" = 2', "false", "echo after"], 1)
    block = Block(tmp_path / "doc.md", 1, "", "", tuple(commands))

    done = run_block(block, "http://127.0.0.1:9")

    assert [run.exit_status for run in done.commands] == [0, 0, 1, 0]
    assert len(done.problems()) == 1 and "line 3" in done.problems()[0]


def test_an_inline_command_is_a_command_word_with_arguments_after_any_assignments(tmp_path):
    path = tmp_path / "doc.md"

    fresh = parse(path, 3, "make run FRESH=1")
    shell = parse(path, 4, "OF_RATE_WINDOW_S=6 make run")
    token = parse(path, 5, "make token USER=u1 [ADMIN=1]")

    assert (fresh.make_targets, fresh.make_variables, fresh.environment) == (("run",), ("FRESH",), ())
    assert (shell.make_targets, shell.environment) == (("run",), ("OF_RATE_WINDOW_S",))
    assert token.make_variables == ("USER", "ADMIN")
    assert [parse(path, 1, text) for text in ("curl", "shared/api/", "cdk.json", "python3.12")] == [None] * 4


def test_inline_commands_skip_fenced_blocks_and_read_every_span_of_a_line(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("Run `make seed`, then `make run SEED=1`.\n\n```bash\nmake `not-this`\n```\n`git status` too\n")

    assert [(c.line, c.text) for c in inline_commands(doc)] == [
        (1, "make seed"),
        (1, "make run SEED=1"),
        (6, "git status"),
    ]


def test_the_makefile_targets_and_variables_a_command_may_name(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("PORT ?= 3000\nFRESH ?=\n.PHONY: run\nrun: install\n\techo $(PORT) $(FRESH) $(origin USER)\n")

    assert {"run", ".PHONY"} <= makefile_targets(makefile) and "install" not in makefile_targets(makefile)
    assert makefile_variables(makefile) == {"PORT", "FRESH", "USER"}
