"""The cache of stand-in pretrained weights (cpu scale: narrow backbones have no ImageNet weights, so each
task pretrains one once on disjoint built-in data). Kept like timm's download cache, under
``$BENCHMARK_CACHE/<task>_standin`` or ``~/.cache/benchmark/<task>_standin``; built once under a file lock,
so concurrent runs wait instead of training it twice, and written atomically."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable

import torch


def standin_dir(task: str) -> Path:
    return Path(os.environ.get("BENCHMARK_CACHE", Path.home() / ".cache" / "benchmark")) / f"{task}_standin"


def cached_state(path: Path, make: Callable[[], dict]) -> Path:
    """``path``, holding the state dict ``make()`` returns; ``make`` runs only if no process made it before."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                tmp = path.with_name(f".{path.name}.tmp")
                torch.save(make(), tmp)
                tmp.replace(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path
