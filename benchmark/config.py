"""Run configurations: one frozen dataclass per run, every key commented, one validation function.

A run is identified by the hash of its resolved config (``config_hash``); its directory is keyed by
that hash, so a finished run is found again and never redone.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SCALES = ("smoke", "cpu", "paper")
# training entry points: benchmark/train/<task>.py
TASKS = ("polygon", "sequence", "action", "subgoal", "prediction", "landmarks", "gesture", "steering",
         "nowcast", "videopred")
SCHEMES = ("bptt", "clips", "overlap", "ltsc")
PRECISIONS = ("fp32", "bf16")  # benchmark/precision.py
# constant: lr throughout; cosine: lr * (1 + cos(pi * step / steps)) / 2, set before every step (a function of
# the step, nothing to checkpoint); plateau: x0.1 when an epoch's training loss has not improved on the best
# by 1% for PLATEAU_PATIENCE epochs (deeprnn 4.2 "gradually decays when meeting the loss plateaus")
LR_SCHEDULES = ("constant", "cosine", "plateau")
PLATEAU_PATIENCE = 1
# "builtin" (the embedded stand-ins) or a real data set of benchmark/data/registry.py
DATASETS = ("builtin", "cityscapes", "ucf101", "hmdb51", "kinetics", "kth", "vw300", "nvgesture", "commaai",
            "livi", "radar", "masks")


@dataclass(frozen=True)
class RunConfig:
    experiment: str                 # catalogue id, e.g. "deeprnn.table6"
    scale: str                      # smoke | cpu | paper
    task: str                       # training entry point (benchmark/train/<task>.py)
    model: str                      # registry name, e.g. "polygon_cbm_15"
    seed: int = 0                   # seeds torch, numpy, python and the built-in data
    model_kw: dict = field(default_factory=dict)   # passed to create_model
    dataset: str = "builtin"        # builtin (embedded stand-in) or a real data set name
    data_root: str | None = None    # root of the real data set (None for builtin)
    data_kw: dict = field(default_factory=dict)    # loader options (sizes, limits, splits)
    epochs: int = 1                 # passes over the training set
    batch_size: int = 16            # mini-batch size (deeprnn 4.2: 16)
    lr: float = 1e-4                # Adam learning rate (deeprnn 4.2: 1e-4)
    grad_clip: float = 5.0          # gradients clipped element-wise to [-clip, clip] (NOTES.md)
    td_schedule: tuple = ()         # ((epoch, rate), ...): TD rate from that epoch on, set every step (a
                                    # fractional epoch, e.g. 0.5, starts mid-epoch); () = no TD
    threads: int = 1                # torch intra-op threads of the job running this config
    labels: dict = field(default_factory=dict)     # what the tables/figures group by (cell, depth, ...)
    # --- added after the first release: hashed only when not at their default (see config_hash)
    scheme: str = "bptt"            # bptt (full sequence) | clips (plain short clips) | overlap | ltsc
    scheme_kw: dict = field(default_factory=dict)  # clip_len, clips (S), overlap_rate, lam, init, ...
    stsgd_schedule: tuple = ()      # ((epoch, p), ...): STSGD p from that epoch on; () = off
    precision: str = "fp32"         # fp32 | bf16 (autocast forward; benchmark/precision.py)
    compile: bool = False           # torch.compile the training step (eager if it fails); never hashed
    lr_schedule: str = "constant"   # constant | cosine | plateau (LR_SCHEDULES)
    average_last: int = 1           # the final metrics are the mean of the last N epochs' evaluations
    epoch_items: int = 0            # items per epoch, a fresh random draw (without replacement) from the
                                    # training set every epoch; 0 = the whole training set
    eval_last: int = 0              # evaluate only the last N epochs (0 = every epoch): evaluation draws no
                                    # random numbers, so training is the same either way

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        d = dict(d)
        for key in ("td_schedule", "stsgd_schedule"):
            d[key] = tuple(tuple(x) for x in d.get(key, ()))
        return cls(**d)


# Fields added after runs already existed: left out of the hash at their default value, so adding an
# option never orphans a finished run.
_LATE_FIELDS = {"scheme": "bptt", "scheme_kw": {}, "stsgd_schedule": (), "precision": "fp32",
                "lr_schedule": "constant", "average_last": 1, "epoch_items": 0, "eval_last": 0}


def config_hash(cfg: RunConfig) -> str:
    """Stable 12-hex-digit hash of the resolved config (``threads`` and ``compile`` excluded: they change
    speed, not what is computed)."""
    d = cfg.to_dict()
    d.pop("threads"), d.pop("compile")
    for key, default in _LATE_FIELDS.items():
        if d[key] == default or (isinstance(default, tuple) and tuple(d[key]) == default):
            d.pop(key)
    blob = json.dumps(d, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def prerequisites(cfg: RunConfig) -> list[RunConfig]:
    """The runs ``cfg`` starts from, which must finish first (the run graph): a fine-tuning run's
    pre-training run, ``data_kw["pretrain"]`` (a whole config; it runs with ``cfg``'s threads)."""
    spec = cfg.data_kw.get("pretrain")
    return [RunConfig.from_dict({**spec, "threads": cfg.threads})] if spec else []


def td_rate_at(schedule: tuple, epoch: float) -> float:
    """TD rate in force at ``epoch`` (0-based; fractional within an epoch: epoch + step / steps): the last
    (start_epoch, rate) whose start <= epoch."""
    rate = 0.0
    for start, r in sorted(schedule):
        if epoch >= start:
            rate = r
    return float(rate)


def validate(cfg: RunConfig) -> None:
    """Reject a config that cannot run, naming the key and the fix."""
    problems = []
    if cfg.scale not in SCALES:
        problems.append(f"scale={cfg.scale!r}: use one of {SCALES}")
    if cfg.task not in TASKS:
        problems.append(f"task={cfg.task!r}: use one of {TASKS}")
    if cfg.scheme not in SCHEMES:
        problems.append(f"scheme={cfg.scheme!r}: use one of {SCHEMES}")
    if cfg.scheme in ("clips", "overlap", "ltsc") and "clip_len" not in cfg.scheme_kw:
        problems.append(f"scheme={cfg.scheme!r} needs scheme_kw['clip_len']")
    if cfg.scheme_kw.get("init", "timestamp") not in ("timestamp", "previous_last"):
        problems.append(f"scheme_kw init={cfg.scheme_kw['init']!r}: use 'timestamp' (the papers) or 'previous_last' "
                        "(the released code)")
    if cfg.task == "polygon" and cfg.scheme not in ("bptt", "overlap"):
        problems.append(f"scheme={cfg.scheme!r}: the polygon task trains with full BPTT or overlap coherence "
                        "(benchmark/train/polygon.py overlap_loss); use scheme='bptt' or 'overlap'")
    if cfg.lr_schedule not in LR_SCHEDULES:
        problems.append(f"lr_schedule={cfg.lr_schedule!r}: use one of {LR_SCHEDULES}")
    if not isinstance(cfg.average_last, int) or not 1 <= cfg.average_last <= cfg.epochs:
        problems.append(f"average_last={cfg.average_last!r}: an integer from 1 to epochs ({cfg.epochs})")
    if not isinstance(cfg.eval_last, int) or cfg.eval_last < 0 or (cfg.eval_last and cfg.eval_last < cfg.average_last):
        problems.append(f"eval_last={cfg.eval_last!r}: 0 (every epoch) or at least average_last ({cfg.average_last})")
    if not isinstance(cfg.epoch_items, int) or cfg.epoch_items < 0:
        problems.append(f"epoch_items={cfg.epoch_items!r}: a count of training items per epoch (0 = all)")
    if cfg.precision not in PRECISIONS:
        problems.append(f"precision={cfg.precision!r}: use one of {PRECISIONS}")
    if cfg.dataset not in DATASETS:
        problems.append(f"dataset={cfg.dataset!r}: use one of {DATASETS}")
    if cfg.dataset != "builtin" and not cfg.data_root:
        problems.append(f"dataset={cfg.dataset!r} needs data_root (pass --data-root PATH)")
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.lr <= 0 or cfg.grad_clip <= 0:
        problems.append("epochs, batch_size, lr and grad_clip must be positive")
    for start, rate in (*cfg.td_schedule, *cfg.stsgd_schedule):
        if not (0.0 <= rate <= 1.0) or start < 0:
            problems.append(f"td_schedule entry {(start, rate)}: rates lie in [0, 1], epochs >= 0")
    if problems:
        raise ValueError(f"invalid config for {cfg.experiment} ({cfg.model}): " + "; ".join(problems))
