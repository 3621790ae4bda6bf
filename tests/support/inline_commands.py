"""The commands the documents write inline, in prose (`` `make run FRESH=1` ``), rather than in a ```bash block.

A code span outside any fence is a command when it starts (after ``VAR=value`` assignments) with a
command word of :data:`COMMAND_WORDS` and has at least one argument: `` `curl` `` alone names the tool,
`` `make seed` `` is a command, `` `shared/api/` `` is a path. What each kind must satisfy is checked by
``tests/e2e/local/test_documented_commands.py``; this module only finds and parses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.docs import FENCE, REPO_ROOT

CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(?P<text>.+?)(?<!`)\1(?!`)")
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
COMMAND_WORDS = ("make", "curl", ".venv/bin/python", "python", "python3", "git", "cdk", "npm", "pip")
MAKE_RULE = re.compile(r"^(?P<targets>[A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", re.MULTILINE)
MAKE_VARIABLE_USE = re.compile(
    r"\$\((?:origin\s+)?(?P<name>[A-Z_][A-Z0-9_]*)\)|^(?P<defined>[A-Z_][A-Z0-9_]*)\s*[?:]?=", re.M
)


@dataclass(frozen=True)
class InlineCommand:
    """One command written inline: where, the environment it sets before the command word, the words after."""

    path: Path
    line: int
    text: str
    environment: tuple[str, ...]  # ``OF_RATE_WINDOW_S`` of ``OF_RATE_WINDOW_S=6 make run``
    program: str
    arguments: tuple[str, ...]  # optional parts written ``[ADMIN=1]`` are unwrapped

    @property
    def name(self) -> str:
        """``docs/local.md:10 `make run FRESH=1```, for messages."""
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line} `{self.text}`"

    @property
    def make_targets(self) -> tuple[str, ...]:
        """The targets a ``make`` command names (its words that are neither options nor assignments)."""
        return tuple(a for a in self.arguments if not a.startswith("-") and "=" not in a)

    @property
    def make_variables(self) -> tuple[str, ...]:
        """The ``VAR`` of each ``VAR=value`` after ``make``."""
        return tuple(a.split("=", 1)[0] for a in self.arguments if "=" in a and not a.startswith("-"))


def inline_commands(path: Path) -> list[InlineCommand]:
    """Every inline command of a document, outside its fenced blocks, in order."""
    found: list[InlineCommand] = []
    inside = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if FENCE.match(line):
            inside = not inside
            continue
        if inside:
            continue
        for span in CODE_SPAN.finditer(line):
            command = parse(path, number, span.group("text").strip())
            if command is not None:
                found.append(command)
    return found


def parse(path: Path, line: int, text: str) -> InlineCommand | None:
    """The command a code span holds, or None when it is a path, a name or a bare tool."""
    words = text.replace("[", " ").replace("]", " ").split()
    environment = []
    while words and ASSIGNMENT.match(words[0]):
        environment.append(words.pop(0).split("=", 1)[0])
    if len(words) < 2 or words[0] not in COMMAND_WORDS:
        return None
    return InlineCommand(path, line, text, tuple(environment), words[0], tuple(words[1:]))


def makefile_targets(makefile: Path = REPO_ROOT / "Makefile") -> set[str]:
    """Every target a rule of the Makefile defines (file targets included)."""
    return {target for rule in MAKE_RULE.finditer(makefile.read_text()) for target in rule.group("targets").split()}


def makefile_variables(makefile: Path = REPO_ROOT / "Makefile") -> set[str]:
    """Every variable the Makefile defines or reads: what ``make <target> VAR=value`` may set."""
    return {m.group("name") or m.group("defined") for m in MAKE_VARIABLE_USE.finditer(makefile.read_text())}
