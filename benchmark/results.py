"""Result rows and curves of a grid of runs, read from their run directories (their files and what makes
a run done: ``benchmark.rundir``)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import RunConfig
from .rundir import FAILED_FILE, read_json, read_metrics, read_result, run_dir, run_status

def load_results(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    """One row per config: its labels, seed, status, final metrics, parameter counts, data source."""
    rows = []
    for cfg in cfgs:
        path = run_dir(runs_root, cfg)
        row = {**cfg.labels, "model": cfg.model, "seed": cfg.seed, "scale": cfg.scale,
               "run_dir": str(path), "status": run_status(path)}
        res = read_result(path) if row["status"] == "done" else None
        if res is not None:
            row.update({k: v for k, v in res["final"].items()})
            row.update(params_rnn=res.get("params_rnn"), params_total=res.get("params_total"),
                       skipped_files=res.get("skipped_files", 0),
                       dataset=res.get("dataset_source"),
                       fingerprint=json.dumps(res.get("dataset_fingerprint"), sort_keys=True))
        elif row["status"] == "failed":
            row["error"] = (read_json(path / FAILED_FILE) or {}).get("error", "(failed.json unreadable)")
        rows.append(row)
    return pd.DataFrame(rows)


def load_curves(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    """Per-epoch metrics of every run, tidy (one row per run and epoch), with the run's labels."""
    rows = []
    for cfg in cfgs:
        for m in read_metrics(run_dir(runs_root, cfg)):
            rows.append({**cfg.labels, "model": cfg.model, "seed": cfg.seed, **m})
    return pd.DataFrame(rows)
