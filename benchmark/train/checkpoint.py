"""Checkpoints of a training run: every RNG state (saved and restored), seeding, and the checkpoint write
(atomic, ``benchmark.rundir``; loading as weights only lives there too)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from ..rundir import atomic_write_bytes


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


