"""perf seeds: the summary's ratios are the measured seconds' ratios; the README's precision paragraph says
exactly where fp32 and bf16 verdicts differ."""
from __future__ import annotations

import pandas as pd

from benchmark.claims.precision import COLUMNS
from benchmark.claims.summary import precision_lines
from benchmark.perf_seeds import summary


def test_summary_picks_the_best_five_seed_mode_and_divides_by_one_seed():
    rows = []
    for model in ("a", "b"):
        rows += [dict(model=model, n_seeds=1, mode="single", precision="fp32", threads=1, seconds=2.0),
                 dict(model=model, n_seeds=1, mode="single", precision="fp32", threads=2, seconds=1.0),
                 dict(model=model, n_seeds=5, mode="sequential", precision="fp32", threads=2, seconds=5.0),
                 dict(model=model, n_seeds=5, mode="parallel", precision="bf16", threads=1, seconds=3.0),
                 dict(model=model, n_seeds=5, mode="batched", precision="bf16", threads=2, seconds=4.0)]
    lines = summary(rows)
    assert lines[-1] == "seeds: 5 parallel bf16 / 1 single fp32 = 1.50x"  # (3 + 3) / (2 + 2)
    assert lines[-2] == "seeds: 5 parallel bf16 / 1 single fp32 with 2 threads = 3.00x"


def test_precision_paragraph_names_the_claims_whose_verdicts_differ(tmp_path):
    (tmp_path / "tables" / "deeprnn").mkdir(parents=True)
    base = {c: "" for c in COLUMNS}
    rows = [dict(base, claim="x.same", experiment="deeprnn.t", n_seeds=5, verdict_fp32="reproduced",
                 verdict_bf16="reproduced", same_verdict=True),
            dict(base, claim="x.flip", experiment="deeprnn.t", n_seeds=5, verdict_fp32="inconclusive",
                 verdict_bf16="contradicted", same_verdict=False),
            dict(base, claim="x.none", experiment="deeprnn.t", n_seeds=0, verdict_fp32="not run",
                 verdict_bf16="not run", same_verdict=True)]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "tables" / "deeprnn" / "t.precision.csv", index=False)
    assert precision_lines(tmp_path) == [
        "Precision: deeprnn.t trained in bf16 and in fp32 (5 seeds each) gives the same verdict on 1 of 2 tested "
        "claims; they differ on `x.flip` (fp32 inconclusive, bf16 contradicted) "
        "(`tables/deeprnn/t.precision.csv`).", ""]
