"""What ``make run`` shows a person: one line per request and per drained batch; the Lambda output in a file.

The handlers are the deployed ones and write what they write in AWS: Powertools Logger's JSON
lines, EMF metric documents and Powertools' warnings, all on stdout/stderr, where CloudWatch
collects them. Locally that drowns the terminal, so :meth:`Console.install` points the process's
``sys.stdout``/``sys.stderr`` (and every logging stream handler already holding them) at the log
file, and the console lines go straight to the terminal stream saved before. With
``to_console=True`` (``LOG_TO_CONSOLE=1``) the Lambda output stays on the terminal between them.

While a queue batch runs, the EMF documents its handler prints are also read (:meth:`Console.invocation`),
so the batch line can say how many messages went back on the queue (``MessagesRequeued``,
``MessagesDeferred``): the figures CloudWatch would get, not a guess.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

REQUEUED_METRICS = ("MessagesRequeued", "MessagesDeferred")
# Powertools' batch processor says why each record failed, at DEBUG, on this logger (and nowhere else).
BATCH_LOGGER = "aws_lambda_powertools.utilities.batch.base"
_RECORD_FAILURE = re.compile(r"^Record processing exception: <class '(?:[\w.]+\.)?(\w+)'>:(.*)$", re.DOTALL)


class _LambdaOutput:
    """The stream that replaces stdout and stderr: to the log file, with the current batch's EMF counted."""

    def __init__(self, console: Console, target: TextIO) -> None:
        self._console = console
        self._target = target

    def write(self, text: str) -> int:
        collector = self._console.current()
        if collector is not None:
            collector.feed(text)
        with self._console.lock:
            written = self._target.write(text)
            self._target.flush()
        return written

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class MetricCollector:
    """EMF metric values printed during one invocation, summed by name, and why records failed."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.failures: list[str] = []
        self._partial = ""

    @property
    def requeued(self) -> int:
        """Messages the handler put back on the queue (rate limited, or too little time left)."""
        return int(sum(self.totals[name] for name in REQUEUED_METRICS))

    def feed(self, text: str) -> None:
        """Read complete lines; an EMF document is one JSON line holding ``_aws``."""
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if not line.startswith('{"_aws"'):
                continue
            with contextlib.suppress(ValueError):
                document = json.loads(line)
                for directive in document["_aws"].get("CloudWatchMetrics", []):
                    for metric in directive.get("Metrics", []):
                        values = document.get(metric["Name"], 0)
                        self.totals[metric["Name"]] += sum(values) if isinstance(values, list) else values


class _RecordFailures(logging.Handler):
    """Collects the batch processor's per-record failure reasons into the running invocation's collector."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.DEBUG)
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        collector = self._console.current()
        match = _RECORD_FAILURE.match(record.getMessage())
        if collector is not None and match:
            collector.failures.append(f"{match[1]}: {match[2].strip()}")


class Console:
    """The terminal's lines, and where everything else goes."""

    def __init__(self, stream: TextIO | None = None, log_path: Path | None = None, to_console: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.log_path = log_path
        self.to_console = to_console or log_path is None
        self.lock = threading.RLock()
        self._local = threading.local()
        self._saved: tuple[Any, Any] | None = None
        self._repointed: list[tuple[logging.StreamHandler, Any]] = []
        self._log_file: TextIO | None = None
        self._failures = _RecordFailures(self)
        self._batch_level = logging.NOTSET

    def line(self, text: str) -> None:
        """One line on the terminal."""
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def request(
        self, method: str, route: str, status: int, ms: float, workflow_id: str | None, provider: str | None
    ) -> None:
        """``POST /api/v2/campaigns/hybrid 200 412ms wf_… openai``."""
        extras = " ".join(part for part in (workflow_id, provider) if part)
        self.line(f"{method} {route} {status} {ms:.0f}ms{' ' + extras if extras else ''}")

    def batch(
        self, queue: str, records: int, succeeded: int, failed: int, requeued: int, reasons: list[str] = ()
    ) -> None:
        """One drained batch: how many records and what became of them; with failures, one warning line."""
        outcome = f"{succeeded} succeeded, {failed} failed, {requeued} requeued"
        if not failed:
            self.line(f"{queue} {records} records: {outcome}")
            return
        why = "; ".join(dict.fromkeys(reasons)) or "see the log file"
        self.warning(f"{queue} {records} records: {outcome} (SQS delivers the failed again: {why})")

    def warning(self, text: str) -> None:
        """An expected problem (a retry), in one line."""
        self.line(f"WARNING {text}")

    def current(self) -> MetricCollector | None:
        """The collector of the invocation running on this thread, if any."""
        return getattr(self._local, "collector", None)

    @contextlib.contextmanager
    def invocation(self) -> Iterator[MetricCollector]:
        """Count the EMF metrics this thread prints until the block ends."""
        collector = MetricCollector()
        self._local.collector = collector
        try:
            yield collector
        finally:
            self._local.collector = None

    def install(self) -> None:
        """Send this process's stdout, stderr and logging streams to the log file (or keep them, ``to_console``)."""
        if self._saved is not None:
            return
        if self.to_console:
            target: TextIO = self.stream
        else:
            assert self.log_path is not None
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = target = self.log_path.open("a", encoding="utf-8", buffering=1)
        self._saved = (sys.stdout, sys.stderr)
        output = _LambdaOutput(self, target)
        originals = {id(sys.stdout), id(sys.stderr), id(sys.__stdout__), id(sys.__stderr__)}
        for handler in _stream_handlers():
            if id(handler.stream) in originals:
                self._repointed.append((handler, handler.stream))
                handler.setStream(output)
        sys.stdout = sys.stderr = output  # type: ignore[assignment]
        batch_logger = logging.getLogger(BATCH_LOGGER)
        self._batch_level = batch_logger.level
        batch_logger.setLevel(logging.DEBUG)
        batch_logger.addHandler(self._failures)

    def __enter__(self) -> Console:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def uninstall(self) -> None:
        """Give the process its streams back."""
        if self._saved is None:
            return
        sys.stdout, sys.stderr = self._saved
        self._saved = None
        for handler, stream in self._repointed:
            handler.setStream(stream)
        self._repointed.clear()
        batch_logger = logging.getLogger(BATCH_LOGGER)
        batch_logger.removeHandler(self._failures)
        batch_logger.setLevel(self._batch_level)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [
        logging.getLogger(),
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    return [
        h
        for lg in loggers
        for h in lg.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


def response_summary(headers: list[tuple[str, str]], body: bytes) -> tuple[str | None, str | None]:
    """The workflow id and provider of an answer, from its headers, else its JSON body."""
    named = {name.lower(): value for name, value in headers}
    served_by = named.get("x-orchestrator-provider")  # "openai:gpt-4o-mini"
    workflow_id, provider = named.get("x-workflow-id"), served_by.split(":", 1)[0] if served_by else None
    if workflow_id and provider:
        return workflow_id, provider
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        data = json.loads(body).get("data") or {}
        if isinstance(data, dict):
            workflow_id = workflow_id or data.get("workflowId")
            provider = provider or data.get("provider")
    return workflow_id, provider
