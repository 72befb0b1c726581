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
    """One line per catalogue id: scale, runs done, printed cells with a reproduced value, the verdicts of
    its claims, and the error its outputs raised (if any). Deltas are per cell, in each section: a mean
    |delta| across scales and stand-in data would mean nothing."""
    from .claims.evaluate import load_claims
    from .claims.verdict import VERDICTS

    manifest = load_manifest(out_dir)
    claims = load_claims(out_dir)
    rows = []
    for i in list_ids():
        m = manifest.get(i)
        line = {"id": i, "title": resolve(i).title, "scale": None, "runs done": None, "paper cells": 0,
                "reproduced cells": 0, **{v: 0 for v in VERDICTS}, "error": None}
        mine = claims[claims["experiment"] == i]
        for v in VERDICTS:
            line[v] = int((mine["verdict"] == v).sum())
        if m:
            line.update(scale=m["scale"], error=m.get("error"),
                        **{"runs done": f"{m['runs_done']} / {m['runs']}" if m["runs"] else "no runs (exact)"})
            for f in m["files"]:
                if f.endswith(".csv") and (Path(out_dir) / f).exists():
                    df = pd.read_csv(Path(out_dir) / f)
                    if is_tidy(df):
                        paper = df[df["paper"].notna()]
                        line["paper cells"] += len(paper)
                        line["reproduced cells"] += int(paper["reproduced"].notna().sum())
        rows.append(line)
    return pd.DataFrame(rows)


VERDICT_COLOURS = {"reproduced": "#d7f0d2", "contradicted": "#f6d2d0", "inconclusive": "#fbefc6",
                   "not run": "#e8e8e8"}


def claims_html(df: pd.DataFrame, tid: str) -> str:
    """A claims table, each row coloured by its verdict."""
    cols = ["claim", "experiment", "statement", "metric", "n_seeds", "a_mean", "b_mean", "diff", "ci_low",
            "ci_high", "verdict", "baseline", "note"]
    df = df.reindex(columns=cols)

    def cell(v) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(f'<tr class="verdict-{str(r["verdict"]).replace(" ", "-")}" style="background-color: '
                   f'{VERDICT_COLOURS.get(r["verdict"], "white")}">' + "".join(f"<td>{cell(r[c])}</td>" for c in cols)
                   + "</tr>" for _, r in df.iterrows())
    return (f'<table id="{tid}" class="report-table claims" border="0"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def claims_overview(out_dir: Path) -> str:
    """The report's lead: the summary line and every claim, coloured by verdict."""
    from .claims.evaluate import load_claims
    from .claims.summary import scales_of, summary_line

    df = load_claims(out_dir)
    if not len(df):
        return "<p>No claims have been judged yet: run an experiment (python -m benchmark.run table6).</p>"
    line = summary_line(df, scales_of(out_dir, df["experiment"].unique()))
    return f"<p><b>{html.escape(line)}</b></p>" + claims_html(df, "t-claims")


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
    if m.get("error"):
        parts.append(f"<p class='error'><b>Its outputs failed:</b> <code>{html.escape(m['error'])}</code></p>")
    figures = []
    for f in m["files"]:
        path = Path(out_dir) / f
        if f.endswith(".png"):
            figures.append(path)
        if not f.endswith(".csv") or not path.exists():
            continue
        df = pd.read_csv(path)
        if f.endswith(".claims.csv"):
            parts.append(f"<h4>{html.escape(f)}: the paper's claims, judged over seeds</h4>"
                         + claims_html(df, table_id(f, "claims")))
        elif is_tidy(df):
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
