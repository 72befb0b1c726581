"""Frame sampling and per-video augmentation (deeprnn section 4.1, PreRNN section 4).

deeprnn 4.1: "The frames in videos are resized with its shorter side into 368 and a 224 x 224 crop
is randomly sampled from the frame or its horizontal flip.  Color augmentation is used, where all
the random augmentation parameters are shared among the frames of each video."  Recognition takes
the whole video, anticipation only the first two frames.

All functions work on ``(T, H, W, 3)`` uint8 numpy arrays (one video) and return the same layout.

Sampling (index arrays into the T decoded frames):

* :func:`whole_video` -- ``0 .. T-1`` (recognition);
* :func:`first_frames` -- the first ``n`` = 2 (anticipation);
* :func:`clip_starts` / :func:`clip_indices` -- overlapping clips for the overlap coherence training
  scheme (overlap rate 25% in the paper).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = ["resize_shorter", "VideoAugment", "worker_generator", "whole_video", "first_frames", "clip_starts",
           "clip_indices", "SHORTER_SIDE", "CROP"]

SHORTER_SIDE = 368
CROP = 224


# ----------------------------------------------------------------------------------- sampling
def whole_video(T: int) -> np.ndarray:
    """All frames ``[0, 1, ..., T-1]`` (action recognition)."""
    if T < 1:
        raise ValueError(f"empty video (T={T})")
    return np.arange(T, dtype=np.int64)


def first_frames(T: int, n: int = 2) -> np.ndarray:
    """The first ``n`` frames (action anticipation: ``n = 2``).

    A video shorter than ``n`` repeats its last frame so that every sample has ``n`` frames.
    """
    if T < 1:
        raise ValueError(f"empty video (T={T})")
    return np.minimum(np.arange(n, dtype=np.int64), T - 1)


def clip_starts(T: int, L: int, overlap_rate: float = 0.25, cover_end: bool = True) -> np.ndarray:
    """Start frames of overlapping clips of length ``L`` over a ``T``-frame sequence.

    Rule: ``stride = L * (1 - overlap_rate)``; clip ``i`` starts at ``floor(i * stride)``, for every
    ``i`` whose clip fits (``start + L <= T``).  If those clips stop short of the end
    (``last start + L < T``) and ``cover_end`` is true, one more clip ``T - L`` (ending exactly at
    ``T``) is appended, so every frame is covered.  ``T < L``: a single clip starting at 0 (it is
    shorter than ``L``; :func:`clip_indices` pads it with the last frame).

    Example: ``clip_starts(30, 10, 0.25)`` -> stride 7.5 -> ``[0, 7, 15]`` fit, 15 + 10 = 25 < 30, so
    ``[0, 7, 15, 20]``.
    """
    if T < 1 or L < 1:
        raise ValueError(f"need T >= 1 and L >= 1, got T={T}, L={L}")
    if not 0.0 <= overlap_rate < 1.0:
        raise ValueError(f"overlap_rate must be in [0, 1), got {overlap_rate}")
    if T <= L:
        return np.zeros(1, dtype=np.int64)
    stride = L * (1.0 - overlap_rate)
    starts = []
    i = 0
    while True:
        s = int(math.floor(i * stride + 1e-9))
        if s + L > T:
            break
        if not starts or s != starts[-1]:
            starts.append(s)
        i += 1
    if cover_end and starts[-1] + L < T:
        starts.append(T - L)
    return np.asarray(starts, dtype=np.int64)


def clip_indices(T: int, L: int, overlap_rate: float = 0.25, cover_end: bool = True) -> np.ndarray:
    """``(n_clips, L)`` frame indices of the clips of :func:`clip_starts` (clipped to ``T - 1``)."""
    starts = clip_starts(T, L, overlap_rate, cover_end)
    return np.minimum(starts[:, None] + np.arange(L, dtype=np.int64)[None, :], T - 1)


# ----------------------------------------------------------------------------------- resizing
def resize_shorter(frames: np.ndarray, size: int = SHORTER_SIDE) -> np.ndarray:
    """Resize every frame (bilinear, PIL) so that its shorter side is ``size``; aspect kept.

    The longer side becomes ``round(longer * size / shorter)``.  Frames already at that size are
    returned unchanged.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise ValueError(f"frames must be (T, H, W, C), got {frames.shape}")
    h, w = frames.shape[1:3]
    if min(h, w) == size:
        return frames
    if h <= w:
        nh, nw = size, max(1, int(round(w * size / h)))
    else:
        nh, nw = max(1, int(round(h * size / w))), size
    out = np.empty((len(frames), nh, nw, frames.shape[3]), dtype=frames.dtype)
    for t, f in enumerate(frames):
        img = Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f)
        r = np.asarray(img.resize((nw, nh), Image.BILINEAR))
        out[t] = r[..., None] if r.ndim == 2 else r
    return out


# ------------------------------------------------------------------------------- augmentation
def worker_generator(owner) -> np.random.Generator:
    """``owner.generator``, re-seeded once per ``DataLoader`` worker (and epoch) from torch's worker seed.

    Forked workers would otherwise share one generator state and draw identical augmentations; the
    worker seed (``base_seed + worker_id``, new every epoch) keeps runs reproducible under
    ``torch.manual_seed``.  In the main process the generator is used as given.
    """
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    if info is not None and getattr(owner, "_worker_seed", None) != info.seed:
        owner.generator = np.random.default_rng(info.seed)
        owner._worker_seed = info.seed
    return owner.generator


_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as PIL / torchvision


class VideoAugment:
    """Per-video augmentation: ONE draw of every random parameter per sample, applied to all frames.

    ``__call__(frames)`` ((T, H, W, 3) uint8) -> (T, crop, crop, 3) uint8:

    1. ``resize_shorter(frames, shorter)`` (skipped when ``shorter`` is None);
    2. train: a random ``crop x crop`` window (top-left ``y0 ~ U{0..H-crop}``, ``x0 ~ U{0..W-crop}``);
       test (``train=False``): the centre window (``y0 = (H - crop) // 2``, same for x);
    3. train and ``flip``: horizontal flip of every frame with probability 0.5;
    4. train and ``colour``: brightness, contrast, saturation factors, each uniform in
       ``[1 - s, 1 + s]`` (``s`` = 0.4, 0.4, 0.4 by default), applied in that order as in
       torchvision's ``ColorJitter`` (brightness: ``x * b``; contrast: blend with the frame's mean
       grey level; saturation: blend with the frame's grey image), clipped to [0, 255], rounded.

    The parameters drawn for the last sample are kept in ``self.last_params``
    (``y0, x0, flip, brightness, contrast, saturation``).  ``generator``: a
    ``np.random.Generator`` (default ``np.random.default_rng()``); inside a ``DataLoader`` worker it is
    replaced by one seeded from the worker's torch seed (:func:`worker_generator`).
    """

    def __init__(self, crop: int = CROP, flip: bool = True, colour: bool = True, train: bool = True,
                 generator: np.random.Generator | None = None, shorter: int | None = SHORTER_SIDE,
                 brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4):
        self.crop, self.flip, self.colour, self.train = int(crop), bool(flip), bool(colour), bool(train)
        self.generator = generator if generator is not None else np.random.default_rng()
        self.shorter = shorter
        self.strength = {"brightness": float(brightness), "contrast": float(contrast), "saturation": float(saturation)}
        self.last_params: dict | None = None

    def sample_params(self, height: int, width: int) -> dict:
        """Draw one set of parameters for a video whose (resized) frames are ``height x width``."""
        c = self.crop
        if height < c or width < c:
            raise ValueError(f"frames {height}x{width} are smaller than the {c}x{c} crop")
        g = worker_generator(self)
        if self.train:
            p = {"y0": int(g.integers(0, height - c + 1)), "x0": int(g.integers(0, width - c + 1)),
                 "flip": bool(self.flip and g.random() < 0.5)}
            for k in ("brightness", "contrast", "saturation"):
                s = self.strength[k]
                p[k] = float(g.uniform(max(0.0, 1 - s), 1 + s)) if self.colour and s > 0 else 1.0
        else:
            p = {"y0": (height - c) // 2, "x0": (width - c) // 2, "flip": False,
                 "brightness": 1.0, "contrast": 1.0, "saturation": 1.0}
        return p

    @staticmethod
    def _colour(x: np.ndarray, p: dict) -> np.ndarray:
        x = x.astype(np.float32)
        if p["brightness"] != 1.0:
            x = np.clip(x * p["brightness"], 0, 255)
        if p["contrast"] != 1.0:
            mean = (x @ _GREY).mean(axis=(1, 2), keepdims=True)[..., None]  # per frame, (T,1,1,1)
            x = np.clip(p["contrast"] * x + (1 - p["contrast"]) * mean, 0, 255)
        if p["saturation"] != 1.0:
            grey = (x @ _GREY)[..., None]
            x = np.clip(p["saturation"] * x + (1 - p["saturation"]) * grey, 0, 255)
        return np.round(x).astype(np.uint8)

    def apply(self, frames: np.ndarray, params: dict) -> np.ndarray:
        """Apply one parameter set (from :meth:`sample_params`) to every frame."""
        c, y0, x0 = self.crop, params["y0"], params["x0"]
        out = frames[:, y0:y0 + c, x0:x0 + c]
        if params["flip"]:
            out = out[:, :, ::-1]
        if any(params[k] != 1.0 for k in ("brightness", "contrast", "saturation")):
            out = self._colour(out, params)
        return np.ascontiguousarray(out)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        if self.shorter is not None:
            frames = resize_shorter(frames, self.shorter)
        params = self.sample_params(frames.shape[1], frames.shape[2])
        self.last_params = params
        return self.apply(frames, params)

    def __repr__(self) -> str:
        return (f"VideoAugment(crop={self.crop}, flip={self.flip}, colour={self.colour}, train={self.train}, "
                f"shorter={self.shorter})")
