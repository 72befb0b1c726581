"""The ground floor of a run's files: their names, paths and atomic writes, reading what a run left
(config, metrics, result, weights-only checkpoints) and its status. Imports nothing of the harness but the
config and the heal log, so every layer (trainer, launcher, tables) can use it.

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
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .config import RunConfig, config_hash
from .heal import note_heal

METRICS_FILE, RESULT_FILE, CHECKPOINT_FILE = "metrics.jsonl", "result.json", "checkpoint.pt"
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



# ---------------------------------------------------------------- atomic writes (write a temp file, then os.replace)
def atomic_write_bytes(path: Path, writer) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode()))


def rewrite_marked_block(path: Path, begin: str, end: str, body: str) -> bool:
    """Replace what lies between the markers ``begin`` and ``end`` of the text file ``path`` (both markers
    included) by ``body``, atomically; False (nothing written) when the file lacks either marker."""
    text = Path(path).read_text()
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    atomic_write_text(Path(path), head + body + rest.split(end, 1)[1])
    return True


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True, default=str).encode()))


# ---------------------------------------------------------------- metrics
def read_metrics(run_dir: Path) -> list[dict]:
    """One row per epoch, in epoch order; a line cut by a crash or not a metrics row is skipped, and an
    epoch written twice (files from before the atomic rewrite) counts once, its last line."""
    path = Path(run_dir) / METRICS_FILE
    try:
        text = path.read_text(errors="replace")
    except OSError:  # missing, or not a file
        return []
    rows: dict[int, dict] = {}
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("epoch"), int):
            rows[row["epoch"]] = row
    return [rows[e] for e in sorted(rows)]


def write_metrics(run_dir: Path, history: list[dict]) -> None:
    atomic_write_text(Path(run_dir) / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in history))


# ---------------------------------------------------------------- checkpoints, loaded as weights only
class CheckpointError(ValueError):
    """A checkpoint or cached state dict that does not load as weights only (cut, garbage, or a pickle that
    would run code); the message is one line naming the file."""


def _numpy_rng_globals() -> list:
    """What the numpy RNG state of checkpoints written before ``rng_state`` stored tensors unpickles:
    a uint32 array (no code runs; object arrays stay refused)."""
    core = getattr(np, "_core", None) or np.core
    found = [core.multiarray._reconstruct, np.ndarray, np.dtype]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles the dtype's class too
    if dtypes is not None:
        found.append(dtypes.UInt32DType)
    return found


def safe_load(path: Path) -> dict:
    """``torch.load(path, weights_only=True)`` (tensors, containers, numbers, strings and the numpy RNG
    state of older checkpoints), on the CPU; anything else raises ``CheckpointError``, nothing executes."""
    import torch

    path = Path(path)
    allow = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5
    try:
        if allow is None:
            return torch.load(path, map_location="cpu", weights_only=True)
        with allow(_numpy_rng_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # UnpicklingError (refused global), RuntimeError (cut zip), EOFError, ...
        text = str(e)
        why = f"{type(e).__name__}: " + (text.strip().splitlines() or [""])[0]
        refused = re.search(r"GLOBAL ([\w.]+)", text)
        if refused:  # what the pickle asked for, never imported or called
            why = f"refused, it would call {refused.group(1)} (not weights only)"
        raise CheckpointError(f"{path} does not load as weights only: {why}"[:300]) from None


def load_checkpoint(path: Path) -> dict | None:
    """The checkpoint at ``path`` (``safe_load``), or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    return safe_load(path)


def read_checkpoint(path: Path) -> dict:
    """The checkpoint of a finished run (``safe_load``); a missing one raises ``CheckpointError`` too."""
    if not Path(path).exists():
        raise CheckpointError(f"{path} is missing: rerun the experiment to retrain that run")
    return safe_load(path)


_INTACT: dict[tuple, bool] = {}  # (path, device, inode, size, mtime_ns, ctime_ns) -> verdict


def checkpoint_intact(path: Path) -> bool:
    """Cheap check (no unpickling) that ``path`` is a whole torch zip archive: catches a cut, empty or
    garbage file. The verdict is remembered per file version: any write, replace or truncation changes
    the inode, size, mtime or ctime (ctime cannot be set back), so a changed file is read again."""
    import zipfile

    try:
        st = os.stat(path)
    except OSError:
        return False
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _INTACT:
        try:
            with zipfile.ZipFile(path) as z:
                _INTACT[key] = any(n.endswith("data.pkl") for n in z.namelist())
        except (OSError, zipfile.BadZipFile, ValueError):
            _INTACT[key] = False
        if len(_INTACT) > 100_000:  # a long-lived process over very many runs: start afresh
            _INTACT.clear()
    return _INTACT[key]
