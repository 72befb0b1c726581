"""Run directories and result rows.

    <runs>/<experiment>/<config hash>/config.json     the resolved config (written before launch)
                                      metrics.jsonl   one line per epoch
                                      checkpoint.pt   last complete epoch (resumable)
                                      result.json     written once, atomically, when the run is done
                                      failed.json     error and traceback of a failed attempt
                                      attempts.jsonl  one line per event (benchmark.launch, benchmark.heal)

A run is done only when its ``result.json`` parses and holds its fields, its ``checkpoint.pt`` is a whole
archive and ``metrics.jsonl`` holds every epoch; anything less counts as unfinished, and the next launch heals it (``benchmark.heal``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .config import RunConfig, config_hash
from .heal import note_heal
from .train.checkpoint import atomic_write_json, checkpoint_intact
from .train.loop import CHECKPOINT_FILE, METRICS_FILE, RESULT_FILE, read_metrics

FAILED_FILE, CONFIG_FILE = "failed.json", "config.json"


def run_dir(runs_root: Path, cfg: RunConfig) -> Path:
    return Path(runs_root) / cfg.experiment / config_hash(cfg)


def write_config(path: Path, cfg: RunConfig) -> None:
    """``config.json`` of the run, written once; one that no longer parses is written again."""
    if read_json(path / CONFIG_FILE) is None:
        if (path / CONFIG_FILE).exists():
            note_heal(path, CONFIG_FILE, "did not parse: written again from the run's config")
        atomic_write_json(path / CONFIG_FILE, cfg.to_dict())


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None when it is missing, cut short, garbage or not an object."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError):  # ValueError: JSONDecodeError and undecodable bytes
        return None
    return obj if isinstance(obj, dict) else None


def read_result(path: Path) -> dict | None:
    """The run's result when it is whole (status done, final metrics of an epoch); else None."""
    res = read_json(Path(path) / RESULT_FILE)
    if res is None or res.get("status") != "done":
        return None
    final = res.get("final")
    if not isinstance(final, dict) or not isinstance(final.get("epoch"), int):
        return None
    return res


def result_problem(path: Path) -> str | None:
    """Why a run with a ``result.json`` does not count as done (None: it does, or it has none)."""
    path = Path(path)
    if not (path / RESULT_FILE).exists():
        return None
    if read_result(path) is None:
        return f"{RESULT_FILE} is cut short, garbage or lacks its fields"
    if not checkpoint_intact(path / CHECKPOINT_FILE):
        return f"{CHECKPOINT_FILE} is " + ("missing" if not (path / CHECKPOINT_FILE).exists() else "corrupt")
    epochs = read_result(path)["final"]["epoch"]
    if [r["epoch"] for r in read_metrics(path)] != list(range(1, epochs + 1)):
        return f"{METRICS_FILE} lacks some of epochs 1..{epochs}"
    return None


def run_status(path: Path) -> str:
    """done (a whole result and checkpoint), failed (failed.json) or pending (a rerun trains or heals it)."""
    path = Path(path)
    if (path / RESULT_FILE).exists() and result_problem(path) is None:
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
