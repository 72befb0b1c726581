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

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from models import create_model

from ..config import RunConfig
from .standin import cached_state, copy_fc_layers, standin_dir
from ..metrics import ctc_accuracy, ctc_greedy_decode

BLANK = 0
MIN_CLIP_LEN = 16  # the registered C3D nets: 16 -> 8 -> 4 -> 2 -> 1 through pool2..pool5


def clip_sequence(frames: torch.Tensor, clip_len: int, stride: int | None = None) -> torch.Tensor:
    """(T, C, H, W) frames -> (S, C, clip_len, H, W) clips starting at 0, stride, 2 stride, ...; the last
    clip ends at or after frame T - 1 (the tail padded by repeating the last frame)."""
    stride = int(stride or clip_len)
    if clip_len < 1 or stride < 1:
        raise ValueError(f"clip_len and stride must be positive, got {clip_len}, {stride}")
    T = frames.shape[0]
    if T == 0:
        raise ValueError("clip_sequence: empty video")
    S = 1 + max(0, math.ceil((T - clip_len) / stride))
    need = (S - 1) * stride + clip_len
    if need > T:
        frames = torch.cat([frames, frames[-1:].expand(need - T, *frames.shape[1:])])
    clips = torch.stack([frames[s * stride: s * stride + clip_len] for s in range(S)])  # (S, L, C, H, W)
    return clips.transpose(1, 2).contiguous()


class GestureClips(Dataset):
    """Wraps a gesture data set: item -> ``{"clips": (S, 3, L, H, W) float, "targets": (K,) int64 labels
    (c + 1), "target_length": int}``; forwards ``source`` / ``fingerprint`` / ``num_classes``."""

    def __init__(self, base, clip_len: int, clip_stride: int | None = None, pixel_scale: float = 1.0,
                 pixel_mean: float = 0.5, num_classes: int | None = None):
        self.base, self.clip_len, self.clip_stride = base, int(clip_len), clip_stride
        self.pixel_scale, self.pixel_mean = float(pixel_scale), float(pixel_mean)
        self.num_classes = int(num_classes if num_classes is not None else base.num_classes)
        self.source = getattr(base, "source", type(base).__name__)
        self.skipped_count = 0

    def __len__(self) -> int:
        return len(self.base)

    def fingerprint(self):
        return self.base.fingerprint() if hasattr(self.base, "fingerprint") else None

    def __getitem__(self, i):
        item = self.base[i]
        self.skipped_count = getattr(self.base, "skipped_count", 0)
        frames = item["frames"].float()
        if frames.shape[1] == 1:  # grey -> 3 channels
            frames = frames.expand(-1, 3, -1, -1)
        frames = frames * self.pixel_scale - self.pixel_mean
        if "targets" in item:  # built-in stand-in: padded label sequence (c + 1), 0 = padding
            k = int(item["target_length"])
            targets = item["targets"][:k].long()
        else:                  # NVGesture: one gesture per video, label 0..24
            targets = torch.tensor([int(item["label"]) + 1])
        return {"clips": clip_sequence(frames, self.clip_len, self.clip_stride), "targets": targets,
                "target_length": len(targets)}


def collate_gestures(items: list[dict]) -> dict:
    """Pads the clip axis (repeating each video's last clip; ``input_lengths`` keeps the true counts) and
    the targets (0-padded, ``target_lengths``)."""
    S = max(it["clips"].shape[0] for it in items)
    K = max(1, max(int(it["target_length"]) for it in items))
    clips, targets = [], torch.zeros(len(items), K, dtype=torch.long)
    for b, it in enumerate(items):
        c = it["clips"]
        if c.shape[0] < S:
            c = torch.cat([c, c[-1:].expand(S - c.shape[0], *c.shape[1:])])
        clips.append(c)
        targets[b, : int(it["target_length"])] = it["targets"]
    return {"clips": torch.stack(clips), "targets": targets,
            "input_lengths": torch.tensor([it["clips"].shape[0] for it in items], dtype=torch.long),
            "target_lengths": torch.tensor([int(it["target_length"]) for it in items], dtype=torch.long)}


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
            ds = _LimitedSubset(ds, range(min(int(limit), len(ds))))
        out.append(GestureClips(ds, num_classes=NUM_CLASSES, **clip))
    return tuple(out)


class _LimitedSubset(torch.utils.data.Subset):
    """A Subset that still reports the wrapped loader's source and skipped-file count."""

    @property
    def source(self):
        return getattr(self.dataset, "source", type(self.dataset).__name__)

    @property
    def skipped_count(self):
        return getattr(self.dataset, "skipped_count", 0)


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


def build(cfg: RunConfig):
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


def cache_dir() -> Path:
    """``$BENCHMARK_CACHE/gesture_standin`` or ``~/.cache/benchmark/gesture_standin`` (like timm's cache)."""
    return standin_dir("gesture")


def standin_clips(spec: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips of ``spec["clip_len"]`` frames every ``clip_len // 2`` frames of stand-in gesture videos drawn
    with their own data seed (``spec["seed"]``, 1000: disjoint from every task draw), each labelled with
    the gesture covering most of its frames (c + 1) or 0 (none)."""
    from ..data.builtin_standins import GESTURES, GestureSequences

    L = int(spec.get("clip_len", MIN_CLIP_LEN))
    data = GestureSequences("train", n=int(spec["n"]), T=int(spec["T"]), size=int(spec["size"]),
                            num_classes=int(spec.get("num_classes", len(GESTURES))),
                            max_gestures=int(spec.get("max_gestures", 1)), seed=int(spec.get("seed", 1000)))
    frames = torch.from_numpy(data.frames)                       # (N, T, 1, S, S)
    labels = torch.from_numpy(data.frame_labels)                 # (N, T)
    starts = range(0, data.frames.shape[1] - L + 1, max(1, L // 2))
    x = torch.stack([frames[:, a:a + L] for a in starts], 1).flatten(0, 1)       # (M, L, 1, S, S)
    lab = torch.stack([labels[:, a:a + L] for a in starts], 1).flatten(0, 1)     # (M, L)
    counts = F.one_hot(lab, data.num_classes + 1)[:, :, 1:].sum(1)               # gesture frames per class
    y = torch.where(counts.max(1).values > 0, counts.argmax(1) + 1, torch.zeros_like(counts[:, 0]))
    return x.transpose(1, 2).contiguous(), y                                     # (M, 1, L, S, S), (M,)


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
        params = list(net.parameters())
        opt = torch.optim.Adam(params, lr=float(spec["lr"]))
        net.train()
        for _ in range(int(spec["steps"])):
            idx = torch.randint(0, len(x), (int(spec["batch"]),))
            clips = x[idx].expand(-1, 3, -1, -1, -1) - 0.5        # the task's input (grey -> 3, centred)
            value = F.cross_entropy(net(clips, tap="logits"), y[idx])
            opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_value_(params, 5.0)
            opt.step()
    return {k: v.detach().clone() for k, v in net.state_dict().items() if not k.startswith("fc8.")}


def standin_weights(spec: dict, width: float, norm: str | None = None) -> dict:
    """The stand-in pretrained C3D state dict, trained once and cached (``cache_dir()``); concurrent runs
    wait on a file lock instead of training it twice."""
    blob = json.dumps({"spec": spec, "width": float(width), "norm": norm, "arch": "c3d", "v": STANDIN_VERSION},
                      sort_keys=True)
    path = cache_dir() / f"c3d_w{float(width):g}_{hashlib.sha256(blob.encode()).hexdigest()[:12]}.pt"
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


def scores(logits: torch.Tensor, batch: dict) -> dict:
    """Decoded sequences, targets and the per-video averaged-probability class of a batch's logits."""
    log_probs = logits.float().log_softmax(-1)
    decoded, targets, avg_cls = [], [], []
    for b in range(logits.shape[0]):
        n, k = int(batch["input_lengths"][b]), int(batch["target_lengths"][b])
        decoded.append(ctc_greedy_decode(log_probs[b, :n], blank=BLANK))
        targets.append(batch["targets"][b, :k].tolist())
        avg_cls.append(int(log_probs[b, :n, 1:].exp().mean(0).argmax()) + 1)
    return {"decoded": decoded, "targets": targets, "avg_class": avg_cls}


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


def load_trained(runs_root, cfg: RunConfig):
    """The model of a finished run, from its checkpoint (eval mode), and its test set."""
    from ..results import run_dir
    from .checkpoint import read_checkpoint
    from .loop import CHECKPOINT_FILE

    _, test_set = datasets(cfg)
    model = make_model(cfg, test_set.num_classes, pretrained=False)
    ckpt = read_checkpoint(run_dir(runs_root, cfg) / CHECKPOINT_FILE)
    model.load_state_dict(ckpt["model"])
    return model.eval(), test_set


@torch.no_grad()
def fused_accuracy(runs_root, cfgs: list[RunConfig], batch_size: int = 8) -> float:
    """Accuracy (%) of late fusion: the clip-wise class probabilities of several trained runs (e.g. the
    colour and the depth stream, prernn Table 6) averaged, then decoded and scored like ``evaluate``.
    The runs' test sets must hold the same videos in the same order (same targets, same clip counts)."""
    loaded = [load_trained(runs_root, c) for c in cfgs]
    n = len(loaded[0][1])
    if any(len(t) != n for _, t in loaded):
        raise ValueError(f"fused runs have test sets of different sizes: {[len(t) for _, t in loaded]}")
    decoded, targets = [], []
    for i in range(0, n, batch_size):
        idx = range(i, min(i + batch_size, n))
        probs, batch = 0.0, None
        for model, test_set in loaded:
            b = collate_gestures([test_set[j] for j in idx])
            if batch is not None and not (torch.equal(b["targets"], batch["targets"])
                                          and torch.equal(b["input_lengths"], batch["input_lengths"])):
                raise ValueError(f"fused runs disagree on the targets or clip counts of test videos {list(idx)}")
            batch = b
            probs = probs + model(b["clips"]).float().softmax(-1) / len(loaded)
        s = scores(probs.log(), batch)
        decoded += s["decoded"]
        targets += s["targets"]
    return 100.0 * ctc_accuracy(decoded, targets)
