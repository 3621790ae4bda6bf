"""Small statistics and the one results table, shared by every benchmark part.

Percentiles use the nearest-rank definition so that a p99 is always a latency that was really
observed, never an interpolation between two calls.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"
COLUMNS = ("benchmark", "measured", "reference", "ratio", "target", "result")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sample."""
    return statistics.median(values)


@dataclass(frozen=True)
class Row:
    """One line of the table; ``result`` is PASS, FAIL, or INFO for rows without a target."""

    benchmark: str
    measured: str
    reference: str = "-"
    ratio: str = "-"
    target: str = "-"
    result: str = "INFO"
    detail: str = ""

    def cells(self) -> tuple[str, ...]:
        """The printed cells, in column order."""
        return (self.benchmark, self.measured, self.reference, self.ratio, self.target, self.result)


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def ratio(reference: float, measured: float) -> str:
    """``reference ÷ measured`` as ``N.Nx``: above 1 means ours is smaller or faster than the reference."""
    if measured <= 0:
        return "inf" if reference > 0 else "-"
    return f"{reference / measured:.1f}x"


def format_table(rows: Sequence[Row]) -> str:
    """Rows under a header, each column as wide as its widest cell."""
    lines = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    rendered = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    rendered.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in rendered)


def write_json(path: Path, payload: object) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def rows_payload(rows: Sequence[Row]) -> list[dict[str, str]]:
    """Rows as JSON objects (``results.json``)."""
    return [asdict(row) for row in rows]


def run_child(module: str, out: Path, args: Sequence[str] = (), env: dict[str, str] | None = None) -> dict:
    """Run ``python -m module --out out [args]`` from the repo root and return the JSON it wrote.

    A part that runs in a child keeps its imports, threads and memory out of every other part.
    """
    import subprocess
    import sys

    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--out", str(out), *args]
    subprocess.run(command, cwd=OUT_DIR.parent.parent, env=env, check=True)
    return json.loads(out.read_text())
