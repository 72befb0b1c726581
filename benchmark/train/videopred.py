"""Video prediction on Moving Fashion-MNIST (issue 19, "Beyond the papers"): ``n_in`` observed frames ->
the next ``n_out``, OpenSTL's protocol, for the modern predictors of ``models.nets.openstl``.

Data (``cfg.data_kw``): :class:`benchmark.data.moving_fmnist.MovingFashionMNIST` train and test splits of
``n_train`` / ``n_test`` sequences, ``size`` x ``size`` frames (> 28), ``n_in`` -> ``n_out``, ``items``
per sequence (default 2), ``digits`` (Moving-MNIST-style digits instead of clothes, default False),
``speed`` (default the data set's). The data seed is ``data_kw["seed"]`` (default 0), never the run seed,
so every run of a grid trains and tests on the same sequences. Frames in [0, 1].

Model: ``models.create_model(cfg.model, in_channels=1, pre_seq_length=n_in, aft_seq_length=n_out,
**cfg.model_kw)``; every ``mmnist_*`` factory takes these.

Loss, by the model's class (declared, not probed):

- a :class:`~models.nets.openstl.RecurrentPredictor` (ConvLSTM, CBM, SCS, ConvMinGRU, PredRNN family):
  its ``training_loss(frames, targets)``, OpenSTL's loss for RNN methods: the MSE of every one of the
  n_in + n_out - 1 steps' frames against the next true frame (+ 0.1 x the decoupling loss for PredRNN-V2).
  Trained on the test-time rollout (steps n_in.. read the model's own frame): no (reverse) scheduled
  sampling, a choice, the same for every recurrent arm (OpenSTL samples true frames early in training);
- a :class:`~models.nets.simvp.SimVP`: the MSE of its ``n_out`` predicted frames against the targets.

Anything else is a ``ValueError``. The loss calls a method besides ``forward``, so the task is trained in
one process (no DDP wrapper).

Evaluation: every test sequence predicted (batches of ``EVAL_BATCH``, no gradient), clamped to [0, 1],
scored by :func:`~benchmark.data.moving_fmnist.video_metrics` (OpenSTL's conventions: MSE and MAE summed
over a frame's pixels, PSNR and SSIM per frame, all averaged over frames and sequences): ``test_mse``,
``test_mae``, ``test_psnr``, ``test_ssim``. Batches are combined weighted by their frame counts, which is
the mean over all frames (the trivial baseline, ``benchmark.baselines``, scores copy-last-frame on the same
test set with :func:`~benchmark.data.moving_fmnist.baseline_scores`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models import create_model
from models.nets.openstl import RecurrentPredictor
from models.nets.simvp import SimVP

from ..config import RunConfig
from ..data.moving_fmnist import MovingFashionMNIST, video_metrics
from .task import Task, register_task

EVAL_BATCH = 64
METRICS = ("mse", "mae", "psnr", "ssim")  # video_metrics' keys; evaluate returns them as test_<key>


def datasets(cfg: RunConfig) -> tuple[MovingFashionMNIST, MovingFashionMNIST]:
    """(train, test) of ``cfg.data_kw`` (see the module doc); a missing size key is one ValueError."""
    kw = cfg.data_kw
    missing = [k for k in ("n_train", "n_test", "size", "n_in", "n_out") if k not in kw]
    if missing:
        raise ValueError(f"videopred: data_kw needs {', '.join(missing)} (got {sorted(kw)})")
    if cfg.dataset != "builtin":
        raise ValueError(f"videopred trains on the built-in Moving Fashion-MNIST only, got dataset={cfg.dataset!r}")
    common = dict(seed=kw.get("seed", 0), n_in=kw["n_in"], n_out=kw["n_out"], size=kw["size"],
                  items=kw.get("items", 2), digits=kw.get("digits", False), speed=kw.get("speed"))
    return (MovingFashionMNIST("train", n=kw["n_train"], **common),
            MovingFashionMNIST("test", n=kw["n_test"], **common))


def collate(items: list[dict]) -> dict:
    return {"frames": torch.stack([it["frames"] for it in items]),
            "target": torch.stack([it["target"] for it in items])}


def make_model(cfg: RunConfig):
    kw = cfg.data_kw
    return create_model(cfg.model, in_channels=1, pre_seq_length=kw["n_in"], aft_seq_length=kw["n_out"],
                        **cfg.model_kw)


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    return make_model(cfg), train_set, test_set, collate


def test_model(cfg: RunConfig):
    """The untrained model and the test set (no training set): what a finished run's weights load into."""
    return make_model(cfg), datasets(cfg)[1]


def loss(model, batch, cfg: RunConfig) -> torch.Tensor:
    frames, targets = batch["frames"], batch["target"]
    if isinstance(model, RecurrentPredictor):
        return model.training_loss(frames, targets)
    if isinstance(model, SimVP):
        return F.mse_loss(model(frames), targets)
    raise ValueError(f"videopred trains RecurrentPredictor and SimVP models, got {type(model).__name__} "
                     f"({cfg.model})")


@torch.no_grad()
def predictions(model, test_set, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted frames clamped to [0, 1], true frames) of test sequences lo..hi-1, (N, n_out, 1, H, W)."""
    batch = collate([test_set[i] for i in range(lo, hi)])
    return model(batch["frames"]).clamp(0, 1), batch["target"]


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    if len(test_set) == 0:
        raise ValueError("videopred: the test set is empty (data_kw n_test = 0)")
    sums, frames = dict.fromkeys(METRICS, 0.0), 0
    for lo in range(0, len(test_set), EVAL_BATCH):
        pred, true = predictions(model, test_set, lo, min(lo + EVAL_BATCH, len(test_set)))
        n = pred.shape[0] * pred.shape[1]
        for k, v in video_metrics(pred, true).items():
            sums[k] += v * n
        frames += n
    return {f"test_{k}": sums[k] / frames for k in METRICS}


TASK = register_task(Task("videopred", build=build, loss=loss, evaluate=evaluate, test_model=test_model))
