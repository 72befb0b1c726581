"""The frame-sequence sets of the action task (``benchmark.train.action``; deeprnn 4.1, prernn 4.3): items
``{"frames": float (T, C, H, W), "label": int64}``, sets with ``num_classes``, ``source`` and
``fingerprint()``.

- ``builtin_sets``: ``MovingShapes`` (shape x direction classes, grey frames repeated to 3 channels).
  ``data_kw``: ``n_train``, ``n_test``, ``T``, ``size``, ``shapes``, ``target``, ``noise``, ``seed`` (the
  data draw; distinct draws/shape sets stand in for distinct data sets).
- ``real_sets``: ``"ucf101"`` / ``"hmdb51"`` (``split`` 1-3) / ``"kinetics"`` (train vs val), the loaders
  of ``benchmark.data``; ``T`` consecutive frames from the start of the video (every ``stride``-th; a
  shorter video repeats its last frame), resized to ``shorter`` and cropped to ``crop`` (random crop, flip
  and colour jitter shared by the frames of a video in training, centre crop at test; deeprnn 4.1),
  ImageNet-normalised. ``frames=True`` reads extracted frame folders.

``data_kw["modality"]``: ``"rgb"`` (default) or ``"flow"`` (prernn Table 5's temporal stream): the input
at step t is the Horn-Schunck flow (``benchmark.data.flow``) from frame t to t+1 of ``flow_stack``
consecutive steps (u, v channels stacked, the last step repeating the one before), clipped to +-20 px and
divided by 20 (the two-stream convention). Flow is computed once per video and cached as ``.npy``
(``flow_cache``; default ``$BENCHMARK_CACHE/flow``, else ``~/.cache/benchmark/flow``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from ..config import RunConfig

FLOW_CLIP = 20.0             # two-stream convention: flow clipped to +-20 px, scaled to [-1, 1]
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
REAL_SETS = ("ucf101", "hmdb51", "kinetics")


class _View(Dataset):
    """A labelled frame-sequence set seen through ``fn(frames (T, C, H, W) tensor, index) -> tensor``."""

    def __init__(self, base, fn, num_classes: int, source: str, fingerprint: str):
        self.base, self.fn, self.num_classes, self.source = base, fn, int(num_classes), source
        self._fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        return {"frames": self.fn(item["frames"], i, item), "label": torch.as_tensor(int(item["label"]))}

    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def skipped_count(self) -> int:
        return getattr(self.base, "skipped_count", 0)


def flow_cache_dir(kw: dict) -> Path:
    if kw.get("flow_cache"):
        return Path(kw["flow_cache"])
    return Path(os.environ.get("BENCHMARK_CACHE", Path.home() / ".cache" / "benchmark")) / "flow"


def stack_flow(flow: np.ndarray, T: int, stack: int = 1) -> np.ndarray:
    """(T - 1, 2, H, W) flow between consecutive frames -> (T, 2 * stack, H, W) network input: step t holds
    the flows t .. t + stack - 1 (indices past the end repeat the last flow), clipped and scaled."""
    if len(flow) == 0:  # a one-frame video has no motion
        flow = np.zeros((1, 2) + flow.shape[2:], np.float32)
    idx = np.minimum(np.arange(T)[:, None] + np.arange(stack)[None, :], len(flow) - 1)  # (T, stack)
    out = flow[idx].reshape(T, 2 * stack, *flow.shape[2:])
    return np.clip(out, -FLOW_CLIP, FLOW_CLIP) / FLOW_CLIP


def _builtin_flows(ds, kw: dict) -> np.ndarray:
    """Horn-Schunck flow of every video of a built-in set (N, T - 1, 2, H, W), cached on disk by the set's
    fingerprint and the flow parameters."""
    from .flow import flow_sequence

    alpha, iters = float(kw.get("flow_alpha", 0.1)), int(kw.get("flow_iters", 100))
    tag = hashlib.sha256(f"{ds.fingerprint()}|{alpha}|{iters}".encode()).hexdigest()[:16]
    path = flow_cache_dir(kw) / f"builtin_flow_{tag}.npy"
    if path.exists():
        return np.load(path)
    flows = np.stack([flow_sequence(v[:, 0], alpha, iters) for v in ds.frames]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npy")
    np.save(tmp, flows)
    tmp.replace(path)
    return flows


def builtin_sets(kw: dict):
    """(train_set, test_set) of ``MovingShapes`` for ``data_kw`` ``kw`` (see the module docstring)."""
    from .builtin_sequences import MovingShapes

    kw = dict(kw)
    gen = kw.pop("generator", "moving_shapes")
    if gen != "moving_shapes":
        raise ValueError(f"action task: built-in generator must be 'moving_shapes', got {gen!r}")
    modality, stack = kw.pop("modality", "rgb"), int(kw.pop("flow_stack", 1))
    flow_kw = {k: kw.pop(k) for k in ("flow_alpha", "flow_iters", "flow_cache") if k in kw}
    kw.pop("pretrain", None)  # the pre-training run (see ``pretrain_config``), not a data option
    n_train, n_test = kw.pop("n_train"), kw.pop("n_test")
    sets = []
    for split, n in (("train", n_train), ("test", n_test)):
        ds = MovingShapes(split, n=n, **kw)
        tag = f"{ds.source}({','.join(ds.shapes)}; target {ds.target}; seed {kw.get('seed', 0)})"
        if modality == "rgb":
            fn = lambda f, i, item: f.expand(-1, 3, -1, -1).contiguous()  # noqa: E731  grey -> 3 channels
        elif modality == "flow":
            flows = _builtin_flows(ds, flow_kw)
            T = ds.frames.shape[1]
            fn = lambda f, i, item, flows=flows, T=T: torch.from_numpy(stack_flow(flows[i], T, stack))  # noqa: E731
            tag += f" optical flow (Horn-Schunck, stack {stack})"
        else:
            raise ValueError(f"modality must be 'rgb' or 'flow', got {modality!r}")
        sets.append(_View(ds, fn, ds.num_classes, tag, f"{ds.fingerprint()}:{modality}:{stack}"))
    return tuple(sets)


def _real_base(cfg: RunConfig, subset: str, **video_kw):
    kw = cfg.data_kw
    if cfg.dataset == "ucf101":
        from .ucf101 import UCF101

        return UCF101(cfg.data_root, split=int(kw.get("split", 1)), subset=subset,
                      frames=bool(kw.get("frames", False)), **video_kw)
    if cfg.dataset == "hmdb51":
        from .hmdb51 import HMDB51

        return HMDB51(cfg.data_root, split=int(kw.get("split", 1)), subset=subset,
                      frames=bool(kw.get("frames", False)), **video_kw)
    if cfg.dataset == "kinetics":
        from .kinetics import Kinetics400

        return Kinetics400(cfg.data_root, subset="val" if subset == "test" else subset, **video_kw)
    raise ValueError(f"action task: dataset must be 'builtin' or one of {REAL_SETS}, got {cfg.dataset!r}")


class _FlowCrop:
    """Flow of the resized frames (cached per video), then one crop / flip per video (u negated on flip)."""

    def __init__(self, kw: dict, train: bool, seed: int, T: int):
        self.kw, self.train, self.T = kw, train, int(T)
        self.crop, self.shorter = int(kw.get("crop", 224)), kw.get("shorter", 368)
        self.generator = np.random.default_rng(seed)

    def __call__(self, frames: torch.Tensor, i: int, item: dict) -> torch.Tensor:
        from .augment import resize_shorter, worker_generator
        from .flow import cached_flow

        video = frames.permute(0, 2, 3, 1).numpy()  # (T, H, W, 3) uint8
        if self.shorter:
            video = resize_shorter(video, int(self.shorter))
        flow = cached_flow(f"{item['video']}|{self.kw.get('stride', 1)}", video, flow_cache_dir(self.kw),
                           float(self.kw.get("flow_alpha", 0.1)), int(self.kw.get("flow_iters", 100)))
        x = stack_flow(flow, self.T, int(self.kw.get("flow_stack", 1)))  # (T, 2L, H, W)
        H, W, c = x.shape[-2], x.shape[-1], min(self.crop, x.shape[-2], x.shape[-1])
        if self.train:
            g = worker_generator(self)
            y0, x0, flip = int(g.integers(0, H - c + 1)), int(g.integers(0, W - c + 1)), bool(g.random() < 0.5)
        else:
            y0, x0, flip = (H - c) // 2, (W - c) // 2, False
        x = x[..., y0:y0 + c, x0:x0 + c]
        if flip:
            x = x[..., ::-1].copy()
            x[:, 0::2] *= -1  # horizontal flip reverses u
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def real_sets(cfg: RunConfig):
    """(train_set, test_set) of a real data set (``cfg.dataset`` in ``REAL_SETS``; see the module docstring)."""
    from .augment import VideoAugment, first_frames

    kw = cfg.data_kw
    T, stride, modality = int(kw.get("T", 55)), int(kw.get("stride", 1)), kw.get("modality", "rgb")
    sampling = lambda n: first_frames(n, T)  # noqa: E731  T frames from the start, the last one repeated
    sets = []
    for subset, train in (("train", True), ("test", False)):
        if modality == "rgb":
            aug = VideoAugment(crop=int(kw.get("crop", 224)), shorter=kw.get("shorter", 368), train=train,
                               generator=np.random.default_rng(cfg.seed))
            base = _real_base(cfg, subset, transform=aug, sampling=sampling, max_frames=T, stride=stride,
                              as_float=True)
            mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            fn = lambda f, i, item, m=mean, s=std: (f - m) / s  # noqa: E731
        elif modality == "flow":
            # T + 1 frames give the T flows of the T steps
            base = _real_base(cfg, subset, sampling=lambda n: first_frames(n, T + 1), max_frames=T + 1,
                              stride=stride)
            fn = _FlowCrop(kw, train, cfg.seed, T)
        else:
            raise ValueError(f"modality must be 'rgb' or 'flow', got {modality!r}")
        limit = kw.get("n_train" if train else "n_test")
        if limit is not None and limit < len(base.samples):  # a fixed random subset (quick runs)
            keep = np.sort(np.random.default_rng(0).choice(len(base.samples), int(limit), replace=False))
            base.samples = [base.samples[j] for j in keep]
        fp = hashlib.sha256("|".join(f"{p}:{l}" for p, l in base.samples).encode()).hexdigest()[:16]
        sets.append(_View(base, fn, len(base.classes), f"{cfg.dataset}:{modality}", fp))
    return tuple(sets)


def standin_frames(spec: dict, shapes: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The still frames a stand-in backbone is pretrained on (``train.action.pretrain_standin``): every frame
    (N T, 1, H, W) of ``spec["n"]`` moving-shapes videos of ``shapes`` drawn with their own data seed
    (``spec["seed"]``, 1000), its shape label and its shape's centre in [-1, 1]^2 (the centroid of the
    pixels above 0.5)."""
    from .builtin_sequences import MovingShapes

    data = MovingShapes("train", n=int(spec["n"]), T=int(spec.get("T", 4)), size=int(spec["size"]),
                        seed=int(spec.get("seed", 1000)), shapes=shapes, target="shape",
                        noise=float(spec.get("noise", 0.1)))
    x = torch.from_numpy(data.frames).flatten(0, 1)                              # (N T, 1, H, W)
    y = torch.from_numpy(data.labels).repeat_interleave(data.frames.shape[1])   # shape of every frame
    mask = (x[:, 0] > 0.5).float()
    grid = (torch.arange(x.shape[-1], dtype=torch.float32) + 0.5) / x.shape[-1] * 2 - 1
    area = mask.sum((1, 2)).clamp_min(1.0)
    where = torch.stack([(mask.sum(1) * grid).sum(1) / area, (mask.sum(2) * grid).sum(1) / area], 1)
    return x, y, where
