"""The papers' printed numbers, stored once, each with its source (paper, table, row, column) and any
known conflict in the paper text (``note``). ``reference_only`` marks literature rows no run fills."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent


def load_reference(paper: str, table: str | None = None) -> pd.DataFrame:
    path = HERE / f"{paper}.csv"
    if not path.exists():
        raise FileNotFoundError(f"no reference data for paper {paper!r} (expected {path})")
    df = pd.read_csv(path, dtype={"note": "string"}, keep_default_na=False, na_values=[""])
    df["reference_only"] = df["reference_only"].astype(str).str.lower() == "true"
    return df[df["table"] == table].reset_index(drop=True) if table else df
