"""Online hand-gesture recognition with CTC (prernn sec. 4.2, NVGesture; the method of Molchanov et al. 2016,
prernn ref. [28]): a C3D-based net reads a sequence of clips and gives one logit vector per clip (class 0 =
the CTC blank, class c + 1 = gesture c); the loss is CTC (Graves et al. 2006) over the clip sequence.

Input: each video (T frames) is cut into consecutive clips of ``clip_len`` frames (``clip_stride`` =
``clip_len`` by default: no overlap; a smaller stride gives overlapping clips); the tail is padded by
repeating the last frame so that no frame is dropped; a video shorter than one clip is padded the same
way. The registered C3D nets need ``clip_len >= 16`` (four 2x temporal poolings; ``width`` changes only
the channel counts) and frames of at least 16 x 16 px. Grey frames (the built-in stand-in) are repeated
to 3 channels, so a 3-channel (pretrained) C3D reads them unchanged. Pixels become
``(x * pixel_scale - pixel_mean)``: built-in ``1`` and ``0.5`` (frames in [0, 1], centred), paper
``255`` and ``128`` (the Caffe C3D reads 0-255 values; its Sports1M mean clip does not ship, mid-grey
stands in: set ``pixel_mean`` to whatever the converted weights expect).

Data (``cfg.data_kw``):
- built-in (``dataset="builtin"``): :class:`benchmark.data.builtin_standins.GestureSequences` (``n_train``,
  ``n_test``, ``T``, ``size``, ``num_classes``, ``max_gestures``, ``seed``): frames and the CTC target
  sequence (labels c + 1, blank 0).
- ``nvgesture``: :class:`benchmark.data.nvgesture.NVGesture` with ``cfg.data_root`` (``sensor`` color /
  depth, ``max_frames`` (80, as NVIDIA's reader), ``size`` (H, W)); each video holds one gesture, its CTC
  target is ``[label + 1]``. ``n_train`` / ``n_test`` keep the first items (None = all).

Metrics (``evaluate``): ``test_loss`` (CTC, same reduction as training), ``test_acc`` (%): best-path
decoding (:func:`benchmark.metrics.ctc_greedy_decode`, each video cut to its own number of clips) scored by
:func:`benchmark.metrics.ctc_accuracy`: a video is right iff its decoded label sequence equals the target
sequence exactly -- the paper's "classification accuracy" of a CTC-trained network on videos that hold
one gesture each (an empty decoding or an extra gesture is wrong). ``test_acc_avg`` (%), an alternative
reading for one-gesture videos only: argmax of the non-blank class probabilities averaged over the clips.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models import create_model

from ..analysis.gesture_scores import scores
from ..analysis.gesture_scores import fused_accuracy  # noqa: F401  (re-export: catalogue)
from ..config import RunConfig
from ..data.gesture_clips import (BLANK, MIN_CLIP_LEN, GestureClips, LimitedSubset, collate_gestures,
                                  standin_clips)
from ..metrics import ctc_accuracy
from .standin import cached_state, copy_fc_layers, fit, standin_path
from .task import Task, register_task


def datasets(cfg: RunConfig):
    kw = dict(cfg.data_kw)
    clip = dict(clip_len=kw.get("clip_len", MIN_CLIP_LEN), clip_stride=kw.get("clip_stride"),
                pixel_scale=kw.get("pixel_scale", 1.0 if cfg.dataset == "builtin" else 255.0),
                pixel_mean=kw.get("pixel_mean", 0.5 if cfg.dataset == "builtin" else 128.0))
    if clip["clip_len"] < MIN_CLIP_LEN and cfg.model.startswith(("tra_c3d", "prernn_c3d", "prernn_sih_c3d")):
        raise ValueError(f"clip_len={clip['clip_len']}: the C3D nets need clips of at least {MIN_CLIP_LEN} frames")
    if cfg.dataset == "builtin":
        from ..data.builtin_standins import GestureSequences

        common = {k: kw[k] for k in ("T", "size", "num_classes", "max_gestures", "seed", "noise") if k in kw}
        return (GestureClips(GestureSequences("train", n=kw["n_train"], **common), **clip),
                GestureClips(GestureSequences("test", n=kw["n_test"], **common), **clip))
    if cfg.dataset != "nvgesture":
        raise ValueError(f"gesture task: dataset must be 'builtin' or 'nvgesture', got {cfg.dataset!r}")
    from ..data.nvgesture import NUM_CLASSES, NVGesture

    size = kw.get("size")
    real = dict(sensor=kw.get("sensor", "color"), max_frames=kw.get("max_frames", 80),
                size=tuple(size) if size is not None else None)
    out = []
    for split, limit in (("train", kw.get("n_train")), ("test", kw.get("n_test"))):
        ds = NVGesture(cfg.data_root, split, **real)
        if limit is not None:
            ds = LimitedSubset(ds, range(min(int(limit), len(ds))))
        out.append(GestureClips(ds, num_classes=NUM_CLASSES, **clip))
    return tuple(out)


def make_model(cfg: RunConfig, num_classes: int, pretrained: bool = True) -> torch.nn.Module:
    """``create_model(cfg.model, num_classes=num_classes + 1, **model_kw)`` (+1: the CTC blank, class 0).

    Task-level keys of ``model_kw`` (not passed to the builder):
    - ``norm``: None (the C3D as published) or ``"bn"`` (``add_c3d_batchnorm``, for C3Ds trained here).
    - ``pretrained``: passed on (a path to converted Sports1M C3D weights, width 1 only) unless it is a
      dict: then a stand-in is trained once and cached (``pretrain_standin``, ``standin_weights``) and
      copied into the net's C3D, its fc6/fc7 and every PreRNN gate projection made from them
      (``load_c3d_weights``): narrow C3Ds have no Sports1M weights. ``pretrained=False`` here skips the
      copy (e.g. before loading a checkpoint).
    """
    kw = dict(cfg.model_kw)
    norm, spec = kw.pop("norm", None), kw.get("pretrained")
    if isinstance(spec, dict):
        kw["pretrained"] = False
    model = create_model(cfg.model, num_classes=num_classes + 1, **kw)
    if norm == "bn":
        add_c3d_batchnorm(model)
    elif norm is not None:
        raise ValueError(f"model_kw norm={norm!r}: use None (the C3D as published) or 'bn'")
    if isinstance(spec, dict) and pretrained:
        load_c3d_weights(model, standin_weights(spec, float(kw.get("width", 1.0)), norm))
    return model


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    return make_model(cfg, train_set.num_classes), train_set, test_set, collate_gestures


C3D_CONVS = ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b")


def add_c3d_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Put a BatchNorm3d after every conv of each C3D inside ``model`` (conv -> BN -> ReLU), in place.

    The published C3D has no normalisation and is used pretrained (Sports1M). Trained from scratch on the
    built-in stand-in it barely moves in a cpu budget (measured: without BN it cannot fit 32 training
    videos in 150 Adam steps; with BN it does in ~50). The layers and their shapes are unchanged.
    """
    from models.backbones import C3D

    found = False
    for m in model.modules():
        if isinstance(m, C3D):
            found = True
            for name in C3D_CONVS:
                conv = getattr(m, name)
                if isinstance(conv, torch.nn.Conv3d):
                    setattr(m, name, torch.nn.Sequential(conv, torch.nn.BatchNorm3d(conv.out_channels)))
    if not found:
        raise ValueError(f"norm='bn' applies to C3D nets; {type(model).__name__} holds no C3D")
    return model


# ------------------------------------------------------------------------- stand-in pretrained C3D
STANDIN_VERSION = 1   # bump when the stand-in pretraining changes (part of the cache key)


def pretrain_standin(spec: dict, width: float, norm: str | None = None) -> dict:
    """A stand-in for the Sports1M C3D weights at a narrow ``width`` (none exist): the narrow C3D trained
    as a clip classifier (pool5 -> fc6 -> fc7 -> a new output layer; dropout off) on ``standin_clips``
    (every gesture class of the stand-in + "no gesture", disjoint videos). ``spec``: n, T, size,
    num_classes, seed, clip_len, steps, batch, lr. Deterministic (its own RNG; the caller's RNG state is
    untouched). Returns the C3D's state dict without its output layer (the paper replaces it)."""
    from models import backbones as bb

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.get("seed", 1000)))
        x, y = standin_clips(spec)
        net = bb.c3d(width=width, drop_rate=0.0, num_classes=int(y.max()) + 1)
        if norm == "bn":
            add_c3d_batchnorm(net)
        net.train()

        def step_loss(idx: torch.Tensor) -> torch.Tensor:
            clips = x[idx].expand(-1, 3, -1, -1, -1) - 0.5        # the task's input (grey -> 3, centred)
            return F.cross_entropy(net(clips, tap="logits"), y[idx])

        fit(list(net.parameters()), spec, len(x), step_loss)
    return {k: v.detach().clone() for k, v in net.state_dict().items() if not k.startswith("fc8.")}


def standin_weights(spec: dict, width: float, norm: str | None = None) -> dict:
    """The stand-in pretrained C3D state dict, trained once and cached (``$BENCHMARK_CACHE/gesture_standin``,
    ``standin_path``); concurrent runs wait on a file lock instead of training it twice."""
    path = standin_path("gesture", "c3d", width, spec, STANDIN_VERSION, norm=norm)
    cached_state(path, lambda: pretrain_standin(spec, width, norm))
    return torch.load(path, map_location="cpu", weights_only=True)


def load_c3d_weights(model: torch.nn.Module, state: dict) -> int:
    """Copy a C3D state dict (convs [+ BN], ``fc6.*``, ``fc7.*``) into every place of a PreRNN / traditional
    net that holds those layers: the C3D trunk, the kept-feedforward fc layers and the PreRNN gate
    projections made from them (every gate's copy gets the pretrained values, as eq. 7 initialises them).
    New layers (traditional recurrent layers, W_hh, the output layer) are left alone. Returns the number
    of tensors copied."""
    from models.backbones import C3D
    from models.prernn import TraRNNLayer

    nets = [m for m in model.modules() if isinstance(m, C3D)]
    if len(nets) != 1:
        raise ValueError(f"expected one C3D in {type(model).__name__}, found {len(nets)}")
    own = nets[0].state_dict()
    trunk = {k: v for k, v in state.items() if k in own}
    bad = [k for k, v in trunk.items() if own[k].shape != v.shape]
    missing = [k for k in own if not k.startswith(("fc6.", "fc7.", "fc8.")) and k not in state]
    if bad or missing:
        raise ValueError(f"C3D state does not fit: shapes differ at {bad}, missing {missing}")
    nets[0].load_state_dict(trunk, strict=False)
    copied = len(trunk)
    fresh = {id(m) for t in model.modules() if isinstance(t, TraRNNLayer) for m in t.modules()}
    fresh |= {id(m) for n, m in nets[0].named_children() if n in ("fc6", "fc7")}  # loaded above
    return copied + copy_fc_layers(model, state, skip=fresh)


def ctc_loss(logits: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
             target_lengths: torch.Tensor) -> torch.Tensor:
    """CTC over the clip axis of ``logits`` (B, S, C), blank = 0: ``torch.nn.CTCLoss`` (reduction "mean":
    each video's negative log-likelihood divided by its target length, then averaged over the batch).
    ``zero_infinity``: a video with fewer clips than its target needs contributes 0 instead of inf."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (S, B, C)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=BLANK, reduction="mean",
                      zero_infinity=True)


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    logits = model(batch["clips"])
    return ctc_loss(logits, batch["targets"], batch["input_lengths"], batch["target_lengths"])


@torch.no_grad()
def evaluate(model, test_set, cfg: RunConfig) -> dict:
    model.eval()
    losses, weights, decoded, targets, avg_cls = [], [], [], [], []
    bs = cfg.batch_size
    for i in range(0, len(test_set), bs):
        batch = collate_gestures([test_set[j] for j in range(i, min(i + bs, len(test_set)))])
        logits = model(batch["clips"])
        losses.append(ctc_loss(logits, batch["targets"], batch["input_lengths"], batch["target_lengths"]).item())
        weights.append(len(batch["clips"]))
        s = scores(logits, batch)
        decoded += s["decoded"]
        targets += s["targets"]
        avg_cls += s["avg_class"]
    out = {"test_loss": float(np.average(losses, weights=weights)),
           "test_acc": 100.0 * ctc_accuracy(decoded, targets)}
    single = [len(t) == 1 for t in targets]
    if all(single):
        out["test_acc_avg"] = 100.0 * float(np.mean([a == t[0] for a, t in zip(avg_cls, targets)]))
    return out


# ------------------------------------------------------------------------- trained runs, stream fusion
def is_done(runs_root, cfg: RunConfig) -> bool:
    from ..results import run_dir, run_status

    return run_status(run_dir(runs_root, cfg)) == "done"


def test_model(cfg: RunConfig):
    """The untrained model (no stand-in weights) and the test set, for a finished run's weights."""
    _, test_set = datasets(cfg)
    return make_model(cfg, test_set.num_classes, pretrained=False), test_set


TASK = register_task(Task("gesture", build=build, loss=loss, evaluate=evaluate, test_model=test_model))
