"""One result line per comparison, collected by ``benchmarks/run.py`` into a single table.

Each benchmark still prints its own detailed table; ``record`` also appends one JSON line to
``$AEGIS_BENCH_RESULTS`` when the runner set it, so ``make bench`` can end with one table of
every comparison (name, ours, raw, ratio, goal, pass/fail) without parsing anyone's output.
Run on its own, a benchmark records nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "AEGIS_BENCH_RESULTS"


@dataclass(frozen=True)
class Result:
    """One comparison; exactly one goal kind is set, or none for a figure shown without a goal."""

    name: str
    ours: float
    unit: str
    raw: float | None = None
    min_ratio: float | None = None  # ours/raw must reach this (throughputs)
    max_ratio: float | None = None  # ours/raw must stay under this (latencies)
    max_value: float | None = None  # ours itself must stay under this (memory, p95)
    paired_ratio: float | None = None  # the median of paired rounds' ratios, when measured so

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.ours / self.raw if self.raw else None

    @property
    def goal(self) -> str:
        if self.min_ratio is not None:
            return f">= {self.min_ratio:g}x"
        if self.max_ratio is not None:
            return f"<= {self.max_ratio:g}x"
        if self.max_value is not None:
            return f"<= {self.max_value:,.6g} {self.unit}"
        return "-"

    @property
    def passed(self) -> bool | None:
        ratio = self.ratio
        if self.min_ratio is not None and ratio is not None:
            return ratio >= self.min_ratio
        if self.max_ratio is not None and ratio is not None:
            return ratio <= self.max_ratio
        if self.max_value is not None:
            return self.ours <= self.max_value
        return None


def record(
    name: str,
    ours: float,
    unit: str,
    *,
    raw: float | None = None,
    min_ratio: float | None = None,
    max_ratio: float | None = None,
    max_value: float | None = None,
    paired_ratio: float | None = None,
) -> None:
    """Append this comparison to the runner's results file (a no-op when run on its own).

    ``paired_ratio`` replaces ours/raw when the benchmark reports the median of paired rounds'
    ratios, which is steadier on shared cores than the ratio of two medians.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    result = Result(name, ours, unit, raw, min_ratio, max_ratio, max_value, paired_ratio)
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(result)) + "\n")


def load(path: Path) -> list[Result]:
    if not path.exists():
        return []
    return [Result(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}"


def table(results: list[Result]) -> str:
    """The one table ``make bench`` ends with."""
    rows = [("benchmark", "ours", "raw", "ratio", "goal", "result")]
    for r in results:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r.passed]
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        rows.append((r.name, _number(r.ours, r.unit), _number(r.raw, r.unit), ratio, r.goal, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
