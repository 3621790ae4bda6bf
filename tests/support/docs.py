"""The documented commands: every ```bash block of README.md and docs/*.md, split into commands and run.

A block is run as one bash script (so a ``TOKEN=…`` line serves the lines after it), in a scratch folder
that mirrors the repository's top level through symlinks (``make``, ``.venv/bin/python -m …`` and
``@shared/data/…`` work as in a checkout, and whatever a command writes, ``flags.json`` say, lands in the
scratch folder). Before it runs, ``localhost:3000`` becomes the test's API and ``$(make -s token USER=…
[ADMIN=1] [TENANT=…] [SCOPES=…])`` a real token of that user. ``curl`` is wrapped so each call also
reports its HTTP status on stderr, and every command reports its exit status: a command passes when it
exits 0 and every HTTP status it got is below 400 — or, when it carries ``# expect: <status>`` (``422``,
``4xx``), when every status matches that (its curl then runs without ``-f``).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from local.token import make_token

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_PORT = "3000"
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`\s]*)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
TOKEN_CALL = re.compile(r"\$\(make -s token(?P<args>[^)]*)\)")
EXPECT = re.compile(r"#\s*expect:\s*(?P<status>[1-5](?:\d\d|xx))\b")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>\w+)\1")
# What an opening fence may say: shell commands (run), a console session or text (never run), or nothing (diagrams).
KNOWN_FENCES = {"bash", "console", "text", ""}


@dataclass(frozen=True)
class Command:
    """One shell command of a block (continuation lines, loops and heredocs included) and its expectation."""

    text: str
    line: int  # in the document

    @property
    def expected_status(self) -> str | None:
        """``"422"`` or ``"4xx"`` when the command is meant to get an error answer, else None."""
        found = EXPECT.search(self.text)
        return found.group("status") if found else None


@dataclass(frozen=True)
class Block:
    """One ```bash block: where it is, the headings it sits under, its commands."""

    path: Path
    line: int
    section: str  # the nearest "## " heading above it
    heading: str  # the nearest heading of any level above it
    commands: tuple[Command, ...]

    @property
    def name(self) -> str:
        """``docs/flags.md:12``, for test ids and messages."""
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


@dataclass
class CommandRun:
    """What one command did: its exit status and the HTTP statuses of its curl calls."""

    command: Command
    exit_status: int | None = None  # None: never reached
    http_statuses: list[str] = field(default_factory=list)

    def problem(self) -> str | None:
        """Why it failed, or None."""
        expected = self.command.expected_status
        if self.exit_status is None:
            return "never ran (an earlier command ended the block)"
        if expected is not None:
            if not self.http_statuses:
                return f"expected HTTP {expected}, but no curl call answered"
            wrong = [s for s in self.http_statuses if not _matches(s, expected)]
            return f"expected HTTP {expected}, got {wrong}" if wrong else None
        if self.exit_status != 0:
            return f"exit status {self.exit_status} (HTTP {self.http_statuses or '-'})"
        failed = [s for s in self.http_statuses if not s.isdigit() or not 100 <= int(s) < 400]
        return f"HTTP {failed}" if failed else None


@dataclass
class BlockRun:
    """A block's commands as they ran, and its output."""

    block: Block
    commands: list[CommandRun]
    stdout: str
    stderr: str

    def problems(self) -> list[str]:
        """Every failed command, with where it is written."""
        return [f"line {run.command.line}: {p}: {run.command.text}" for run in self.commands if (p := run.problem())]


def documents(root: Path = REPO_ROOT) -> list[Path]:
    """README.md and every docs/*.md (the seeds are the product's sources, not our documentation)."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def fences(path: Path) -> list[tuple[int, str]]:
    """Every opening fence of a document: (line, info string)."""
    found, inside = [], False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = FENCE.match(line)
        if match:
            if not inside:
                found.append((number, match.group("info")))
            inside = not inside
    return found


def bash_blocks(path: Path) -> list[Block]:
    """The document's ```bash blocks, in order."""
    blocks: list[Block] = []
    section = heading = ""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence is None:
            title = HEADING.match(line)
            if title:
                heading = title.group(2).strip()
                section = heading if len(title.group(1)) == 2 else section
            index += 1
            continue
        indent, info, start = fence.group("indent"), fence.group("info"), index + 1
        index += 1
        body: list[str] = []
        while index < len(lines) and not FENCE.match(lines[index]):
            body.append(lines[index].removeprefix(indent))
            index += 1
        index += 1  # the closing fence
        if info == "bash":
            blocks.append(Block(path, start, section, heading, tuple(split_commands(body, start + 1))))
    return blocks


def split_commands(lines: list[str], first_line: int) -> list[Command]:
    """Whole commands: a line continues while bash says it is incomplete, or until its heredoc's word."""
    commands: list[Command] = []
    pending: list[str] = []
    start = first_line
    heredoc: str | None = None
    for offset, line in enumerate(lines):
        if not pending:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = first_line + offset
        pending.append(line)
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            else:
                continue
        elif match := HEREDOC.search(line):
            heredoc = match.group("word")
            continue
        text = "\n".join(pending)
        if _complete(text):
            commands.append(Command(text, start))
            pending = []
    assert not pending, f"an unfinished command at line {start}: {pending}"
    return commands


def substitute(text: str, api_url: str) -> str:
    """The documented address becomes the test's API; each ``$(make -s token …)`` a real token."""
    host = api_url.removeprefix("http://")
    for documented in (f"localhost:{DOCUMENTED_PORT}", f"127.0.0.1:{DOCUMENTED_PORT}"):
        text = text.replace(f"http://{documented}", f"http://{host}").replace(documented, host)
    return TOKEN_CALL.sub(lambda m: _token_for(m.group("args")), text)


def run_block(block: Block, api_url: str, timeout_s: float = 120.0) -> BlockRun:
    """Run the block's commands as one script in a scratch copy of the repository's top level."""
    lines = [
        "set -o pipefail",
        # Each curl call also tells its HTTP status on stderr (``%{stderr}`` switches the write-out there).
        "curl() { command curl -w '%{stderr}\\n@@status %{http_code}\\n' \"$@\"; }",
    ]
    for number, command in enumerate(block.commands):
        lines += [f"echo '@@begin {number}' >&2", substitute(command.text, api_url), f'echo "@@end {number} $?" >&2']
    with tempfile.TemporaryDirectory(prefix="ho-docs-") as scratch:
        for entry in REPO_ROOT.iterdir():
            if entry.name != ".git":
                (Path(scratch) / entry.name).symlink_to(entry)
        done = subprocess.run(
            ["bash", "-c", "\n".join(lines)], cwd=scratch, capture_output=True, text=True, timeout=timeout_s
        )
    runs = [CommandRun(command) for command in block.commands]
    current: CommandRun | None = None
    for line in done.stderr.splitlines():
        if line.startswith("@@begin "):
            current = runs[int(line.split()[1])]
        elif line.startswith("@@status ") and current is not None:
            current.http_statuses.append(line.split()[1])
        elif line.startswith("@@end "):
            _, number, status = line.split()
            runs[int(number)].exit_status = int(status)
            current = None
    return BlockRun(block, runs, done.stdout, done.stderr)


def _complete(text: str) -> bool:
    """Whether bash would run ``text`` as it is (no open quote, loop, or trailing backslash)."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True).returncode == 0


def _token_for(args: str) -> str:
    """The token ``make token`` prints for these arguments (``USER``, ``ADMIN=1``, ``TENANT``, ``SCOPES``)."""
    user = re.search(r"\bUSER=(\S+)", args)
    tenant = re.search(r"\bTENANT=(\S+)", args)
    scopes = re.search(r"\bSCOPES=(\S+)", args)
    return make_token(
        user.group(1) if user else "u1",
        admin="ADMIN=1" in args,
        tenant=tenant.group(1) if tenant else None,
        scopes=tuple(scopes.group(1).replace(",", " ").split()) if scopes else (),
    )


def _matches(status: str, expected: str) -> bool:
    return status == expected if expected[1:].isdigit() else status[:1] == expected[:1]
