"""Measured wall times of whole sweeps (``tables/perf/sweeps.csv``, one row per timed command: how it was
measured, on what machine, with what else on the cores), and the README's generated lines about them
(between ``SWEEPS_BEGIN`` and ``SWEEPS_END``, rewritten by ``python -m benchmark.claims summary``)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

SWEEPS_CSV = Path("tables") / "perf" / "sweeps.csv"
SWEEPS_BEGIN = "<!-- sweeps:begin (generated from tables/perf/sweeps.csv; do not edit) -->"
SWEEPS_END = "<!-- sweeps:end -->"


def _minutes(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s"


def sweeps_block(out_dir: Path) -> str:
    """One bullet per measured sweep, newest first."""
    path = Path(out_dir) / SWEEPS_CSV
    df = pd.read_csv(path) if path.exists() else pd.DataFrame()
    lines = [SWEEPS_BEGIN]
    for r in df.iloc[::-1].itertuples():
        lines.append(f"- `{r.command}` ({r.precision}, {r.runs} runs): {_minutes(r.wall_seconds)} wall, "
                     f"{r.cpu_percent}% CPU, measured with `{r.measured_with}` on {r.date} ({r.note}).")
    lines.append(SWEEPS_END)
    return "\n".join(lines)


def rewrite_readme(out_dir: Path, readme: Path) -> bool:
    """Replace the README's sweeps block (when it has the markers); True when it did."""
    from .rundir import rewrite_marked_block

    return rewrite_marked_block(readme, SWEEPS_BEGIN, SWEEPS_END, sweeps_block(out_dir))
