"""The table6 pipeline end to end at the smoke scale, through the real CLI."""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.run import main

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"Polyg-LSTM 2": 0.47, "Polyg-LSTM 5": 2.94, "Polyg-LSTM 10": 7.07, "Polyg-LSTM 15": 15.71,
          "Polyg-CBM 2": 0.20, "Polyg-CBM 5": 1.13, "Polyg-CBM 10": 2.68, "Polyg-CBM 15": 5.85}


def _cli(tmp, *extra):
    cmd = [sys.executable, "-m", "benchmark.run", "table6", "--scale", "smoke",
           "--runs-dir", str(tmp / "runs"), "--out-dir", str(tmp / "out"), *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("table6")
    first = _cli(tmp)  # --cluster local: submitit's local executor, the same path as Slurm
    assert first.returncode == 0, first.stderr[-2000:]
    return tmp, first


def test_smoke_writes_tables_and_figures(smoke):
    tmp, first = smoke
    tables, figures = tmp / "out" / "tables" / "deeprnn", tmp / "out" / "figures" / "deeprnn"
    for f in (tables / "table6.csv", tables / "table6.md", tables / "table6.tex",
              figures / "fig7a.png", figures / "fig7b.png"):
        assert f.exists() and f.stat().st_size > 0, f
    assert (figures / "fig7a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "10 done" in first.stdout  # 8 cells x depths + the BN ablation's 2
    # the progress bar counts epochs (it moves during long runs), finished runs in its postfix
    assert "deeprnn.table6 epochs: 100%" in first.stderr and "30/30" in first.stderr and "runs 10/10" in first.stderr


def test_csv_is_tidy_with_exact_parameter_counts_and_filled_iou(smoke):
    tmp, _ = smoke
    df = pd.read_csv(tmp / "out" / "tables" / "deeprnn" / "table6.csv")
    for col in ("row", "column", "paper", "reproduced", "delta", "scale", "dataset", "n_seeds"):
        assert col in df.columns
    params = df[df["column"] == "# params of RNN"].set_index("row")["reproduced"].to_dict()
    assert params == PARAMS
    iou = df[(df["column"] == "IoU") & ~df["reference_only"]]
    base = iou[iou["row"].str.startswith("trivial baseline: ")]  # what a predictor that learns nothing scores
    assert len(base) == 1 and base["n_seeds"].iloc[0] == 0 and 0 < base["reproduced"].iloc[0] <= 100
    iou = iou.drop(base.index)
    assert len(iou) == 10 and iou["reproduced"].notna().all() and (iou["n_seeds"] == 1).all()
    bn = iou[iou["row"].str.endswith(" + BN")]  # the BN ablation: no paper number
    assert sorted(bn["row"]) == ["Polyg-CBM 15 + BN", "Polyg-LSTM 15 + BN"] and bn["paper"].isna().all()
    iou = iou.drop(bn.index)
    assert iou["reproduced"].between(0, 100).all()
    assert (iou["scale"] == "smoke").all() and iou["dataset"].str.startswith("builtin:").all()
    assert (iou["delta"].round(2) == (iou["reproduced"] - iou["paper"]).round(2)).all()
    lit = df[df["reference_only"]]
    assert lit["reproduced"].isna().all() and "Polygon-RNN++ [1]" in set(lit["row"])
    md = (tmp / "out" / "tables" / "deeprnn" / "table6.md").read_text()
    assert "IoU (paper)" in md and "IoU (ours)" in md and "Polyg-CBM 15" in md


def test_second_run_redoes_nothing(smoke):
    tmp, _ = smoke
    results = sorted((tmp / "runs").glob("deeprnn.table6/*/result.json"))
    assert len(results) == 10
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in results}
    second = _cli(tmp)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "10 done, 0 submitted" in second.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in results} == before
    assert len(list((tmp / "runs" / "_submitit" / "deeprnn.table6").iterdir())) == 1  # nothing resubmitted


def test_misspelt_id_exits_non_zero_with_one_line_naming_valid_ids(capsys):
    assert main(["tabel6"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deeprnn.table6" in err[0] and "tabel6" in err[0]


def test_wrong_data_root_names_expected_files(tmp_path, capsys):
    (tmp_path / "gtFine").mkdir()
    assert main(["table6", "--scale", "smoke", "--data-root", str(tmp_path), "--runs-dir",
                 str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "gtFine/train/<city>/<city>_<seq>_<frame>_gtFine_polygons.json" in err
    assert "leftImg8bit" in err and str(tmp_path) in err
    assert not (tmp_path / "runs").exists()  # nothing launched


def test_list_shows_table6(capsys):
    assert main(["list"]) == 0
    assert "deeprnn.table6" in capsys.readouterr().out
