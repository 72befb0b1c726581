"""Launching runs through submitit: ``debug`` (in this process), ``local`` (subprocesses on this
machine, the same code path as Slurm) or ``slurm`` (one job array per sweep).

Each submitit job is a ``RunJob``: a callable over one or more run configs that skips finished runs,
records a failure (exception or NaN) in the run's ``failed.json`` without stopping the others, and
whose ``checkpoint()`` resubmits itself so a preempted or timed-out job resumes from the run's last
checkpoint (FAIR's pattern). A job requeued from outside (``scontrol requeue``) simply runs again and
resumes from the same checkpoint.

Every run directory also gets ``attempts.jsonl``: one line per event (``submitted`` by the launcher with
the job id and submitit folder; ``started``/``finished``/``failed``/``checkpointed`` by the job; ``healed``
when a corrupt file was moved aside, ``benchmark.heal``). It is
how ``benchmark.status`` tells pending from running, counts requeues, and how a second launcher knows a
run is still in flight in a job submitted by a first one (that run is not submitted twice).

Numbers do not depend on the cluster: every run uses ``threads`` torch intra-op threads (1 unless a
profile says otherwise), whatever the executor, so ``--cluster local`` and ``--cluster slurm`` give the
same metrics for the same seeds.

One launcher per sweep: ``launch`` holds an exclusive ``fcntl.flock`` on ``<runs>/_locks/<experiment>.lock``
from planning to the end of submission (and of the wait), so two launchers of the same sweep never
submit the same run twice; the second one says which process holds it and waits.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import submitit
from tqdm.auto import tqdm

from .config import RunConfig, prerequisites
from .heal import ATTEMPTS_FILE, log_unlogged, move_aside, read_attempts, record  # noqa: F401 (re-exported)
from .rundir import (FAILED_FILE, RESULT_FILE, atomic_write_json, read_metrics, result_problem, run_dir, run_status,
                     write_config)

CLUSTERS = ("local", "debug", "slurm")
SLURM_DIR = Path(__file__).resolve().parents[1] / "slurm"

# profile key -> submitit parameter (AutoExecutor names; slurm_* only reach Slurm)
PROFILE_KEYS = {
    "partition": "slurm_partition", "gpus_per_node": "gpus_per_node", "cpus_per_task": "cpus_per_task",
    "mem_gb": "mem_gb", "timeout_min": "timeout_min", "account": "slurm_account", "qos": "slurm_qos",
    "array_parallelism": "slurm_array_parallelism", "setup": "slurm_setup", "nodes": "nodes",
    "tasks_per_node": "tasks_per_node", "signal_delay_s": "slurm_signal_delay_s",
    "additional": "slurm_additional_parameters", "max_num_timeout": "slurm_max_num_timeout",
    "constraint": "slurm_constraint", "exclude": "slurm_exclude",
}
PROFILE_OWN = {"threads", "name", "description"}  # keys the launcher itself reads


# ------------------------------------------------------------------------------------------ profiles
class ProfileError(ValueError):
    """A cluster profile that cannot be used; the message is one line naming the file, the key and the fix."""


# profile key -> (kind, smallest value); "str" keys also take null
PROFILE_TYPES = {
    "threads": ("int", 1), "gpus_per_node": ("int", 0), "cpus_per_task": ("int", 1), "mem_gb": ("num", 0),
    "timeout_min": ("int", 1), "array_parallelism": ("int", 1), "nodes": ("int", 1),
    "tasks_per_node": ("int", 1), "signal_delay_s": ("int", 0), "max_num_timeout": ("int", 0),
    "partition": ("str", None), "account": ("str", None), "qos": ("str", None), "constraint": ("str", None),
    "exclude": ("str", None), "name": ("str", None), "description": ("str", None),
    "setup": ("lines", None), "additional": ("map", None),
}


def _check_profile_value(key: str, value, where: str) -> None:
    kind, least = PROFILE_TYPES.get(key, (None, None))
    if value is None or kind is None:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "int" and not (number and float(value).is_integer() and value >= least):
        raise ProfileError(f"{where}: {key}: {value!r} is not a whole number >= {least}; "
                           f"write e.g. '{key}: {max(least, 1)}'")
    if kind == "num" and not (number and value > least):
        raise ProfileError(f"{where}: {key}: {value!r} is not a number > {least}; write e.g. '{key}: 4'")
    if kind == "str" and not isinstance(value, (str, int, float)):
        raise ProfileError(f"{where}: {key}: {value!r} is not a string; write e.g. '{key}: name'")
    if kind == "lines" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ProfileError(f"{where}: {key}: give a list of shell lines ('- module load cuda')")
    if kind == "map" and not isinstance(value, dict):
        raise ProfileError(f"{where}: {key}: give a mapping of sbatch options ('gres: gpu:1')")


def load_profile(name_or_path: str | None) -> dict:
    """A cluster profile: ``slurm/<NAME>.yaml`` or a YAML file path. ``None`` -> empty profile.

    Every key is checked here (known, of its type, in range); a bad one raises ``ProfileError`` (a one-line
    message with the fix), a missing file ``FileNotFoundError``."""
    if not name_or_path:
        return {}
    import yaml

    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = SLURM_DIR / f"{name_or_path}.yaml"
    known = sorted(p.stem for p in SLURM_DIR.glob("*.yaml"))
    if not path.exists():
        raise FileNotFoundError(f"no cluster profile {name_or_path!r} (looked for {path}); known: {', '.join(known)}")
    if not path.is_file():
        raise ProfileError(f"--profile {name_or_path}: {path} is not a file; give a YAML file or one of: "
                           f"{', '.join(known)}")
    try:
        prof = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or type(e).__name__
        raise ProfileError(f"{path}: not valid YAML{at} ({what}); write 'key: value' lines like "
                           f"{SLURM_DIR / 'local-cluster.yaml'}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"{path}: cannot be read ({type(e).__name__}: {e}); give a readable YAML file") from None
    prof = prof or {}
    if not isinstance(prof, dict):
        raise ProfileError(f"{path}: a profile is a mapping of 'key: value' lines, not a {type(prof).__name__}")
    unknown = set(prof) - set(PROFILE_KEYS) - PROFILE_OWN
    if unknown:
        raise ProfileError(f"{path}: unknown profile keys {sorted(map(str, unknown))}; "
                           f"use {sorted(set(PROFILE_KEYS) | PROFILE_OWN)}")
    for key, value in prof.items():
        _check_profile_value(key, value, str(path))
    prof.setdefault("name", path.stem)
    return prof


def slurm_problem(env: dict | None = None, timeout: float = 15) -> str | None:
    """Why ``--cluster slurm`` cannot submit from here (None: the controller answers ``scontrol ping`` and
    ``sinfo`` lists a partition, with the environment the jobs get)."""
    env = dict(os.environ if env is None else env)
    how = ("start one with 'bash slurm/local-cluster.sh up' and export its environment "
           "(eval \"$(bash slurm/local-cluster.sh env)\": SLURM_CONF and PATH), or use --cluster local")
    for tool in ("sbatch", "scontrol", "sinfo"):
        if not shutil.which(tool, path=env.get("PATH")):
            return f"--cluster slurm: no '{tool}' on PATH, so no Slurm to submit to; {how}"
    for cmd in (["scontrol", "ping"], ["sinfo", "-h", "-o", "%P %a"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"--cluster slurm: '{' '.join(cmd)}' did not answer ({type(e).__name__}); {how}"
        text = (out.stdout + out.stderr).strip()
        if out.returncode != 0 or "DOWN" in text or not text:
            first = (text.splitlines() or ["no output"])[0][:120]
            return f"--cluster slurm: '{' '.join(cmd)}' says: {first}; {how}"
    return None


def executor_parameters(profile: dict, cluster: str, *, timeout_min: int, name: str, threads: int) -> dict:
    params = {"timeout_min": timeout_min, "cpus_per_task": threads, "name": name}
    for key, value in profile.items():
        if key in PROFILE_OWN or value is None:
            continue
        sub = PROFILE_KEYS[key]
        if sub.startswith("slurm_") and cluster != "slurm":
            continue
        params[sub] = value
    if cluster == "slurm":
        # a job whose time runs out is signalled (USR2) this long before; submitit then requeues it
        params.setdefault("slurm_signal_delay_s", 30)
    return params


# ------------------------------------------------------------------------------------------ attempts
def slurm_queue() -> dict[str, tuple[str, str]]:
    """Live Slurm jobs: id (``A_T`` for array tasks) -> (state, command). Empty without Slurm."""
    if not shutil.which("squeue"):
        return {}
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i|%T|%o"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    jobs = {}
    for line in out.stdout.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3:
            jobs[parts[0]] = (parts[1], parts[2])
    return jobs


def _pid_alive(pid) -> bool:
    """A local submitit job (its id is the pid of submitit's controller) that is still alive."""
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    try:  # a recycled pid is some other program
        return b"submitit" in Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except OSError:
        return True


def job_state(sub: dict, queue: dict | None = None) -> str | None:
    """State of the job of a ``submitted`` record if it is still alive (PENDING/RUNNING/...), else None."""
    cluster, job_id = sub.get("cluster"), str(sub.get("job_id"))
    if cluster == "slurm":
        queue = slurm_queue() if queue is None else queue
        state, command = queue.get(job_id, (None, ""))
        folder = sub.get("folder") or ""
        if state and folder and folder not in command:  # job ids restart when Slurm's state is wiped
            return None
        return state
    if cluster == "local":
        return "RUNNING" if sub.get("host") == socket.gethostname() and _pid_alive(job_id) else None
    return None


def in_flight(path: Path, queue: dict | None = None) -> dict | None:
    """The last ``submitted`` record of a run whose job is still alive, with its ``state``; else None."""
    subs = [a for a in read_attempts(path) if a["event"] == "submitted"]
    if not subs:
        return None
    state = job_state(subs[-1], queue)
    return {**subs[-1], "state": state} if state else None


# ------------------------------------------------------------------------------------------ the job
def _job_env() -> dict:
    try:
        env = submitit.JobEnvironment()
        return {"job_id": env.job_id, "global_rank": env.global_rank, "num_tasks": env.num_tasks,
                "host": env.hostname}
    except RuntimeError:  # not inside a submitit job (debug executor, or called directly)
        return {"job_id": None, "global_rank": 0, "num_tasks": 1, "host": socket.gethostname()}


class RunJob:
    """A checkpointable submitit job running ``items`` = [(config dict, run dir), ...] in order."""

    def __init__(self, items: list[tuple[dict, str]], threads: int = 1, progress: bool = False,
                 packs: list[list[int]] | tuple = ()):
        """``packs``: lists of indices into ``items``, the seeds of one configuration to train as one
        seed-batched model (``benchmark.train.seed_batch``) before the rest; a pack that fails or is
        already started is trained seed by seed by the usual loop."""
        self.items, self.threads, self.progress, self.packs = items, threads, progress, [list(p) for p in packs]

    def __call__(self) -> list[str]:
        from .train.loop import run_training

        env = _job_env()
        dist = None
        if env["num_tasks"] > 1:  # one run over several tasks/GPUs/nodes: torch DDP
            from .distributed import init_from_submitit

            dist = init_from_submitit()
        main = env["global_rank"] == 0
        if dist is None:
            for pack in self.packs:
                self._train_pack([self.items[i] for i in pack], env)
        statuses = []
        for cfg_dict, path in self.items:
            path = Path(path)
            if run_status(path) == "done":
                statuses.append("done")
                continue
            cfg = RunConfig.from_dict({**cfg_dict, "threads": self.threads})
            if main:
                record(path, "started", job_id=env["job_id"], host=env["host"], pid=os.getpid(),
                       tasks=env["num_tasks"])
                problem = result_problem(path)
                if problem:  # a result that is cut or whose checkpoint/metrics are gone: trained (or rebuilt) again
                    move_aside(path / RESULT_FILE, problem, run=path)
            try:
                run_training(cfg, path, progress=self.progress, dist=dist)
                if main:
                    log_unlogged(path)
                    if (path / FAILED_FILE).exists():
                        (path / FAILED_FILE).unlink()
                    record(path, "finished", job_id=env["job_id"])
                statuses.append("done")
            except Exception as exc:  # recorded, never stops the other runs
                if main:
                    log_unlogged(path)
                    atomic_write_json(path / FAILED_FILE, {"error": f"{type(exc).__name__}: {exc}",
                                                           "traceback": traceback.format_exc(),
                                                           "job_id": env["job_id"]})
                    record(path, "failed", job_id=env["job_id"], error=f"{type(exc).__name__}: {exc}")
                statuses.append("failed")
        if dist is not None:
            dist.close()
        return statuses

    def _train_pack(self, items: list[tuple[dict, str]], env: dict) -> None:
        """The seeds trained as one batched model; on any problem they are left to the seed-by-seed loop."""
        from .rundir import CHECKPOINT_FILE
        from .train.seed_batch import train_seeds_batched

        paths = [Path(p) for _, p in items]
        if any(run_status(p) == "done" or (p / CHECKPOINT_FILE).exists() or (p / RESULT_FILE).exists()
               for p in paths):
            return
        cfgs = [RunConfig.from_dict({**c, "threads": self.threads}) for c, _ in items]
        for p in paths:
            record(p, "started", job_id=env["job_id"], host=env["host"], pid=os.getpid(), tasks=1,
                   seed_batched=len(paths))
        try:
            train_seeds_batched(cfgs, paths, progress=self.progress)
        except Exception as exc:  # the loop below trains (or resumes) each seed alone
            for p in paths:
                record(p, "pack-failed", job_id=env["job_id"], error=f"{type(exc).__name__}: {exc}")
            return
        for p in paths:
            log_unlogged(p)
            if (p / FAILED_FILE).exists():
                (p / FAILED_FILE).unlink()
            record(p, "finished", job_id=env["job_id"])

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on preemption/time-out: the same job again; runs resume from checkpoint.pt."""
        env = _job_env()
        for _, path in self.items:
            if run_status(Path(path)) != "done" and env["global_rank"] == 0:
                record(path, "checkpointed", job_id=env["job_id"])
        return submitit.helpers.DelayedSubmission(RunJob(self.items, self.threads, self.progress, self.packs))


# ------------------------------------------------------------------------------------------ planning
def _cost(unit: list[RunConfig]) -> float:
    return sum(float(c.labels.get("cost", 1.0)) for c in unit)


def _balance(units: list[list[RunConfig]], n_jobs: int) -> list[list[list[RunConfig]]]:
    """Greedy longest-first assignment of units (a run, or a pack of seeds trained together) to jobs by
    their estimated cost (labels['cost'])."""
    jobs: list[list[list[RunConfig]]] = [[] for _ in range(n_jobs)]
    load = [0.0] * n_jobs
    for unit in sorted(units, key=lambda u: -_cost(u)):
        i = load.index(min(load))
        jobs[i].append(unit)
        load[i] += _cost(unit)
    return [j for j in jobs if j]


def seed_units(todo: list[RunConfig], runs_root: Path, seed_batching: str = "auto") -> list[list[RunConfig]]:
    """``todo`` as units: the fresh seeds of one configuration as one pack where ``seed_batching`` says so
    ("on"; "auto": where ``tables/perf/seeds.csv`` measured it faster, ``seed_batch.pack_rule``; "off":
    never), every other run alone. A seed with a checkpoint is never packed (it resumes alone)."""
    if seed_batching not in SEED_BATCHING:
        raise ValueError(f"seed_batching={seed_batching!r}: use one of {SEED_BATCHING}")
    if seed_batching == "off":
        return [[c] for c in todo]
    from .rundir import CHECKPOINT_FILE
    from .train.seed_batch import batch_problem, pack_rule, seed_packs

    units = []
    for pack in seed_packs(todo):
        fresh = [c for c in pack if not (run_dir(runs_root, c) / CHECKPOINT_FILE).exists()]
        if len(fresh) >= 2 and batch_problem(fresh) is None and (seed_batching == "on" or pack_rule(fresh[0])):
            units.append(fresh)
            units += [[c] for c in pack if c not in fresh]
        else:
            units += [[c] for c in pack]
    return units


@dataclass
class Plan:
    cluster: str
    profile: dict
    threads: int
    done: list[RunConfig] = field(default_factory=list)
    running: list[tuple[RunConfig, dict]] = field(default_factory=list)  # in flight in an earlier job
    todo: list[RunConfig] = field(default_factory=list)
    groups: list[list[RunConfig]] = field(default_factory=list)  # one submitit job each
    packs: list[list[list[int]]] = field(default_factory=list)  # per group: indices trained seed-batched
    params: dict = field(default_factory=dict)

    def describe(self, runs_root: Path) -> str:
        lines = [f"cluster: {self.cluster}" + (f" (profile {self.profile.get('name')})" if self.profile else ""),
                 f"runs: {len(self.done) + len(self.running) + len(self.todo)} in all: {len(self.done)} done, "
                 f"{len(self.running)} in flight, {len(self.todo)} to submit"]
        if self.groups:
            kind = "one job array" if self.cluster == "slurm" else "jobs"
            lines.append(f"submission: {kind} of {len(self.groups)} job(s), "
                         f"{max(len(g) for g in self.groups)} run(s) per job at most")
            res = {k: v for k, v in self.params.items() if k != "name"}
            lines.append("resources per job: " + ", ".join(f"{k}={v}" for k, v in sorted(res.items())))
            lines.append(f"torch threads per run: {self.threads}")
            n_packed = sum(len(pk) for g in self.packs for pk in g)
            if n_packed:
                lines.append(f"seed batching: {n_packed} runs in {sum(len(g) for g in self.packs)} pack(s) "
                             "trained as one stacked model each")
        for cfg in self.done:
            lines.append(f"  done     {_label(cfg)}  {run_dir(runs_root, cfg)}")
        for cfg, sub in self.running:
            lines.append(f"  inflight {_label(cfg)}  job {sub['job_id']} ({sub['state']})")
        for i, g in enumerate(self.groups):
            for cfg in g:
                lines.append(f"  submit   {_label(cfg)}  job {i}")
        return "\n".join(lines)


def _label(cfg: RunConfig) -> str:
    row = cfg.labels.get("row", cfg.model)
    return f"{row:<16} seed {cfg.seed}"


def plan(cfgs: list[RunConfig], runs_root: Path, cluster: str = "local", *, profile: dict | None = None,
         max_parallel: int | None = None, timeout_min: int | None = None, seed_batching: str = "auto") -> Plan:
    """What a launch would do; touches nothing on disk."""
    if cluster not in CLUSTERS:
        raise ValueError(f"unknown cluster {cluster!r}; use one of {CLUSTERS}")
    profile = dict(profile or {})
    threads = int(profile.get("threads") or 1)
    if threads < 1 or (max_parallel is not None and max_parallel < 1):
        raise ValueError(f"threads={threads}, max_parallel={max_parallel}: both must be at least 1")
    p = Plan(cluster, profile, threads)
    queue = slurm_queue() if cluster == "slurm" else {}
    for cfg in cfgs:
        path = run_dir(runs_root, cfg)
        if run_status(path) == "done":
            p.done.append(cfg)
        elif (sub := in_flight(path, queue)) is not None:
            p.running.append((cfg, sub))
        else:
            p.todo.append(cfg)
    if p.todo:
        units = seed_units(p.todo, runs_root, seed_batching)
        if cluster == "slurm":
            jobs = [[u] for u in units]  # one array task per run (or per pack of seeds)
        else:
            cpus = os.cpu_count() or 1
            jobs = _balance(units, min(len(units), max_parallel or max(1, cpus // threads)))
        p.groups = [[c for u in job for c in u] for job in jobs]
        for job in jobs:
            packs, at = [], 0
            for u in job:
                if len(u) > 1:
                    packs.append(list(range(at, at + len(u))))
                at += len(u)
            p.packs.append(packs)
        tmin = timeout_min or int(profile.get("timeout_min", 60 * 24))
        p.params = executor_parameters(profile, cluster, timeout_min=tmin, name=cfgs[0].experiment,
                                       threads=threads)
    return p


# ------------------------------------------------------------------------------------------ launching
def launch(cfgs: list[RunConfig], runs_root: Path, cluster: str = "local", *, max_parallel: int | None = None,
           timeout_min: int | None = None, wait: bool = True, progress: bool = True,
           profile: dict | None = None, seed_batching: str = "auto", name: str | None = None) -> dict[str, int]:
    """Submit every config that has no result and is not in flight; wait for them unless told not to.
    ``name``: what the progress bar calls the sweep (default: the experiments of ``cfgs``).

    The run graph: a run that starts from another (``config.prerequisites``: a fine-tuning run's
    pre-training run) is submitted once that one has finished (``run_waves``; the other is trained first,
    pulled in if not asked for). Without waiting, only the first wave is submitted (``deferred``: the rest).

    Returns counts by final status plus ``submitted``. Finished runs are never resubmitted or touched.
    """
    runs_root = Path(runs_root)
    waves = run_waves(cfgs, runs_root)
    every = [c for wave in waves for c in wave]
    name = name or "+".join(dict.fromkeys(c.experiment for c in cfgs))
    counts: dict[str, int] = {}
    with sweep_lock(runs_root, [c.experiment for c in every]):
        for i, wave in enumerate(waves):  # a wave starts once the runs it starts from have finished
            if i and not wait:
                later = sum(len(w) for w in waves[i:])
                print(f"{later} run(s) start from runs not done yet; launch again once those have finished",
                      file=sys.stderr)
                counts["deferred"] = later
                break
            if i:  # a run whose prerequisite failed is not started: it fails in one line naming that run
                wave = [c for c in wave if not _blocked(c, runs_root)]
                if not wave:
                    continue
            got = _launch(wave, runs_root, cluster, max_parallel=max_parallel, timeout_min=timeout_min, wait=wait,
                          progress=progress, profile=profile, seed_batching=seed_batching,
                          name=name if len(waves) == 1 else f"{name} ({i + 1}/{len(waves)})")
            for k, v in got.items():
                counts[k] = counts.get(k, 0) + v
    if wait:  # counts by final status of the configs asked for (the prerequisites they pulled in aside)
        counts = {"submitted": counts.get("submitted", 0)}
        for cfg in cfgs:
            s = run_status(run_dir(runs_root, cfg))
            counts[s] = counts.get(s, 0) + 1
    return counts


def describe_plan(cfgs: list[RunConfig], runs_root: Path, cluster: str = "local", **plan_kw) -> str:
    """What a launch would do, wave by wave when some runs start from others (``run_waves``); touches
    nothing on disk."""
    waves = run_waves(cfgs, runs_root)
    if len(waves) == 1:
        return plan(waves[0], runs_root, cluster, **plan_kw).describe(runs_root)
    return "\n".join(f"wave {i + 1}/{len(waves)}" + (" (once the wave before has finished)" if i else "") + ":\n"
                     + plan(w, runs_root, cluster, **plan_kw).describe(runs_root) for i, w in enumerate(waves))


def _blocked(cfg: RunConfig, runs_root: Path) -> bool:
    """Whether a prerequisite of ``cfg`` did not finish; if so ``cfg``'s run is marked failed with one line
    (the next launch retries the prerequisite, then it)."""
    if run_status(run_dir(runs_root, cfg)) == "done":  # never touch a finished run
        return False
    for pre in prerequisites(cfg):
        pre_dir = run_dir(runs_root, pre)
        if run_status(pre_dir) != "done":
            path = run_dir(runs_root, cfg)
            write_config(path, cfg)
            error = f"not started: its pre-training run {pre_dir} is {run_status(pre_dir)}; launch again to retry it"
            atomic_write_json(path / FAILED_FILE, {"error": error, "traceback": "", "job_id": None})
            record(path, "failed", error=error)
            return True
    return False


def run_waves(cfgs: list[RunConfig], runs_root: Path) -> list[list[RunConfig]]:
    """The run graph in launch order: ``cfgs`` and the unfinished runs they start from
    (``config.prerequisites``, pulled in when not asked for), in waves; a run is in the wave after the last
    of its unfinished prerequisites (finished ones impose nothing). One wave when no run waits for another."""
    depth: dict[Path, int] = {}
    by_path: dict[Path, RunConfig] = {}

    def visit(cfg: RunConfig, seen: tuple = ()) -> int:
        path = run_dir(runs_root, cfg)
        if path in seen:
            raise ValueError(f"{cfg.experiment} ({cfg.model}): its prerequisites lead back to itself")
        if path not in depth:
            by_path[path] = cfg
            pending = [] if run_status(path) == "done" else [  # a finished run waits for nothing
                p for p in prerequisites(cfg) if run_status(run_dir(runs_root, p)) != "done"]
            depth[path] = 1 + max((visit(p, (*seen, path)) for p in pending), default=-1)
        return depth[path]

    for cfg in cfgs:
        visit(cfg)
    waves = [[] for _ in range(1 + max(depth.values(), default=0))]
    for path, d in depth.items():
        waves[d].append(by_path[path])
    return [w for w in waves if w]


LOCKS_DIR = "_locks"
SEED_BATCHING = ("auto", "on", "off")


@contextmanager
def sweep_lock(runs_root: Path, experiments: list[str], wait: bool = True):
    """Hold ``<runs>/_locks/<experiment>.lock`` (``fcntl.flock``, exclusive) for every experiment named,
    in sorted order; the kernel releases them on exit or kill. A lock held by another launcher is named
    (its pid, host and start) on stderr and waited for (``wait=False``: ``BlockingIOError``)."""
    folder = Path(runs_root) / LOCKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    held = []
    try:
        for exp in sorted(set(experiments)):
            path = folder / f"{exp}.lock"
            f = open(path, "a+")
            held.append(f)
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another launcher"
                if not wait:
                    raise BlockingIOError(f"{exp}: {holder} holds {path}") from None
                print(f"{exp}: another launcher ({holder}) holds {path}; waiting for it to finish",
                      file=sys.stderr, flush=True)
                fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()} on {socket.gethostname()} since "
                    f"{datetime.now().isoformat(timespec='seconds')}\n")
            f.flush()
        yield
    finally:
        for f in reversed(held):
            f.close()  # releases the lock


def _launch(cfgs: list[RunConfig], runs_root: Path, cluster: str, *, max_parallel: int | None,
            timeout_min: int | None, wait: bool, progress: bool, profile: dict | None,
            seed_batching: str = "auto", name: str = "") -> dict[str, int]:
    p = plan(cfgs, runs_root, cluster, profile=profile, max_parallel=max_parallel, timeout_min=timeout_min,
             seed_batching=seed_batching)
    for cfg in cfgs:
        write_config(run_dir(runs_root, cfg), cfg)
    if not p.todo and not p.running:
        return {"done": len(cfgs), "submitted": 0}

    jobs: list[tuple[submitit.Job, list[Path]]] = []
    if p.todo:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        folder = runs_root / "_submitit" / cfgs[0].experiment / stamp  # own folder: Slurm ids may restart
        params = dict(p.params)
        max_timeouts = params.pop("slurm_max_num_timeout", 3)  # an executor argument, not a job parameter
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster, slurm_max_num_timeout=max_timeouts)
        executor.update_parameters(**params)
        with executor.batch():
            pending_jobs = []
            for group, packs in zip(p.groups, p.packs):
                items = [(c.to_dict(), str(run_dir(runs_root, c))) for c in group]
                job = executor.submit(RunJob(items, p.threads, progress=progress and cluster == "debug",
                                             packs=packs))
                pending_jobs.append((job, [Path(i[1]) for i in items]))
        for job, paths in pending_jobs:  # ids are known once the batch is submitted
            for path in paths:
                record(path, "submitted", cluster=cluster, job_id=str(job.job_id),
                       folder=str(folder.resolve()), host=socket.gethostname())
        jobs = pending_jobs
    if not wait:
        return {"submitted": len(p.todo), "in_flight": len(p.running)}

    waited = list(p.todo) + [c for c, _ in p.running]
    paths = [run_dir(runs_root, c) for c in waited]
    epochs = [c.epochs for c in waited]
    others = [run_dir(runs_root, c) for c, _ in p.running]

    def show(bar) -> None:
        """The bar counts epochs (it moves during long runs), its postfix finished runs."""
        done, n = 0, 0
        for q, e in zip(paths, epochs):
            if run_status(q) != "pending":
                done, n = done + e, n + 1
            else:
                done += min(len(read_metrics(q)), e)
        if done != bar.n:  # redraw on progress only (the elapsed clock still ticks in a terminal)
            bar.n = done
            bar.set_postfix_str(f"runs {n}/{len(paths)}", refresh=False)
            bar.refresh()

    with tqdm(total=sum(epochs), desc=f"{name} epochs", disable=not progress) as bar:
        if cluster == "debug":
            for job, _ in jobs:
                _result(job, [])
                show(bar)
        while True:
            queue = slurm_queue() if cluster == "slurm" else {}
            busy = [j for j, _ in jobs if not j.done()]
            waiting = [q for q in others if run_status(q) == "pending" and in_flight(q, queue) is not None]
            show(bar)
            if not busy and not waiting:
                break
            time.sleep(1.0 if cluster == "slurm" else 0.5)
        for job, job_paths in jobs:
            _result(job, job_paths)
        show(bar)
    counts: dict[str, int] = {}
    for cfg in cfgs:
        s = run_status(run_dir(runs_root, cfg))
        counts[s] = counts.get(s, 0) + 1
    counts["submitted"] = len(p.todo)
    return counts


def _result(job, paths: list[Path]) -> None:
    """Collect a job; a crash of the job itself (killed, cancelled, out of memory) fails its unfinished runs."""
    try:
        job.result()
    except Exception as exc:  # never stops the others
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        for path in paths:
            if run_status(path) == "pending":
                atomic_write_json(path / FAILED_FILE, {"error": f"job {job.job_id} ended without a result: {last}",
                                                       "traceback": str(exc), "job_id": str(job.job_id)})
                record(path, "failed", job_id=str(job.job_id), error=last)
