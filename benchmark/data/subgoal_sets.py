"""The action sets of task ``subgoal`` (scs sections 5.4-5.5): frames, label and the Horn-Schunck flow
targets of the temporal sub-goal T^2.

``dataset="builtin"`` is ``MovingShapes`` (grey frames repeated to 3 channels) in one of
``BUILTIN_VARIANTS`` (``variant``: the cpu-scale stand-ins of Kinetics / UCF-101 / HMDB-51, see there),
``n_train``, ``n_test``, ``T``, ``size``; the flow of every training sample is computed once
(``BuiltinActions.add_flow``: ``flow.sequence_flow``, the Horn-Schunck of ``benchmark.data.flow`` on a
batch). Real data (``ucf101``, ``hmdb51``, ``kinetics``; ``RealActions``): the loaders of
``benchmark/data``, ``VideoAugment`` (shorter side ``shorter``, ``size`` crop, flip, colour; centre crop
at test), a random window of ``T`` frames for training and the whole video (every ``stride``-th frame, at
most ``test_max_frames``) for testing; the flow of each video is computed once on its frames resized so
that the crop becomes ``flow_size`` px and cached (``flow_cache`` = ``<data_root>/flow_cache``); each
sample takes its frames' flow with the same crop and flip.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from .action_sets import flow_cache_dir
from .flow import cached_array, flow_sequence, sequence_flow

if TYPE_CHECKING:
    from ..config import RunConfig

# Built-in stand-ins of the three action data sets (cpu scale): MovingShapes, class = (shape, direction).
# Kinetics: the big pre-training set (all six shapes, 24 classes); UCF-101: three shapes (12 classes);
# HMDB-51: the three other shapes under more noise (12 classes; harder, as HMDB-51 is). Each has its own
# data seed so that the sets are not drawn from one random stream.
BUILTIN_VARIANTS = {
    "kinetics": dict(shapes=("triangle", "square", "circle", "star", "rhombus", "cross"), noise=0.2, data_seed=1),
    "ucf101": dict(shapes=("triangle", "square", "circle"), noise=0.2, data_seed=2),
    "hmdb51": dict(shapes=("star", "rhombus", "cross"), noise=0.5, data_seed=3),
}


class BuiltinActions(Dataset):
    """MovingShapes as a 3-channel action set with flow targets: items ``frames`` (T, 3, H, W), ``label``,
    ``flow`` (T, 2, s, s) and ``flow_valid`` (T,) (False on the first frame of the item)."""

    def __init__(self, split: str, variant: str = "ucf101", n: int = 256, T: int = 8, size: int = 32,
                 window: int | None = None, **overrides):
        from .builtin_sequences import MovingShapes

        if variant not in BUILTIN_VARIANTS:
            raise ValueError(f"variant must be one of {sorted(BUILTIN_VARIANTS)}, got {variant!r}")
        v = {**BUILTIN_VARIANTS[variant], **overrides}
        self.base = MovingShapes(split, n=n, T=T, size=size, seed=v["data_seed"], shapes=v["shapes"],
                                 target="both", noise=v["noise"])
        self.num_classes, self.variant, self.window = self.base.num_classes, variant, window
        self.source = (f"{self.base.source}[{variant} stand-in: {len(v['shapes'])} shapes x 4 directions, "
                       f"noise {v['noise']}]")
        self.flow = None

    def add_flow(self, flow_size: int, alpha: float = 0.1, iters: int = 100, cache_dir: str | None = None) -> None:
        """Horn-Schunck flow of every sample (all frames of the set as one batch), computed once per set and
        flow setting and kept on disk (``cache_dir``; default ``$BENCHMARK_CACHE/flow``): keyed on the set's
        fingerprint (its frames and labels), so a run with other frames never reads it."""
        n, T, _, _, _ = self.base.frames.shape
        tag = hashlib.sha256(f"{self.fingerprint()}|{flow_size}|{alpha}|{iters}".encode()).hexdigest()[:16]
        path = flow_cache_dir({"flow_cache": cache_dir}) / f"subgoal_flow_{tag}.npy"
        grey = torch.from_numpy(self.base.frames[:, :, 0])
        flow = cached_array(path, lambda: sequence_flow(grey, flow_size, alpha, iters).numpy(),
                            lambda a: a.shape == (n, T, 2, flow_size, flow_size), f"({n}, {T}, 2, s, s)")
        self.flow = torch.from_numpy(flow)

    def fingerprint(self) -> str:
        return self.base.fingerprint()

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        frames = torch.from_numpy(self.base.frames[i]).expand(-1, 3, -1, -1).contiguous()
        T = frames.shape[0]
        a, b = 0, T
        if self.window is not None and self.window < T:  # one random training window (torch's seeded RNG)
            a = int(torch.randint(0, T - self.window + 1, ()).item())
            b = a + self.window
        item = {"frames": frames[a:b], "label": torch.as_tensor(int(self.base.labels[i]))}
        if self.flow is not None:
            item["flow"] = self.flow[i, a:b]
            valid = torch.ones(b - a, dtype=torch.bool)
            valid[0] = False
            item["flow_valid"] = valid
        return item


class _Window:
    """Sampling callable for the video loaders: a random window of T frames (train; short videos repeat
    their last frame) or every frame up to ``max_frames`` (test). Keeps the last indices it gave."""

    def __init__(self, T: int | None, train: bool, max_frames: int | None = None, seed: int = 0):
        self.T, self.train, self.max_frames = T, train, max_frames
        self.generator = np.random.default_rng(seed)
        self.last = None

    def __call__(self, n: int) -> np.ndarray:
        from .augment import worker_generator

        if self.train:
            start = int(worker_generator(self).integers(0, max(1, n - self.T + 1)))
            idx = np.minimum(start + np.arange(self.T), n - 1)
        else:
            idx = np.arange(n if self.max_frames is None else min(n, self.max_frames))
        self.last = idx
        return idx


class RealActions(Dataset):
    """UCF-101 / HMDB-51 (split ``split``) / Kinetics-400 clips with per-video cached flow targets."""

    def __init__(self, name: str, root: str, train: bool, T: int = 25, size: int = 224, shorter: int = 368,
                 flow_size: int = 56, stride: int = 1, test_max_frames: int | None = None, split: int = 1,
                 frames: bool = False, flow_cache: str | None = None, seed: int = 0, window: int | None = None):
        from .augment import VideoAugment

        self.sampler = _Window(window or T, train, test_max_frames, seed)
        self.augment = VideoAugment(crop=size, train=train, shorter=shorter,
                                    generator=np.random.default_rng(seed + 1))
        kw = dict(transform=self.augment, sampling=self.sampler, stride=stride, as_float=True, frames=frames)
        if name == "ucf101":
            from .ucf101 import UCF101

            self.base = UCF101(root, split=split, subset="train" if train else "test", **kw)
        elif name == "hmdb51":
            from .hmdb51 import HMDB51

            self.base = HMDB51(root, split=split, subset="train" if train else "test", **kw)
        elif name == "kinetics":
            from .kinetics import Kinetics400

            kw.pop("frames")
            self.base = Kinetics400(root, subset="train" if train else "val", **kw)
        else:
            raise ValueError(f"no action loader for data set {name!r}")
        self.num_classes, self.source = len(self.base.classes), name
        self.size, self.shorter, self.flow_size = size, shorter, flow_size
        self.flow_cache = Path(flow_cache or Path(root) / "flow_cache")
        self.with_flow, self.flow_alpha, self.flow_iters = False, 0.1, 100

    def add_flow(self, flow_size: int, alpha: float = 0.1, iters: int = 100) -> None:
        self.with_flow, self.flow_size, self.flow_alpha, self.flow_iters = True, flow_size, alpha, iters

    @property
    def skipped_count(self) -> int:
        return self.base.skipped_count

    def __len__(self) -> int:
        return len(self.base)

    def _video_flow(self, path: str) -> np.ndarray:
        """(N - 1, 2, h, w) flow of the whole video (``flow.flow_sequence``) on its frames resized so that
        the crop is ``flow_size`` px; computed once per video and kept in ``flow_cache``."""
        from .augment import resize_shorter

        low = int(round(self.shorter * self.flow_size / self.size))
        key = f"{path}|stride={self.base.stride}|shorter={low}|{self.flow_alpha}|{self.flow_iters}"
        file = self.flow_cache / f"video_flow_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
        if file.exists():
            return np.load(file, mmap_mode="r")
        flow = flow_sequence(resize_shorter(self.base.read(path), low), self.flow_alpha, self.flow_iters)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp.npy")
        np.save(tmp, flow.astype(np.float32))
        tmp.replace(file)
        return flow

    def __getitem__(self, i):
        item = self.base[i]
        out = {"frames": item["frames"], "label": torch.as_tensor(int(item["label"]))}
        if self.with_flow:
            idx, p = self.sampler.last, self.augment.last_params
            flow = self._video_flow(item["video"])                       # (N - 1, 2, h, w)
            s = self.flow_size / self.size
            y0, x0 = int(round(p["y0"] * s)), int(round(p["x0"] * s))
            f = np.zeros((len(idx), 2, self.flow_size, self.flow_size), np.float32)
            valid = np.zeros(len(idx), bool)
            for k, t in enumerate(idx):
                if k > 0 and t >= 1 and idx[k - 1] == t - 1:             # flow from the previous frame
                    crop = flow[t - 1, :, y0:y0 + self.flow_size, x0:x0 + self.flow_size]
                    if crop.shape[-2:] == (self.flow_size, self.flow_size):
                        f[k], valid[k] = crop, True
            if p["flip"]:
                f = f[..., ::-1].copy()
                f[:, 0] *= -1
            out["flow"], out["flow_valid"] = torch.from_numpy(f), torch.from_numpy(valid)
        return out


def datasets(cfg: RunConfig):
    """(train, test) sets of task ``subgoal`` for ``cfg`` (no flow yet: ``train.subgoal.build`` adds it where
    T^2 needs it)."""
    kw = dict(cfg.data_kw)
    kw.pop("pretrain", None)
    window = kw.pop("train_window", None)
    kw.pop("flow_size", None)
    if cfg.dataset == "builtin":
        n_train, n_test = kw.pop("n_train"), kw.pop("n_test")
        return (BuiltinActions("train", n=n_train, window=window, **kw),
                BuiltinActions("test", n=n_test, **kw))
    if cfg.dataset not in ("ucf101", "hmdb51", "kinetics"):
        raise ValueError(f"task 'subgoal' has no loader for dataset {cfg.dataset!r}")
    return (RealActions(cfg.dataset, cfg.data_root, True, window=window, seed=cfg.seed, **kw),
            RealActions(cfg.dataset, cfg.data_root, False, seed=cfg.seed, **kw))
