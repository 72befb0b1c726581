"""Do bf16 and fp32 training reach the same verdicts? ``python -m benchmark.claims precision ID``.

Judges every claim of an experiment twice from finished runs, once on the grid trained in fp32 and once on
the same grid trained in bf16 (``RunConfig.precision``; the same seeds, so each verdict is paired over the
same seeds as always), and writes ``tables/<paper>/<id>.precision.csv``: per claim the fp32 and bf16
verdicts, differences, CIs and whether the verdicts agree. The README's generated claims block says,
from these files, where the two precisions differ (``summary.precision_lines``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import PRECISIONS
from ..results import load_results
from . import claims_for
from .evaluate import evaluate_claim, with_claim_values

COLUMNS = ["claim", "experiment", "statement", "n_seeds"] + [
    f"{col}_{p}" for p in PRECISIONS for col in ("diff", "ci_low", "ci_high", "verdict")] + ["same_verdict"]


def precision_path(out_dir: Path, experiment: str) -> Path:
    paper, name = experiment.split(".", 1)
    return Path(out_dir) / "tables" / paper / f"{name}.precision.csv"


def compare_precisions(experiment: str, runs_root: Path, out_dir: Path, scale: str = "cpu",
                       seeds: int | None = None) -> Path:
    from ..catalogue import resolve

    exp = resolve(experiment)
    rows: dict[str, dict] = {}
    for p in PRECISIONS:
        cfgs = exp.runs(scale, seeds, None, p)
        results = with_claim_values(load_results(runs_root, cfgs), exp, runs_root, cfgs)
        for claim in claims_for(exp.id):
            r = evaluate_claim(claim, results, cfgs, scale, Path(out_dir) / "tables")
            row = rows.setdefault(claim.id, {"claim": claim.id, "experiment": exp.id, "statement": claim.statement,
                                             "n_seeds": r["n_seeds"]})
            row["n_seeds"] = min(row["n_seeds"], r["n_seeds"])
            row.update({f"{col}_{p}": r[col] for col in ("diff", "ci_low", "ci_high", "verdict")})
    df = pd.DataFrame(list(rows.values()))
    df["same_verdict"] = df["verdict_fp32"] == df["verdict_bf16"]
    path = precision_path(out_dir, exp.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    df[COLUMNS].to_csv(path, index=False, float_format="%.6g")
    return path


def load_precision_files(out_dir: Path) -> pd.DataFrame:
    from . import PAPERS

    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""])
              for paper in PAPERS for p in sorted((Path(out_dir) / "tables" / paper).glob("*.precision.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
