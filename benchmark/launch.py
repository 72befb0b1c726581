"""Launching runs through submitit: ``debug`` (in this process), ``local`` (subprocesses on this
machine, the same code path as Slurm) or ``slurm``.

Each submitit job is a ``RunJob``: a callable over one or more run configs that skips finished runs,
records a failure (exception or NaN) in the run's ``failed.json`` without stopping the others, and
whose ``checkpoint()`` resubmits itself so a preempted or timed-out job resumes from the run's last
checkpoint (FAIR's pattern).
"""
from __future__ import annotations

import os
import time
import traceback
from datetime import datetime
from pathlib import Path

import submitit
from tqdm.auto import tqdm

from .config import RunConfig
from .results import FAILED_FILE, run_dir, run_status, write_config
from .train.checkpoint import atomic_write_json

CLUSTERS = ("local", "debug", "slurm")


class RunJob:
    """A checkpointable submitit job running ``items`` = [(config dict, run dir), ...] in order."""

    def __init__(self, items: list[tuple[dict, str]], threads: int = 1, progress: bool = False):
        self.items, self.threads, self.progress = items, threads, progress

    def __call__(self) -> list[str]:
        from .train.loop import run_training

        statuses = []
        for cfg_dict, path in self.items:
            path = Path(path)
            if run_status(path) == "done":
                statuses.append("done")
                continue
            cfg = RunConfig.from_dict({**cfg_dict, "threads": self.threads})
            try:
                run_training(cfg, path, progress=self.progress)
                if (path / FAILED_FILE).exists():
                    (path / FAILED_FILE).unlink()
                statuses.append("done")
            except Exception as exc:  # recorded, never stops the other runs
                atomic_write_json(path / FAILED_FILE, {"error": f"{type(exc).__name__}: {exc}",
                                                       "traceback": traceback.format_exc()})
                statuses.append("failed")
        return statuses

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        return submitit.helpers.DelayedSubmission(RunJob(self.items, self.threads, self.progress))


def _balance(cfgs: list[RunConfig], n_jobs: int) -> list[list[RunConfig]]:
    """Greedy longest-first assignment of runs to jobs by their estimated cost (labels['cost'])."""
    jobs: list[list[RunConfig]] = [[] for _ in range(n_jobs)]
    load = [0.0] * n_jobs
    for cfg in sorted(cfgs, key=lambda c: -float(c.labels.get("cost", 1.0))):
        i = load.index(min(load))
        jobs[i].append(cfg)
        load[i] += float(cfg.labels.get("cost", 1.0))
    return [j for j in jobs if j]


def launch(cfgs: list[RunConfig], runs_root: Path, cluster: str = "local", *, max_parallel: int | None = None,
           timeout_min: int = 60 * 24, wait: bool = True, progress: bool = True) -> dict[str, int]:
    """Submit every config that has no result yet; wait for them (with a progress bar) unless told not to.

    Returns counts by final status. Finished runs are never resubmitted or touched.
    """
    if cluster not in CLUSTERS:
        raise ValueError(f"unknown cluster {cluster!r}; use one of {CLUSTERS}")
    runs_root = Path(runs_root)
    pending = []
    for cfg in cfgs:
        path = run_dir(runs_root, cfg)
        write_config(path, cfg)
        if run_status(path) != "done":
            pending.append(cfg)
    if not pending:
        return {"done": len(cfgs), "submitted": 0}

    cpus = os.cpu_count() or 1
    if cluster == "slurm":
        groups, threads = [[c] for c in pending], 1
    else:
        n_jobs = min(len(pending), max_parallel or cpus)
        groups, threads = _balance(pending, n_jobs), max(1, cpus // n_jobs)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    folder = runs_root / "_submitit" / cfgs[0].experiment / stamp
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(timeout_min=timeout_min, cpus_per_task=threads, name=cfgs[0].experiment)
    jobs = []
    with executor.batch():
        for group in groups:
            items = [(c.to_dict(), str(run_dir(runs_root, c))) for c in group]
            jobs.append(executor.submit(RunJob(items, threads, progress=progress and cluster == "debug")))
    if not wait:
        return {"submitted": len(pending)}

    paths = [run_dir(runs_root, c) for c in pending]
    with tqdm(total=len(pending), desc=f"{cfgs[0].experiment} runs", disable=not progress) as bar:
        if cluster == "debug":
            for job in jobs:
                job.result()
                bar.n = sum(run_status(p) != "pending" for p in paths)
                bar.refresh()
        else:
            while not all(j.done() for j in jobs):
                bar.n = sum(run_status(p) != "pending" for p in paths)
                bar.refresh()
                time.sleep(0.5)
            for job in jobs:
                job.result()  # re-raises a crash of the job itself (not of a run: those are recorded)
        bar.n = sum(run_status(p) != "pending" for p in paths)
        bar.refresh()
    counts: dict[str, int] = {}
    for cfg in cfgs:
        s = run_status(run_dir(runs_root, cfg))
        counts[s] = counts.get(s, 0) + 1
    return counts
