"""The cache of stand-in pretrained weights (cpu scale: narrow backbones have no ImageNet weights, so each
task pretrains one once on disjoint built-in data). Kept like timm's download cache, under
``$BENCHMARK_CACHE/<task>_standin`` or ``~/.cache/benchmark/<task>_standin``; built once under a file lock,
so concurrent runs wait instead of training it twice, and written atomically; a cached file that is not a
whole archive is moved aside and built again (``benchmark.heal``). ``fit`` is the pretraining loop the
tasks' stand-ins share; ``copy_fc_layers`` copies a pretrained backbone's fc layers into a sequence net."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from ..heal import move_aside
from ..rundir import atomic_write_bytes, checkpoint_intact


def standin_dir(task: str) -> Path:
    return Path(os.environ.get("BENCHMARK_CACHE", Path.home() / ".cache" / "benchmark")) / f"{task}_standin"


def standin_path(task: str, arch: str, width: float, spec: dict, version: int, **extra) -> Path:
    """The cache file of ``task``'s stand-in ``arch`` at ``width`` pretrained under ``spec``:
    ``standin_dir(task) / "<arch>_w<width>_<key>.pt"``, the key a hash of arch, width, spec, the task's
    ``STANDIN_VERSION`` and ``extra`` (e.g. ``norm``): a changed spec or version is a new file."""
    blob = json.dumps({"arch": arch, "width": float(width), "spec": spec, "v": version, **extra}, sort_keys=True)
    return standin_dir(task) / f"{arch}_w{float(width):g}_{hashlib.sha256(blob.encode()).hexdigest()[:12]}.pt"


def cached_state(path: Path, make: Callable[[], dict]) -> Path:
    """``path``, holding the state dict ``make()`` returns; ``make`` runs only if no process made it before."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.exists() and not checkpoint_intact(path):  # cut, empty or garbage: built again
                move_aside(path, "not a whole torch archive")  # logged in the run that reads it
            if not path.exists():
                state = make()
                atomic_write_bytes(path, lambda f: torch.save(state, f))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


def fit(params: list, spec: dict, n: int, step_loss: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """A stand-in's pretraining: ``spec["steps"]`` Adam steps (lr ``spec["lr"]``, gradients clipped to
    +-5) on ``step_loss(idx)``, the loss of a batch of ``spec["batch"]`` random indices into ``n`` samples
    (drawn from torch's RNG before each step's forward)."""
    opt = torch.optim.Adam(params, lr=float(spec["lr"]))
    for _ in range(int(spec["steps"])):
        idx = torch.randint(0, n, (int(spec["batch"]),))
        value = step_loss(idx)
        opt.zero_grad(set_to_none=True)
        value.backward()
        torch.nn.utils.clip_grad_value_(params, 5.0)
        opt.step()


def copy_fc_layers(model: nn.Module, state: dict, skip: set[int]) -> int:
    """Copy ``fc6.*`` / ``fc7.*`` of a pretrained backbone state into every ``nn.Linear`` of ``model`` of the
    same weight shape (the feed-forward fc layers and every PreRNN gate copy made from them) except the modules
    whose ``id`` is in ``skip`` (new layers). Returns the number of tensors copied."""
    shapes = {name: state[f"{name}.weight"].shape for name in ("fc6", "fc7")}
    if shapes["fc6"] == shapes["fc7"]:
        raise ValueError("fc6 and fc7 have the same shape: cannot tell them apart")
    copied = 0
    for m in model.modules():
        if isinstance(m, nn.Linear) and id(m) not in skip:
            for name, shape in shapes.items():
                if m.weight.shape == shape:
                    with torch.no_grad():
                        m.weight.copy_(state[f"{name}.weight"])
                        m.bias.copy_(state[f"{name}.bias"])
                    copied += 2
    return copied
