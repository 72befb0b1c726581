"""Run directories and result rows.

    <runs>/<experiment>/<config hash>/config.json     the resolved config (written before launch)
                                      metrics.jsonl   one line per epoch
                                      checkpoint.pt   last complete epoch (resumable)
                                      result.json     written once, atomically, when the run is done
                                      failed.json     error and traceback of a failed attempt
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import RunConfig, config_hash
from .train.checkpoint import atomic_write_json
from .train.loop import RESULT_FILE, read_metrics

FAILED_FILE, CONFIG_FILE = "failed.json", "config.json"


def run_dir(runs_root: Path, cfg: RunConfig) -> Path:
    return Path(runs_root) / cfg.experiment / config_hash(cfg)


def write_config(path: Path, cfg: RunConfig) -> None:
    if not (path / CONFIG_FILE).exists():
        atomic_write_json(path / CONFIG_FILE, cfg.to_dict())


def run_status(path: Path) -> str:
    if (path / RESULT_FILE).exists():
        return "done"
    if (path / FAILED_FILE).exists():
        return "failed"
    return "pending"


def load_results(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    """One row per config: its labels, seed, status, final metrics, parameter counts, data source."""
    rows = []
    for cfg in cfgs:
        path = run_dir(runs_root, cfg)
        row = {**cfg.labels, "model": cfg.model, "seed": cfg.seed, "scale": cfg.scale,
               "run_dir": str(path), "status": run_status(path)}
        if row["status"] == "done":
            res = json.loads((path / RESULT_FILE).read_text())
            row.update({k: v for k, v in res["final"].items()})
            row.update(params_rnn=res.get("params_rnn"), params_total=res.get("params_total"),
                       skipped_files=res.get("skipped_files", 0),
                       dataset=res.get("dataset_source"),
                       fingerprint=json.dumps(res.get("dataset_fingerprint"), sort_keys=True))
        elif row["status"] == "failed":
            err = json.loads((path / FAILED_FILE).read_text())
            row["error"] = err.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def load_curves(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    """Per-epoch metrics of every run, tidy (one row per run and epoch), with the run's labels."""
    rows = []
    for cfg in cfgs:
        for m in read_metrics(run_dir(runs_root, cfg)):
            rows.append({**cfg.labels, "model": cfg.model, "seed": cfg.seed, **m})
    return pd.DataFrame(rows)
