"""Steering-angle prediction (scs section 5.7, Tables 5 and 6): a window of ``observed`` frames in, the
current steering angle (the last frame's) out.

Models (``models/nets/steering.py``): ``steer_cnn`` (the current frame only; run it with ``observed=1``),
``steer_cnn_lstm``, ``steer_scs``; each returns one value per step (B, T), the current one is ``[:, -1]``.
They are built with ``out_act="sigmoid"`` unless ``model_kw`` says otherwise, so predictions live on the
label scale below.

Labels. "We adopt sigmoid function to normalize the angles" (5.7): label = sigmoid(angle / s), angle in
degrees. The paper does not give s; ``data_kw["angle_scale"]``: a number (degrees) or ``"auto"``
(default): s = std(train angles) * sqrt(3) / pi, the scale of the logistic distribution with the training
angles' spread (for logistic-distributed angles sigmoid(angle / s) is exactly uniform, which is what the
paper wants: "make the distribution more uniform"), at least ``MIN_SCALE``. Accuracy (eq. 24) is taken
in degrees (prediction mapped back with s * logit), the MSE on the normalised scale (Table 5's ~0.05).

Loss: MSE of the current (last-step) prediction on the normalised scale (the main goal g; the real
loaders label the last frame only). SCS with sub-goals (``scheme_kw["sub_goals"]``, default True): plus
r_s and r_t, each weight 1 (``w_spatial``, ``w_temporal``; the paper gives no weights), both *the same
as the main goal* as in scs 5.7's Table 6 analysis ("we set r_s and r_t to the same with the main goal"):
T^1 = the model's head on the top spatial stream (``return_streams=True``), T^2 = a head of its own
(``temporal_head``, an MLP on the pooled top temporal-stream maps, added to the model here). The paper's
Table 5 SCS used optical flow for r_t; the suite trains Table 6's setting for both tables so one run
serves both (no flow target is wired for steering). STSGD: ``cfg.stsgd_schedule`` (the training loop).

Data (``cfg.data_kw``):

* ``builtin``: :class:`benchmark.data.builtin_standins.SteeringSequences` cut into windows
  (:class:`benchmark.data.steering_sets.BuiltinWindows`): ``n_train`` / ``n_test`` windows, ``size``
  (H, W), ``seed`` (the data's), ``road_types`` (default all four), ``observed``; ``first_end``
  (default 6): the first window ends at frame 6 whatever ``observed`` is, so runs with 1, 3 and 7
  observed frames predict the same targets; ``windows_per_seq`` (1) and ``window_step`` (1). The
  generator gives the road-wheel angle; comma.ai and LiVi-Set log the *steering-wheel* angle, so the
  stand-in's label is ``steering_ratio`` (15, a typical passenger-car ratio) times it, which puts eq.
  24's thresholds (3 and 6 degrees) on the same footing.
* ``commaai`` / ``livi``: :class:`benchmark.data.commaai.CommaAI` / :class:`benchmark.data.livi.LiViSet`
  under ``cfg.data_root``, train / val split, ``observed``, ``step``, ``size``, ``crop`` (top, left,
  height, width: the paper crops the sky before resizing to 192 x 64); optional ``n_train`` / ``n_test``
  keep that many samples spread evenly over the split.

Evaluation (``evaluate``): ``test_acc_l6`` / ``test_acc_l3`` (eq. 24 x 100 at lambda = 6, 3 degrees;
``scheme_kw["acc_reading"]``: ``"eq24"`` the formula as printed (partial credit lambda / |error|,
default) or ``"floor"`` (1 iff |error| <= lambda, the prose), see ``benchmark.metrics.steering_accuracy``),
``test_mse`` (normalised scale), ``test_rmse_deg``; per road type (samples whose road type is known:
LiVi-Set, the stand-in) ``test_acc_l6_<road>``, ``test_acc_l3_<road>``, ``test_n_<road>`` with road in
crossroads, t_junction, curve, straight; for SCS with sub-goals the same keys for T^1 (``t1_``) and
T^2 (``t2_``) (Table 6); ``scheme_kw["stream_bn"]`` says how the streams are normalised at test (see
:func:`predict`). ``scheme_kw["precise_bn"]`` = n > 0: before each evaluation the BatchNorm running
statistics are re-estimated on n training windows under the current weights (:func:`precise_bn`; the
cpu scale's few, large Adam steps leave the momentum-0.1 running averages behind the weights, which made
the test numbers of the ResNet baselines jump by up to 60 points from one epoch to the next); 0
(default) keeps the running averages of training.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model
from models.deep import MLPHead

from ..config import RunConfig
from ..data.steering_sets import (ROAD_TYPES, STEERING_RATIO, BuiltinWindows, Labelled, angle_to_label,
                                  label_to_angle, logistic_scale, spread)
from ..data.steering_sets import real_angles as _real_angles
from ..metrics import steering_accuracy, steering_mse
from .task import Task, register_task

ROAD_KEYS = tuple(r.replace("-", "_") for r in ROAD_TYPES)
LAMBDAS = (6, 3)                     # scs Table 8: lambda in {3, 6}


def raw_datasets(cfg: RunConfig):
    """(train, test) before labelling, and the training angles (degrees) the scale is fitted on."""
    kw = dict(cfg.data_kw)
    observed = int(kw.get("observed", 7))
    if cfg.dataset == "builtin":
        common = dict(observed=observed, size=tuple(kw.get("size", (24, 72))), seed=kw.get("seed", 0),
                      road_types=tuple(kw.get("road_types", ROAD_TYPES)), first_end=kw.get("first_end", 6),
                      windows_per_seq=kw.get("windows_per_seq", 1), window_step=kw.get("window_step", 1),
                      steering_ratio=kw.get("steering_ratio", STEERING_RATIO))
        train = BuiltinWindows("train", kw["n_train"], **common)
        return train, BuiltinWindows("test", kw["n_test"], **common), train.angles()
    size, crop = kw.get("size"), kw.get("crop")
    common = dict(observed=observed, step=kw.get("step", 1), size=None if size is None else tuple(size),
                  crop=None if crop is None else tuple(crop))
    if cfg.dataset == "commaai":
        from ..data.commaai import CommaAI as Loader
    elif cfg.dataset == "livi":
        from ..data.livi import LiViSet as Loader
    else:
        raise ValueError(f"the steering task reads builtin, commaai or livi, not {cfg.dataset!r}")
    train = spread(Loader(cfg.data_root, "train", **common), kw.get("n_train"))
    test = spread(Loader(cfg.data_root, "val", **common), kw.get("n_test"))
    return train, test, _real_angles(train)


def datasets(cfg: RunConfig):
    train, test, angles = raw_datasets(cfg)
    scale = cfg.data_kw.get("angle_scale", "auto")
    scale = logistic_scale(angles) if scale == "auto" else float(scale)
    return Labelled(train, scale), Labelled(test, scale)


def collate(items: list[dict]) -> dict:
    return {"frames": torch.stack([it["frames"] for it in items]),
            "angle": torch.stack([torch.as_tensor(it["angle"], dtype=torch.float32) for it in items]),
            "label": torch.stack([torch.as_tensor(it["label"], dtype=torch.float32) for it in items]),
            "road_type": torch.tensor([int(it["road_type"]) for it in items], dtype=torch.int64)}


# ---------------------------------------------------------------- model
def has_subgoals(model) -> bool:
    return any(getattr(m, "sub_goals", False) for m in model.modules())


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    test_set.bn_source = train_set   # for ``scheme_kw["precise_bn"]`` (see ``evaluate``)
    model = create_model(cfg.model, **{"out_act": "sigmoid", **cfg.model_kw})
    if cfg.scheme_kw.get("sub_goals", True) and has_subgoals(model):
        model.temporal_head = MLPHead(model.rnn.widths[-1], 1)   # T^2's steering head (r_t = g)
    return model, train_set, test_set, collate


def outputs(model, frames: torch.Tensor) -> dict:
    """{"main": (B, T)} and, for SCS with a T^2 head, "t1" and "t2" (B, T), on the label scale."""
    inner = getattr(model, "module", model)  # ``module``: a DDP wrapper
    if not hasattr(inner, "temporal_head"):
        return {"main": model(frames)}
    out = model(frames, return_streams=True)
    tmp = out["temporal"]
    t2 = inner.temporal_head(tmp.flatten(0, 1)).view(tmp.shape[0], tmp.shape[1])
    if getattr(inner, "out_act", "linear") == "sigmoid":
        t2 = torch.sigmoid(t2)
    return {"main": out["angles"], "t1": out["spatial_angles"], "t2": t2}


def loss(model, batch, cfg: RunConfig) -> torch.Tensor:
    out, y = outputs(model, batch["frames"]), batch["label"]
    kw = cfg.scheme_kw
    total = F.mse_loss(out["main"][:, -1], y)
    if "t1" in out:
        total = total + kw.get("w_spatial", 1.0) * F.mse_loss(out["t1"][:, -1], y) \
            + kw.get("w_temporal", 1.0) * F.mse_loss(out["t2"][:, -1], y)
    return total


# ---------------------------------------------------------------- evaluation
def scores(pred_label, angle, road_type, scale: float, prefix: str = "test_", reading: str = "eq24",
           per_road: bool = True) -> dict:
    """Table 5/6 numbers of one output: ``pred_label`` (N,) on the label scale, ``angle`` (N,) true
    degrees, ``road_type`` (N,) in 0..3 or -1. Accuracies in %, MSE on the label scale."""
    pred_label = torch.as_tensor(pred_label, dtype=torch.float64).reshape(-1)
    angle = torch.as_tensor(angle, dtype=torch.float64).reshape(-1)
    road = np.asarray(road_type, dtype=np.int64).reshape(-1)
    pred_deg = label_to_angle(pred_label, scale).numpy()
    true_deg = angle.numpy()
    out = {f"{prefix}mse": steering_mse(pred_label.numpy(), angle_to_label(angle, scale).double().numpy()),
           f"{prefix}rmse_deg": float(np.sqrt(np.mean((pred_deg - true_deg) ** 2)))}
    for lam in LAMBDAS:
        out[f"{prefix}acc_l{lam}"] = 100.0 * steering_accuracy(pred_deg, true_deg, lam, reading=reading)
    if per_road:
        for k, key in enumerate(ROAD_KEYS):
            m = road == k
            if not m.any():
                continue
            out[f"{prefix}n_{key}"] = int(m.sum())
            for lam in LAMBDAS:
                out[f"{prefix}acc_l{lam}_{key}"] = 100.0 * steering_accuracy(pred_deg[m], true_deg[m], lam,
                                                                             reading=reading)
    return out


@contextmanager
def batch_statistics(model):
    """Every BatchNorm normalises with the batch's statistics, its running statistics left as they are
    (momentum 0); the rest of the model (dropout, STSGD) stays in its mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.momentum) for m in bns]
    for m in bns:
        m.train()
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (training, momentum) in zip(bns, saved):
            m.train(training)
            m.momentum = momentum


@torch.no_grad()
def predict(model, test_set, batch_size: int, stream_bn: str = "batch") -> dict:
    """Current-step predictions of every output over ``test_set`` plus the true angles and road types.

    The main output is always computed in eval mode (running statistics). ``stream_bn`` says how the
    sub-goal streams T^1 / T^2 are normalised: ``"batch"`` (default) with the test batch's statistics,
    as they were in training; ``"running"``: the cell's own rule, the *main* stream's running statistics
    (models/cells/scs.py). Choice: the streams never update running statistics of their own, and their
    activations differ from the main stream's (relu(s) vs relu(s) * sigmoid(c)), so under "running" the
    mismatch compounds over the 17 layers (measured: T^1 / T^2 outputs saturate at 0 or 1 at cpu scale).
    """
    if stream_bn not in ("batch", "running"):
        raise ValueError(f"stream_bn must be 'batch' or 'running', got {stream_bn!r}")
    got: dict[str, list] = {}
    for i in range(0, len(test_set), batch_size):
        batch = collate([test_set[j] for j in range(i, min(i + batch_size, len(test_set)))])
        out = outputs(model, batch["frames"])
        if "t1" in out and stream_bn == "batch":
            with batch_statistics(model):
                streams = outputs(model, batch["frames"])
            out.update(t1=streams["t1"], t2=streams["t2"])
        for k, v in out.items():
            got.setdefault(k, []).append(v[:, -1].double())
        got.setdefault("angle", []).append(batch["angle"].double())
        got.setdefault("road_type", []).append(batch["road_type"])
    return {k: torch.cat(v) for k, v in got.items()}


@torch.no_grad()
def precise_bn(model, source, n: int, batch_size: int) -> None:
    """Re-estimate every BatchNorm's running statistics as the plain average over ``n`` windows of
    ``source`` (spread evenly over it) under the current weights ("precise BN"); nothing else changes
    (only the BatchNorm modules switch to training mode, so no STSGD draw or dropout happens)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or n <= 0 or len(source) == 0:
        return
    saved = [(m.training, m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.train()
        m.momentum = None   # cumulative average over the batches below
    idx = np.linspace(0, len(source) - 1, min(int(n), len(source))).round().astype(int)
    try:
        for i in range(0, len(idx), batch_size):
            model(collate([source[int(j)] for j in idx[i:i + batch_size]])["frames"])
    finally:
        for m, (training, momentum) in zip(bns, saved):
            m.train(training)
            m.momentum = momentum


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    n_bn = int(cfg.scheme_kw.get("precise_bn", 0))
    if n_bn and getattr(test_set, "bn_source", None) is not None:
        precise_bn(model, test_set.bn_source, n_bn, cfg.batch_size)
    p = predict(model, test_set, cfg.batch_size, cfg.scheme_kw.get("stream_bn", "batch"))
    reading = cfg.scheme_kw.get("acc_reading", "eq24")
    out = {}
    for name, prefix in (("main", "test_"), ("t1", "t1_"), ("t2", "t2_")):
        if name in p:
            out.update(scores(p[name], p["angle"], p["road_type"], test_set.angle_scale, prefix, reading))
    out["angle_scale"] = float(test_set.angle_scale)
    return out


TASK = register_task(Task("steering", build=build, loss=loss, evaluate=evaluate))
