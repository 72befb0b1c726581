"""Fine-tuning from another run of the same task (tasks ``action`` and ``subgoal``; deeprnn Table 3 and scs
Tables 2-3: Kinetics, then UCF-101 / HMDB-51).

``data_kw["pretrain"]`` holds the whole config (a dict) of the pre-training run (``config.prerequisites``).
That run lives beside the fine-tuning run in the runs tree (``<runs>/<its experiment>/<its hash>``); the
launcher trains it first (``launch.run_waves``), never the trainer. The fine-tuning run starts from its final
weights: every tensor whose name and shape fit (all but the classifier's last layer when the class counts
differ).
"""
from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from ..config import RunConfig, prerequisites


def pretrain_config(cfg: RunConfig, task: str) -> RunConfig | None:
    """The pre-training run of ``cfg`` (None without one): a run of ``task`` with the same model, itself
    not pre-trained."""
    found = prerequisites(cfg)
    if not found:
        return None
    pre = found[0]
    if pre.task != task or pre.model != cfg.model or pre.data_kw.get("pretrain"):
        article = "an" if task[0] in "aeiou" else "a"
        raise ValueError(f"data_kw['pretrain'] must be {article} {task!r} run of the same model, itself not "
                         "pre-trained")
    return pre


def pretraining_run(pre: RunConfig, run_dir) -> tuple[dict, Path]:
    """(final weights, directory) of the finished run ``pre`` found beside ``run_dir`` in the runs tree. A
    pre-training run that is not done is an error: the launcher trains it before this run (a trainer never
    launches runs)."""
    from ..rundir import CHECKPOINT_FILE, read_checkpoint, run_dir as dir_of, run_status

    path = dir_of(Path(run_dir).parent.parent, pre)
    if run_status(path) != "done":
        raise RuntimeError(f"the pre-training run {path} ({pre.experiment}, {pre.model}) is not done: launch this "
                           "run through python -m benchmark.run, which trains its pre-training run first")
    return read_checkpoint(path / CHECKPOINT_FILE)["model"], path


def load_fitting(model: nn.Module, state: dict, skip: str | None = None) -> list[str]:
    """Copy every tensor of ``state`` whose name and shape fit (names starting with ``skip`` left out on
    both sides: a task's training state); returns the names left fresh (the last classifier layer when the
    class counts differ)."""
    own = model.state_dict()
    keep = (lambda k: True) if skip is None else (lambda k: not k.startswith(skip))
    fit = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and keep(k)}
    model.load_state_dict(fit, strict=False)
    return sorted(k for k in own if k not in fit and keep(k))
