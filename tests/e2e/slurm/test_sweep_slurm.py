"""table6 smoke through real `sbatch` job arrays: same table as --cluster local, a killed launcher
loses nothing and the rerun submits only what had not finished; failed runs in status and collect."""
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from benchmark.run import main

ROOT = Path(__file__).resolve().parents[3]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _cmd(tmp, *extra, module="benchmark.run"):
    return [sys.executable, "-m", module, "table6", "--scale", "smoke", "--runs-dir", str(tmp / "runs"),
            *(["--out-dir", str(tmp / "out")] if module != "benchmark.status" else []), *extra]


def _in_process(capsys, tmp, *extra, module="benchmark.run") -> SimpleNamespace:
    """The command ``_cmd`` names, called in this process (its output only): an interpreter start saved;
    the launcher the test kills is the one real subprocess."""
    capsys.readouterr()
    code = importlib.import_module(module).main(_cmd(tmp, *extra, module=module)[3:])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def _metrics(runs: Path) -> dict:
    """Per run: its metrics without wall-clock seconds (the only field that is not a result)."""
    out = {}
    for f in sorted(runs.glob("deeprnn.table6/*/metrics.jsonl")):
        rows = [json.loads(x) for x in f.read_text().splitlines()]
        out[f.parent.name] = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    return out


def _snapshot(runs: Path) -> dict:
    files = {}
    for d in runs.glob("deeprnn.table6/*"):
        if (d / "result.json").exists():
            for name in ("result.json", "metrics.jsonl", "checkpoint.pt", "config.json"):
                p = d / name
                files[p] = (p.stat().st_mtime_ns, p.read_bytes())
    return files


@pytest.fixture(scope="module")
def local_sweep(smoke_sweep, tmp_path_factory):
    """Table 6 at smoke off this machine's Slurm: the session's smoke sweep's runs and table (no Slurm)."""
    tmp = tmp_path_factory.mktemp("local")
    shutil.copytree(smoke_sweep.runs / "deeprnn.table6", tmp / "runs" / "deeprnn.table6")
    (tmp / "out" / "tables" / "deeprnn").mkdir(parents=True)
    shutil.copy(smoke_sweep.out / "tables" / "deeprnn" / "table6.csv", tmp / "out" / "tables" / "deeprnn")
    assert len(list((tmp / "runs" / "deeprnn.table6").glob("*/result.json"))) == 10  # 8 cells + the BN ablation
    return tmp


def test_dry_run_prints_plan_and_submits_nothing(tmp_path, capsys):
    assert main(["table6", "--scale", "smoke", "--cluster", "slurm", "--profile", "example-gpu", "--dry-run",
                 "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "10 to submit" in out and "one job array of 10 job(s)" in out
    assert "gpus_per_node=1" in out and "slurm_partition=gpu" in out and "timeout_min=720" in out
    assert out.count("  submit   ") == 10
    assert not (tmp_path / "runs").exists()


def test_unknown_profile_is_an_error(tmp_path, capsys):
    assert main(["table6", "--scale", "smoke", "--profile", "nope", "--dry-run"]) == 2
    assert "local-cluster" in capsys.readouterr().err


def test_slurm_sweep_survives_a_killed_launcher_and_matches_local(slurm, local_sweep, tmp_path, capsys):
    runs = tmp_path / "runs"
    launcher = subprocess.Popen(_cmd(tmp_path, "--cluster", "slurm", "--profile", "local-cluster"), cwd=ROOT,
                                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(list(runs.glob("deeprnn.table6/*/result.json"))) < 2:
        assert launcher.poll() is None and time.time() < deadline, "no run finished under Slurm"
        time.sleep(0.3)
    launcher.send_signal(signal.SIGKILL)  # the launcher dies mid-sweep ...
    launcher.wait()
    ids = {json.loads(x)["job_id"] for f in runs.glob("deeprnn.table6/*/attempts.jsonl")
           for x in f.read_text().splitlines() if json.loads(x)["event"] == "submitted"}
    assert len(ids) == 10 and all("_" in i for i in ids)  # one job array: ids ARRAY_TASK
    subprocess.run(["scancel", *sorted({i.split("_")[0] for i in ids})], check=True)  # ... and so do its jobs
    while any(i in subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True).stdout.split()
              for i in ids):
        assert time.time() < deadline + 60
        time.sleep(0.5)
    before = _snapshot(runs)
    n_done = len([p for p in before if p.name == "result.json"])
    assert 2 <= n_done < 10, n_done

    status = _in_process(capsys, tmp_path, module="benchmark.status")
    assert status.returncode == 1 and f"{n_done} done" in status.stdout

    again = _in_process(capsys, tmp_path, "--cluster", "slurm", "--profile", "local-cluster")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"10 done, {10 - n_done} submitted" in again.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before} == before  # nothing lost or rewritten
    assert len(list((runs / "_submitit" / "deeprnn.table6").iterdir())) == 2  # one new sweep folder
    for d in runs.glob("deeprnn.table6/*"):  # finished runs were not submitted again, the others once more
        subs = [x for x in (d / "attempts.jsonl").read_text().splitlines() if '"submitted"' in x]
        assert len(subs) == (1 if d / "result.json" in before else 2), d

    # the same reproduced numbers as off Slurm (the session's smoke sweep), to the last bit
    assert _metrics(runs) == _metrics(local_sweep / "runs")
    local_csv = (local_sweep / "out" / "tables" / "deeprnn" / "table6.csv").read_bytes()
    assert (tmp_path / "out" / "tables" / "deeprnn" / "table6.csv").read_bytes() == local_csv


def _nan_checkpoint(run: Path) -> None:
    from benchmark.config import RunConfig
    from benchmark.train.checkpoint import save_checkpoint
    from benchmark.train.task import get_task

    cfg = RunConfig.from_dict(json.loads((run / "config.json").read_text()))
    model = get_task(cfg.task).build(cfg)[0]
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    save_checkpoint(run / "checkpoint.pt", model=model.state_dict(), optimizer=opt.state_dict(), epoch=0,
                    loader_rng=torch.Generator().manual_seed(cfg.seed).get_state(), resumed=0,
                    history=[{"epoch": 1, "train_loss": 0.0}])  # epoch 1's metrics: the run resumes from it


def test_failed_runs_in_status_and_collect(local_sweep, tmp_path, capsys):
    shutil.copytree(local_sweep / "runs", tmp_path / "runs", ignore=shutil.ignore_patterns("_submitit"))
    by_row = {json.loads((d / "config.json").read_text())["labels"]["row"]: d
              for d in (tmp_path / "runs" / "deeprnn.table6").iterdir()}
    nan_run, broken_run = by_row["Polyg-LSTM 5"], by_row["Polyg-CBM 2"]
    for d in (nan_run, broken_run):
        for name in ("result.json", "metrics.jsonl", "checkpoint.pt", "attempts.jsonl"):
            (d / name).unlink(missing_ok=True)
    _nan_checkpoint(nan_run)  # resumes into NaN weights: a NaN loss
    # a whole checkpoint of another net: load_state_dict raises (a cut or garbage one would be healed)
    torch.save({"model": {"bogus": torch.zeros(1)}, "optimizer": {}, "epoch": 0, "resumed": 0,
                "history": [{"epoch": 1, "train_loss": 0.0}]}, broken_run / "checkpoint.pt")
    done_before = _snapshot(tmp_path / "runs")

    r = _in_process(capsys, tmp_path, "--cluster", "local")
    assert r.returncode == 1 and "8 done, 2 failed" in r.stdout, r.stdout + r.stderr[-2000:]
    assert _snapshot(tmp_path / "runs") == done_before
    assert json.loads((nan_run / "failed.json").read_text())["traceback"].strip()

    st = _in_process(capsys, tmp_path, module="benchmark.status")
    assert st.returncode == 1
    line = {row: next(ln for ln in st.stdout.splitlines() if f" {row} " in ln) for row in by_row}
    assert line["Polyg-LSTM 5"].startswith("failed")
    assert "FloatingPointError: non-finite training loss nan" in line["Polyg-LSTM 5"]
    assert line["Polyg-CBM 2"].startswith("failed") and "state_dict" in line["Polyg-CBM 2"]
    assert all(line[r].startswith("done") for r in by_row if r not in ("Polyg-LSTM 5", "Polyg-CBM 2"))
    assert "8 done, 2 failed" in st.stdout

    c = _in_process(capsys, tmp_path, module="benchmark.collect")
    assert c.returncode == 1 and "8 of 10 runs finished" in c.stdout
    assert "Polyg-LSTM 5" in c.stdout and "FloatingPointError" in c.stdout
    table = tmp_path / "out" / "tables" / "deeprnn"
    df = pd.read_csv(table / "table6.csv")
    iou = df[(df["column"] == "IoU") & ~df["reference_only"]].set_index("row")
    assert iou.loc[["Polyg-LSTM 5", "Polyg-CBM 2"], "reproduced"].isna().all()  # empty cells
    assert iou.drop(["Polyg-LSTM 5", "Polyg-CBM 2"])["reproduced"].notna().all()
    ref = pd.read_csv(local_sweep / "out" / "tables" / "deeprnn" / "table6.csv")
    ref_iou = ref[(ref["column"] == "IoU") & ~ref["reference_only"]].set_index("row")["reproduced"]
    assert (iou["reproduced"].drop(["Polyg-LSTM 5", "Polyg-CBM 2"])
            == ref_iou.drop(["Polyg-LSTM 5", "Polyg-CBM 2"])).all()
    missing = pd.read_csv(table / "table6.missing.csv")
    assert set(missing["row"]) == {"Polyg-LSTM 5", "Polyg-CBM 2"} and set(missing["state"]) == {"failed"}
