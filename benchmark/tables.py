"""Tidy comparison tables: paper value beside reproduced value, written as CSV, Markdown and LaTeX.

The tidy CSV has one row per table cell; the Markdown/LaTeX files are laid out like the paper's table
(one line per paper row, each paper column split into "paper" and "ours").
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

TIDY_COLUMNS = ["row", "column", "paper", "reproduced", "delta", "unit", "scale", "dataset", "n_seeds",
                "reference_only", "source", "note"]


def comparison(reference: pd.DataFrame, reproduced: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Join the reference cells with reproduced ones on (row, column), keeping the paper's order.

    ``reproduced`` has columns row, column, reproduced, n_seeds, dataset; cells no run filled stay empty.
    """
    ref = reference.drop(columns=["paper", "table"]).rename(columns={"value": "paper"})
    rep = reproduced.reindex(columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    df = ref.merge(rep, on=["row", "column"], how="left")
    # cells the suite reproduces but the paper does not print (e.g. depths it skipped) follow, paper empty
    keys = set(zip(ref["row"], ref["column"]))
    extra = rep[[(r, c) not in keys for r, c in zip(rep["row"], rep["column"])]]
    if len(extra):
        df = pd.concat([df, extra.assign(reference_only=False)], ignore_index=True)
    df["delta"] = (df["reproduced"] - df["paper"]).round(4)
    df["scale"] = scale
    df["n_seeds"] = df["n_seeds"].fillna(0).astype(int)
    return df.reindex(columns=TIDY_COLUMNS)


BASELINE_ROW = "trivial baseline"


def baseline_cells(cfg, columns: dict[str, str]) -> pd.DataFrame:
    """Rows of a tidy table (``row, column, reproduced, n_seeds, dataset``) with what a predictor that
    learns nothing scores on ``cfg``'s test set: ``columns`` maps a table column to the metric it shows.
    The row is "trivial baseline: <which predictor>" (``benchmark.baselines``); metrics with no baseline
    are left out."""
    from .baselines import trivial_baselines

    base = trivial_baselines(cfg)
    rows = [{"row": f"{BASELINE_ROW}: {base[m][1]}", "column": col, "reproduced": round(float(base[m][0]), 4),
             "n_seeds": 0, "dataset": f"{cfg.dataset} (the test set of the runs; no training)"}
            for col, m in columns.items() if m in base]
    return pd.DataFrame(rows, columns=["row", "column", "reproduced", "n_seeds", "dataset"])


def wide(tidy: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The paper's layout: rows in paper order, '<column> (paper)' and '<column> (ours)' side by side
    (columns in first-appearance order unless ``columns`` gives the paper's)."""
    rows = list(dict.fromkeys(tidy["row"]))
    cols = columns or list(dict.fromkeys(tidy["column"]))
    out = pd.DataFrame(index=pd.Index(rows, name="model"))
    for col in cols:
        sub = tidy[tidy["column"] == col].set_index("row")
        if sub["paper"].notna().any():  # a column the paper prints no number for gets no paper column
            out[f"{col} (paper)"] = sub["paper"].reindex(rows)
        out[f"{col} (ours)"] = sub["reproduced"].reindex(rows)
    return out


def write_table(tidy: pd.DataFrame, out_dir: Path, name: str, caption: str,
                columns: list[str] | None = None) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, md, tex = (out_dir / f"{name}.{ext}" for ext in ("csv", "md", "tex"))
    tidy.to_csv(csv, index=False)
    table = wide(tidy, columns)
    scale = ", ".join(sorted(set(tidy["scale"].dropna())))
    datasets = ", ".join(sorted(set(tidy["dataset"].dropna()))) or "-"
    notes = [f"- {r.row} / {r.column}: {r.note}" for r in tidy.itertuples() if isinstance(r.note, str) and r.note]
    md.write_text(f"**{caption}**\n\nScale: `{scale}`; data: {datasets}. Empty 'ours' cells: no run "
                  f"fills them (reference-only rows) or none has finished yet.\n\n"
                  + table.astype(object).where(table.notna(), None).to_markdown(floatfmt=".4g", missingval="") + "\n"
                  + ("\nNotes on the reference values:\n" + "\n".join(notes) + "\n" if notes else ""))
    tex.write_text(table.to_latex(float_format="%.4g", na_rep="--", caption=caption, label=f"tab:{name}"))
    return [csv, md, tex]
