"""What the report notebook calls: an overview of every experiment and, per experiment, its tables
(the paper's layout with paper and reproduced side by side, then every cell with its delta, scale and data)
and its figures, read from ``tables/`` and ``figures/`` through ``tables/manifest.json``."""
from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from .catalogue import list_ids, resolve
from .tables import TIDY_COLUMNS, wide

MAX_ROWS = 60  # rows shown of a table that is not a paper-vs-reproduced table (analytic counts, perf)


def load_manifest(out_dir: Path) -> dict:
    path = Path(out_dir) / "tables" / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def table_id(path: str, kind: str) -> str:
    """A stable HTML id for a table file: ``t-<paper>-<name>-<kind>``."""
    p = Path(path)
    return f"t-{p.parent.name}-{p.stem}-{kind}".replace(".", "-").replace("_", "-")


def is_tidy(df: pd.DataFrame) -> bool:
    return {"row", "column", "paper", "reproduced", "delta"} <= set(df.columns)


def overview(out_dir: Path) -> pd.DataFrame:
    """One line per catalogue id: scale, runs done, and for its tables how many printed cells have a
    reproduced value and the mean |delta| over them."""
    manifest = load_manifest(out_dir)
    rows = []
    for i in list_ids():
        m = manifest.get(i)
        line = {"id": i, "title": resolve(i).title, "scale": None, "runs done": None, "paper cells": 0,
                "reproduced cells": 0, "mean |delta|": None, "written": None}
        if m:
            line.update(scale=m["scale"], written=m["written"],
                        **{"runs done": f"{m['runs_done']} / {m['runs']}" if m["runs"] else "no runs (exact)"})
            deltas = []
            for f in m["files"]:
                if f.endswith(".csv") and (Path(out_dir) / f).exists():
                    df = pd.read_csv(Path(out_dir) / f)
                    if is_tidy(df):
                        paper = df[df["paper"].notna()]
                        line["paper cells"] += len(paper)
                        line["reproduced cells"] += int(paper["reproduced"].notna().sum())
                        deltas += list(paper["delta"].dropna().abs())
            line["mean |delta|"] = round(sum(deltas) / len(deltas), 3) if deltas else None
        rows.append(line)
    return pd.DataFrame(rows)


def _html_table(df: pd.DataFrame, tid: str, index: bool = True) -> str:
    return df.to_html(table_id=tid, classes="report-table", na_rep="", index=index, float_format=lambda v: f"{v:.4g}",
                      border=0)


def experiment_html(exp_id: str, out_dir: Path) -> tuple[str, list[Path]]:
    """(HTML of the experiment's tables, its figure paths) from the manifest."""
    m = load_manifest(out_dir).get(exp_id)
    if not m:
        return (f"<p><b>{html.escape(exp_id)}</b> has not been run yet: "
                f"<code>python -m benchmark.run {html.escape(exp_id)} --scale cpu</code></p>"), []
    parts = [f"<p>Scale <code>{m['scale']}</code>; runs finished: {m['runs_done']} of {m['runs']}; "
             f"written {m['written']}.</p>"]
    figures = []
    for f in m["files"]:
        path = Path(out_dir) / f
        if f.endswith(".png"):
            figures.append(path)
        if not f.endswith(".csv") or not path.exists():
            continue
        df = pd.read_csv(path)
        if is_tidy(df):
            datasets = ", ".join(sorted(set(df["dataset"].dropna().astype(str)))) or "-"
            parts.append(f"<h4>{html.escape(f)}: paper beside reproduced</h4>"
                         f"<p>Data: {html.escape(datasets)}.</p>"
                         + _html_table(wide(df), table_id(f, "wide")))
            cells = df.reindex(columns=[c for c in TIDY_COLUMNS if c != "unit"])
            parts.append(f"<details><summary>every cell of {html.escape(f)} with its delta, scale and data "
                         f"({len(cells)} cells)</summary>" + _html_table(cells, table_id(f, "cells"), index=False)
                         + "</details>")
        else:
            more = f" (first {MAX_ROWS} of {len(df)} rows)" if len(df) > MAX_ROWS else ""
            parts.append(f"<h4>{html.escape(f)}{more}</h4>" + _html_table(df.head(MAX_ROWS), table_id(f, "data"),
                                                                          index=False))
    return "\n".join(parts), figures
