"""Atomic checkpoint and JSON writes (timm's habit: write to a temp file, then os.replace), and loading
checkpoints and cached state dicts as weights only: a file that would unpickle anything else (code) is
refused, never executed."""
from __future__ import annotations

import json
import os
import random
import re
import tempfile
from pathlib import Path

import numpy as np
import torch


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


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True, default=str).encode()))


def rng_state() -> dict:
    """Every RNG state, as tensors and plain Python values (loads with ``weights_only=True``)."""
    kind, key, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": {"kind": kind, "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    if isinstance(npst, dict):  # tensors (this format)
        npst = (npst["kind"], npst["key"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
                npst["cached_gaussian"])
    np.random.set_state(npst)  # or the tuple of np.random.get_state() (checkpoints before the tensors)
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_checkpoint(path: Path, **state) -> None:
    """Everything needed to resume: model, optimiser, epoch, scheme state and every RNG state."""
    state.setdefault("rng", rng_state())
    atomic_write_bytes(path, lambda f: torch.save(state, f))


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


def checkpoint_intact(path: Path) -> bool:
    """Cheap check (no unpickling) that ``path`` is a whole torch zip archive: catches a cut, empty or
    garbage file."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("data.pkl") for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
