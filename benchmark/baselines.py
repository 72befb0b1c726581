"""What a predictor that learns nothing scores: the floor under every reproduced number.

``trivial_baselines(cfg)`` maps a metric name (a key the task's ``evaluate`` returns) to ``(value, what the
trivial predictor is)``. Every value is measured on the test set the task's ``evaluate`` sees (built by the
task's own ``datasets``) and scored by the task's own metric code: the task's ``evaluate`` itself driven by
a constant "model" where it only calls the model's forward (sequence, landmarks), else the scoring function
``evaluate`` calls (``benchmark.metrics`` / ``benchmark.metrics_polygon`` and the task's ``scores`` /
``frame_metrics``). No model is built (except an empty one on the meta device that only tells whether the
net reports sub-goal stream keys), no pre-training runs, no training. Where several trivial predictors
apply, each metric gets the best of them in that metric's good direction, named.

Per task (one function each, dispatched through ``_TASKS``):

- polygon (``test_iou``, ``test_loss``): IoU, the best of (a) the mean training mask on the task's grid:
  every training ground-truth polygon rasterised by ``metrics_polygon.rasterise`` (the metric's raster, 4x
  the crop), made a ``grid`` x ``grid`` mask (a cell is in when at least half of it is covered), the masks
  averaged and thresholded at 0.5, drawn back on the metric's raster and scored with ``mask_iou`` against
  the rasterised test polygon (what ``polygon_iou`` does with a predicted polygon's mask); (a') the same
  mean taken on the metric's raster itself (not held to the grid: the strictest fixed mask); (b) the fixed
  rectangle of the object's box inside the crop (the crop is the box extended by ``cityscapes.EXTEND`` =
  15% per side; the built-in stand-in draws its ``margin`` range per side, 12-18% by default: the rectangle
  takes the range's mean), scored by ``polygon_iou``.
  ``test_loss``: the task's ``loss`` (teacher-forced cross-entropy, batched as ``evaluate`` batches it) of
  constant logits, the better of the training targets' per-step token frequencies (add-one smoothed) and
  the uniform distribution.
- sequence, per-sequence labels (moving shapes; deeprnn Fig. 3, scs Fig. 2): ``test_acc``: the better of
  the training set's majority class and chance (100 / classes). Gap sequences (deeprnn Fig. 5, scs LTSC):
  one constant distance for every frame, from the training frames: the most common and the median
  distance, over all frames (-1 = odd frame not seen yet) and over the frames after the odd one; for each
  metric (``test_acc`` = exact distance, ``err_gap_*``) the best of them (``test_acc`` also against chance).
  Scored by the task's ``evaluate`` on a constant model, so also the ``*_bn_*`` keys (equal: a constant
  has no BatchNorm).
- action (``test_acc``, ``test_atcp``, ``test_loss``) and subgoal (``test_acc``, ``test_acc_bn_batch``, and
  for SCS nets ``test_acc_spatial``, ``test_acc_spatial_bn_batch``; ``test_loss``): accuracy, the better of
  the majority training class and chance; loss, the better of the training class frequencies (add-one)
  and uniform. Labels read from the loaders' label lists (no frame is decoded, no flow computed).
- prediction: the last observed frame copied to every future step, every key of ``frame_metrics``
  (``test_mse``, ``psnr_T*``, ``psnr_avg``, ``ssim_T*``, ``ssim_avg``).
- nowcast: persistence (the last observed map), every key of the task's ``scores`` (MSE, CSI, FAR, POD,
  correlation) at the config's threshold and pooling.
- videopred (Moving Fashion-MNIST, issue 19): copy the last observed frame, every key of the task's
  ``evaluate`` (``test_mse``, ``test_mae``, ``test_psnr``, ``test_ssim``), scored by
  :func:`benchmark.data.moving_fmnist.baseline_scores` (``video_metrics``' per-frame conventions).
- landmarks: the mean training shape (``landmarks.mean_shape``, normalised coordinates) in every frame,
  through the task's ``evaluate`` (``test_auc``, ``test_nme``, ``test_failure``, ``test_loss``).
- steering: one constant angle, the best per metric of the mean training angle, the median training
  angle and the mean training label (the normalised scale the MSE is taken on), through the task's
  ``scores``: ``test_acc_l6``, ``test_acc_l3``, ``test_mse``, ``test_rmse_deg`` and the per-road
  accuracies; the same for ``t1_`` / ``t2_`` when the net reports its sub-goal streams. Not given:
  ``test_n_*`` (counts) and ``angle_scale`` (a setting), which are no scores.
- gesture: the most common training label sequence for every test video, ``ctc_accuracy`` (``test_acc``);
  ``test_acc_avg`` (videos of one gesture only) the most common training gesture, scored the same way (for
  one-label targets ``[c] == target`` is ``evaluate``'s ``c == target[0]``). Not given: ``test_loss`` (CTC):
  a constant per-clip distribution has no natural choice of blank vs gesture mass, so no trivial value.

The run seed: no task's test set (nor the training labels the baselines read) depends on ``cfg.seed``,
checked per task: the built-in data are drawn from ``data_kw["seed"]`` (default 0; subgoal: a fixed seed per
stand-in variant); the real loaders read fixed file lists (``cfg.seed`` seeds only training-time
augmentation and window draws, and the ``n_train`` / ``n_test`` subsets are fixed). A test checks it on
every task's smoke data. (Real action / subgoal / gesture labels come from the loaders' label lists: a
corrupt video, which ``evaluate``'s loader replaces by the next one, still counts with its own label.) So the
result is cached per (task, dataset, data_root, data_kw) plus the few other config fields a task's scoring
reads (``_TASKS``: e.g. ``batch_size`` for the batched losses, ``scheme_kw`` for key names / pooling,
``model`` for the stream keys); ``cfg.seed`` is not part of the key.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import RunConfig

Baselines = dict[str, tuple[float, str]]
Candidates = dict[str, dict[str, float]]   # trivial predictor (its description) -> {metric key: value}


# ------------------------------------------------------------------------------------------- helpers
def _pick(candidates: Candidates, lower_is_better: Callable[[str], bool]) -> Baselines:
    """For each metric key, the best candidate in the metric's good direction (ties: the first listed);
    NaN values lose to any number."""
    out: Baselines = {}
    for name, scores in candidates.items():
        for key, value in scores.items():
            value = float(value)
            if key not in out:
                out[key] = (value, name)
                continue
            best = out[key][0]
            better = value < best if lower_is_better(key) else value > best
            if (math.isnan(best) and not math.isnan(value)) or better:
                out[key] = (value, name)
    return out


class _Constant(nn.Module):
    """A "model" that ignores its input: ``value`` at every step of every sequence, as (B, T, *value.shape);
    returned as ``(outputs, None)`` like the recurrent nets' ``(logits, states)``."""

    def __init__(self, value):
        super().__init__()
        self.value = torch.as_tensor(np.asarray(value), dtype=torch.float32)

    def forward(self, frames, *args, **kwargs):
        B, T = frames.shape[:2]
        return self.value.expand(B, T, *self.value.shape), None


def _counts(labels, k: int) -> np.ndarray:
    return np.bincount(np.asarray(labels, dtype=np.int64).ravel(), minlength=k)[:k]


def _class_prior_logits(train_labels, k: int) -> np.ndarray:
    """log of the training class frequencies, add-one smoothed (every class keeps a finite loss)."""
    c = _counts(train_labels, k).astype(np.float64)
    return np.log((c + 1.0) / (c.sum() + k))


def _one_hot(k: int, c: int) -> np.ndarray:
    v = np.zeros(k, np.float32)
    v[c] = 1.0
    return v


def _meta_model(cfg: RunConfig, **kwargs) -> nn.Module:
    """The run's net built on the meta device (no memory, no weights, nothing downloaded): only to see
    which output keys its ``evaluate`` reports."""
    from models import create_model

    kw = {**kwargs, **cfg.model_kw}
    kw.pop("pretrained", None)  # weights do not change the layout
    with torch.device("meta"):
        return create_model(cfg.model, **kw)


# ------------------------------------------------------------------------------------------- polygon
class _TokenTable:
    """Constant per-step logits for the polygon decoder: row t of ``table`` at step t, whatever the image."""

    def __init__(self, table: np.ndarray):
        self.table = torch.as_tensor(table, dtype=torch.float32)

    def __call__(self, image, target):
        B, T = target.shape
        return self.table[:T].expand(B, T, self.table.shape[1])


def _polygon(cfg: RunConfig) -> Baselines:
    from .data.cityscapes import EXTEND
    from .data.polygon import end_token
    from .metrics_polygon import mask_iou, polygon_iou, rasterise
    from .train import polygon as task

    train, test = task.datasets(cfg)
    size = test.image_size
    # (a) the mean training mask on the task's grid: each training polygon as a grid mask (a cell is in when
    # at least half of it is covered on the metric's raster), averaged, thresholded at 0.5, then drawn on
    # the metric's raster (each raster pixel takes its cell's value)
    n = rasterise(train.instances[0]["polygon"], size).shape[0]
    cell = (np.arange(n) * test.grid) // n                      # grid cell of each raster row / column
    onehot = np.eye(test.grid)[cell]                            # (n, grid)
    area = np.outer(onehot.sum(0), onehot.sum(0))
    total = np.zeros((test.grid, test.grid))
    for inst in train.instances:
        covered = (onehot.T @ rasterise(inst["polygon"], size) @ onehot) / area   # fraction of each cell
        total += covered >= 0.5
    grid_mask = total / len(train) >= 0.5
    mean_mask = grid_mask[cell][:, cell]
    iou_mean = [mask_iou(mean_mask, rasterise(inst["polygon"], size)) for inst in test.instances]
    # (a') the same mean on the metric's own raster (not held to the grid: the strictest fixed mask)
    fine = np.mean([rasterise(inst["polygon"], size) for inst in train.instances], axis=0) >= 0.5
    iou_fine = [mask_iou(fine, rasterise(inst["polygon"], size)) for inst in test.instances]
    # (b) the object's box as the crop frames it (the built-in stand-in: its mean margin per side)
    margin = getattr(test, "mean_margin", EXTEND)
    lo, hi = size * margin / (1 + 2 * margin), size * (1 + margin) / (1 + 2 * margin)
    rect = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]])
    iou_rect = [polygon_iou(rect, inst["polygon"], size) for inst in test.instances]

    # test_loss: constant per-step logits through the task's loss, batched as evaluate batches
    n_tokens = end_token(test.grid) + 1
    counts = np.zeros((train.max_len + 1, n_tokens))
    for i in range(len(train)):
        t = train.target(i)
        keep = t >= 0
        np.add.at(counts, (np.nonzero(keep)[0], t[keep]), 1.0)
    tables = {"per-step training token frequencies (add-one smoothed)":
              np.log((counts + 1.0) / (counts.sum(1, keepdims=True) + n_tokens)),
              "uniform over the grid cells and the end token": np.zeros_like(counts)}
    losses = {}
    for name, table in tables.items():
        stub, per_batch = _TokenTable(table), []
        for a in range(0, len(test), cfg.batch_size):
            idx = range(a, min(a + cfg.batch_size, len(test)))
            batch = {"image": None, "target": torch.stack([torch.from_numpy(test.target(j)) for j in idx]),
                     "length": torch.tensor([len(test.instances[j]["vertices"]) for j in idx])}
            per_batch.append(task.loss(stub, batch).item())
        losses[name] = float(np.mean(per_batch))

    candidates: Candidates = {
        f"mean training mask on the {test.grid}x{test.grid} grid (thresholded at 0.5)":
            {"test_iou": 100.0 * float(np.mean(iou_mean))},
        "mean training mask on the metric's raster (thresholded at 0.5)": {"test_iou": 100.0 * float(np.mean(iou_fine))},
        f"fixed rectangle: the object's box in the crop ({margin:.0%} margin per side)":
            {"test_iou": 100.0 * float(np.mean(iou_rect))},
        **{name: {"test_loss": value} for name, value in losses.items()},
    }
    return _pick(candidates, lambda k: k == "test_loss")


# ------------------------------------------------------------------------------------------- sequence
def _sequence(cfg: RunConfig) -> Baselines:
    from .train import sequence as task

    train, test = task.datasets(cfg)
    candidates: Candidates = {}
    if task._is_regression(train):  # gap sequences: one output per frame, the distance / max_gap
        dist = np.asarray(train.labels, np.int64).ravel() - 1     # -1 = odd frame not seen yet
        seen = dist[dist >= 0]
        consts = {}
        for where, d in (("training frames", dist), ("training frames after the odd one", seen)):
            consts[f"constant distance = most common over the {where}"] = int(np.bincount(d + 1).argmax()) - 1
            # floor(median): a minimiser of the absolute error whichever way an even count splits
            consts[f"constant distance = median over the {where}"] = int(math.floor(float(np.median(d))))
        for name, c in consts.items():
            candidates[f"{name} ({c})"] = task.evaluate(_Constant([c / train.max_gap]), test, cfg)
    else:
        c = int(_counts(train.labels, train.num_classes).argmax())
        candidates[f"majority training class ({c})"] = task.evaluate(
            _Constant(_one_hot(train.num_classes, c)), test, cfg)
    acc_keys = [k for k in next(iter(candidates.values())) if k.startswith("test_acc")]
    candidates[f"chance (1 / {test.num_classes} classes)"] = {k: 100.0 / test.num_classes for k in acc_keys}
    return _pick(candidates, lambda k: k.startswith("err_gap"))


# ------------------------------------------------------------------------------------------- action
def _class_baselines(train_labels, test_labels, k: int, score) -> Candidates:
    """Majority class, chance, class prior and uniform as constant logits (N, k) given to
    ``score(logits (N, k) tensor, labels (N,) tensor) -> {key: value}``; the accuracy keys are taken from
    the majority / chance predictors, the loss keys (``*loss``) from the prior / uniform ones."""
    y = torch.as_tensor(np.asarray(test_labels, np.int64))
    n = len(y)
    c = int(_counts(train_labels, k).argmax())
    const = lambda v: torch.as_tensor(np.tile(np.asarray(v, np.float32), (n, 1)))  # noqa: E731
    acc = lambda s: {key: v for key, v in s.items() if not key.endswith("loss")}  # noqa: E731
    loss = lambda s: {key: v for key, v in s.items() if key.endswith("loss")}  # noqa: E731
    majority = score(const(_one_hot(k, c)), y)
    prior = score(const(_class_prior_logits(train_labels, k)), y)
    return {f"majority training class ({c})": acc(majority),
            f"chance (1 / {k} classes)": {key: 100.0 / k for key in acc(majority)},
            "training class frequencies (add-one smoothed)": loss(prior),
            f"uniform over the {k} classes": loss(score(const(np.zeros(k, np.float32)), y))}


def _action(cfg: RunConfig) -> Baselines:
    from .metrics import top1_accuracy
    from .train import action as task

    if cfg.data_kw.get("modality", "rgb") != "rgb":  # same videos and labels; skips computing their flow
        cfg = dataclasses.replace(cfg, data_kw={**cfg.data_kw, "modality": "rgb"})
    train, test = task.datasets(cfg)

    def score(logits, labels):  # evaluate's formulas on constant per-frame logits
        s = task.scores(logits[:, None].expand(-1, task.ANTICIPATION_FRAMES, -1).numpy())
        return {"test_acc": 100.0 * top1_accuracy(s["recognition"], labels.numpy()),
                "test_atcp": 100.0 * top1_accuracy(s["anticipation"], labels.numpy()),
                "test_loss": F.cross_entropy(torch.from_numpy(s["recognition"]).float(), labels).item()}

    return _pick(_class_baselines(train.base.labels, test.base.labels, test.num_classes, score),
                 lambda k: k == "test_loss")


def _subgoal(cfg: RunConfig) -> Baselines:
    from .metrics import top1_accuracy
    from .train import subgoal as task

    train, test = task.datasets(cfg)
    streams = task.has_subgoals(_meta_model(cfg, num_classes=train.num_classes))
    acc_keys = ["test_acc", "test_acc_bn_batch"]
    if streams:
        acc_keys += ["test_acc_spatial", "test_acc_spatial_bn_batch"]

    def score(logits, labels):
        acc = 100.0 * top1_accuracy(logits.numpy(), labels.numpy())
        return {**{k: acc for k in acc_keys}, "test_loss": F.cross_entropy(logits, labels).item()}

    return _pick(_class_baselines(train.base.labels, test.base.labels, test.num_classes, score),
                 lambda k: k == "test_loss")


# ------------------------------------------------------------------------------------------- frames
def _last_frame_pairs(test, collate, batch_size: int = 32):
    """(persistence prediction, truth) over the test set: the last observed frame at every future step."""
    preds, trues = [], []
    for a in range(0, len(test), batch_size):
        batch = collate([test[j] for j in range(a, min(a + batch_size, len(test)))])
        x, y = batch["inputs"], batch["targets"]
        preds.append(x[:, -1:].expand(-1, y.shape[1], *x.shape[2:]))
        trues.append(y)
    return torch.cat(preds), torch.cat(trues)


def _prediction(cfg: RunConfig) -> Baselines:
    from .train import prediction as task

    _, test = task.datasets(cfg)
    pred, true = _last_frame_pairs(test, task.collate)
    return {k: (v, "copy the last observed frame") for k, v in task.frame_metrics(pred, true).items()}


def _nowcast(cfg: RunConfig) -> Baselines:
    from .train import nowcast as task

    _, test = task.datasets(cfg)
    pred, true = _last_frame_pairs(test, task.collate)
    out = task.scores(pred, true, threshold=cfg.data_kw.get("threshold", 0.5),
                      pooling=cfg.scheme_kw.get("score_pooling", "step"))
    return {k: (v, "persistence: the last observed map") for k, v in out.items()}


def _videopred(cfg: RunConfig) -> Baselines:
    from .data.moving_fmnist import baseline_scores
    from .train import videopred as task

    _, test = task.datasets(cfg)
    return {f"test_{k}": (v, "copy the last observed frame") for k, v in baseline_scores(test).items()}


# ------------------------------------------------------------------------------------------- landmarks
def _landmarks(cfg: RunConfig) -> Baselines:
    from .train import landmarks as task

    train, test = task.datasets(cfg)
    shape = np.asarray(task.mean_shape(train), np.float32).reshape(-1)   # normalised (x, y) of the 68 points
    out = task.evaluate(_Constant(shape), test, cfg)
    return {k: (v, "the mean training shape in every frame") for k, v in out.items()}


# ------------------------------------------------------------------------------------------- steering
def _steering(cfg: RunConfig) -> Baselines:
    from .train import steering as task

    train, test = task.datasets(cfg)
    raw = train.base
    angles = raw.angles() if hasattr(raw, "angles") else task._real_angles(raw)   # what the scale is fitted on
    scale = test.angle_scale
    mean_label = float(task.angle_to_label(torch.as_tensor(angles), scale).double().mean())
    # each a constant output of the net (float32, on the label scale)
    preds = {f"mean training angle ({np.mean(angles):.3g} deg)": task.angle_to_label(np.mean(angles), scale),
             f"median training angle ({np.median(angles):.3g} deg)": task.angle_to_label(np.median(angles), scale),
             f"mean training label ({mean_label:.4g} on the sigmoid scale)": torch.tensor(mean_label)}
    got = {"angle": [], "road_type": []}
    for a in range(0, len(test), 64):   # every test window's true angle and road type, as predict reads them
        batch = task.collate([test[j] for j in range(a, min(a + 64, len(test)))])
        got["angle"].append(batch["angle"].double())
        got["road_type"].append(batch["road_type"])
    angle, road = torch.cat(got["angle"]), torch.cat(got["road_type"])
    prefixes = ["test_"]
    if cfg.scheme_kw.get("sub_goals", True) and task.has_subgoals(_meta_model(cfg, out_act="sigmoid")):
        prefixes += ["t1_", "t2_"]
    reading = cfg.scheme_kw.get("acc_reading", "eq24")
    candidates: Candidates = {}
    for name, label in preds.items():
        pred = torch.full_like(angle, float(label.float()))
        s = {}
        for prefix in prefixes:
            s.update(task.scores(pred, angle, road, scale, prefix, reading))
        candidates[name] = {k: v for k, v in s.items() if "_n_" not in k}
    return _pick(candidates, lambda k: k.endswith(("_mse", "_rmse_deg")))


# ------------------------------------------------------------------------------------------- gesture
def _gesture_targets(ds) -> list[list[int]]:
    """Every video's CTC target sequence (labels c + 1) as ``GestureClips`` gives it, read from the label
    arrays (no frame is loaded): the built-in set's 0-padded sequences, NVGesture's one label per video."""
    base = ds.base
    if hasattr(base, "targets"):
        return [[int(v) for v in row[: int((np.asarray(row) > 0).sum())]] for row in base.targets]
    if isinstance(base, torch.utils.data.Subset):
        return [[int(base.dataset.labels[i]) + 1] for i in base.indices]
    return [[int(label) + 1] for label in base.labels]


def _gesture(cfg: RunConfig) -> Baselines:
    from collections import Counter

    from .metrics import ctc_accuracy
    from .train import gesture as task

    train, test = task.datasets(cfg)
    train_t, test_t = _gesture_targets(train), _gesture_targets(test)
    seq = list(Counter(tuple(t) for t in train_t).most_common(1)[0][0])   # ties: first seen
    out = {"test_acc": (100.0 * ctc_accuracy([seq] * len(test_t), test_t),
                        f"the most common training label sequence {seq}")}
    if all(len(t) == 1 for t in test_t):
        c = Counter(v for t in train_t for v in t).most_common(1)[0][0]
        out["test_acc_avg"] = (100.0 * ctc_accuracy([[c]] * len(test_t), test_t),
                               f"the most common training gesture ({c})")
    return out


# ------------------------------------------------------------------------------------------- dispatch
# task -> (its baseline function, config fields besides task / dataset / data_root / data_kw its result reads)
_TASKS: dict[str, tuple[Callable[[RunConfig], Baselines], tuple[str, ...]]] = {
    "polygon": (_polygon, ("batch_size",)),            # test_loss is a mean over evaluate's batches
    "sequence": (_sequence, ("scheme_kw",)),           # eval_bn names the keys
    "action": (_action, ()),
    "subgoal": (_subgoal, ("model", "model_kw")),      # SCS nets add the spatial-stream keys
    "prediction": (_prediction, ()),
    "nowcast": (_nowcast, ("scheme_kw",)),             # score_pooling
    "videopred": (_videopred, ()),
    "landmarks": (_landmarks, ("batch_size",)),        # test_loss summed over evaluate's batches
    "steering": (_steering, ("model", "model_kw", "scheme_kw")),   # stream keys, acc_reading
    "gesture": (_gesture, ()),
}
_CACHE: dict[tuple, Baselines] = {}


def _key(cfg: RunConfig, fields: tuple[str, ...]) -> tuple:
    blob = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
    return (cfg.task, cfg.dataset, cfg.data_root, blob(cfg.data_kw), *(blob(getattr(cfg, f)) for f in fields))


def trivial_baselines(cfg: RunConfig) -> dict[str, tuple[float, str]]:
    """metric name (a key the task's evaluate returns) -> (value, what the trivial predictor is)."""
    if cfg.task not in _TASKS:
        raise ValueError(f"no trivial baseline for task {cfg.task!r}; known: {sorted(_TASKS)}")
    fn, fields = _TASKS[cfg.task]
    key = _key(cfg, fields)
    if key not in _CACHE:
        _CACHE[key] = fn(cfg)
    return dict(_CACHE[key])


def clear_cache() -> None:
    _CACHE.clear()
