"""Moving Fashion-MNIST (and Moving-MNIST-style digits) for video prediction, OpenSTL's protocol.

Issue 19, "Beyond the papers".  :class:`MovingFashionMNIST` makes sequences on the fly:

* ``items`` (default 2) 28x28 images bounce inside a ``size`` x ``size`` frame (default 64), composited
  with ``max`` (as the standard Moving MNIST generator and OpenSTL's ``MovingMNIST`` loader do); pixel
  values in [0, 1] (the image's uint8 / 255).  ``n_in`` (10) input frames, then ``n_out`` (10) target
  frames of the same motion.
* Each item: a uniformly random integer start position of its box's top-left corner in
  ``[0, size - 28]^2``, a uniformly random direction ``theta`` and a velocity of ``speed`` pixels per
  frame (default ``0.1 * (size - 28)`` = 3.6 at 64, OpenSTL's ``step_length = 0.1`` of the canvas),
  rounded to a whole-pixel vector ``v = rint(speed * (cos theta, sin theta))`` (so ``|v|`` lies within
  0.71 of ``speed``; never (0, 0)).  Position and velocity stay whole pixels, so an item moves by exactly
  ``v`` between frames and is never resampled or blurred.  Bouncing: a coordinate that would leave
  ``[0, size - 28]`` is reflected about that border and that component of ``v`` flips sign (the motion is
  a constant-speed path folded at the walls).  Differences from OpenSTL's generator, kept on purpose:
  OpenSTL moves a float position in unit-canvas coordinates, truncates it to whole pixels per frame (so
  the pixel step alternates between 3 and 4) and clamps at a wall instead of reflecting.
* Item images: ``digits=False`` -- Fashion-MNIST from the Debian package ``dataset-fashion-mnist``
  (:func:`benchmark.data.builtin_polygons.load_fashion_mnist`); where it is not installed, a stand-in:
  scikit-learn's 8x8 digits upscaled (bilinear) to 28x28, first half of ``load_digits`` for train, second
  half for test, and ``source`` says so.  ``digits=True`` -- Moving-MNIST-style handwritten digits,
  20x20 in a 28x28 box (MNIST layout), from opencv-doc's ``digits.png`` when installed, else
  scikit-learn's digits (:func:`benchmark.data.builtin_video.digit_images`).  Items are drawn with
  replacement from the images of the split's own file (Fashion-MNIST: ``train`` -> the 60k train file,
  ``test`` -> the 10k t10k file), so train and test never share an item image.

Determinism: sequence ``i`` depends only on ``(seed, split, source, i)`` through
``numpy.random.default_rng([seed, split, source, i])`` -- never on a global RNG -- so the test set is
fixed and a smaller ``n`` is a prefix of a larger one.  The dataset records, per sequence, ``items``
(image index into :attr:`MovingFashionMNIST.images`), ``labels`` (their classes), ``positions`` (top-left
``x, y`` of every item at every frame) and ``velocities`` (initial ``vx, vy``); the frames are a pure
function of those and the item pixels, which is what :meth:`~MovingFashionMNIST.fingerprint` hashes.

Metrics (:func:`video_metrics`; OpenSTL's conventions, images in [0, 1], per frame, then averaged over
frames and sequences): :func:`mse_per_frame`, :func:`mae_per_frame` (defined here: sums over a frame's
pixels), PSNR and SSIM per frame from :mod:`benchmark.metrics` (``psnr``: ``10 log10(1 / mean squared
error)``, ``inf`` for an identical frame, no cap; ``ssim``: Wang et al. 2004 with an 11x11 Gaussian window,
sigma 1.5, ``data_range=1``).  :func:`copy_last_frame` is the trivial baseline and :func:`baseline_scores`
its four scores on a dataset.
"""
from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .. import metrics as _metrics

__all__ = [
    "MovingFashionMNIST", "ITEM_SIZE", "item_images",
    "mse_per_frame", "mae_per_frame", "video_metrics", "copy_last_frame", "baseline_scores",
]

ITEM_SIZE = 28
_SPLIT_CODES = {"train": 1, "test": 2}
_SOURCE_CODES = {"fashion-mnist": 41, "sklearn-up28": 42, "opencv": 43, "sklearn": 44}
_SOURCE_NAMES = {
    "fashion-mnist": "builtin:moving-fashion-mnist(dataset-fashion-mnist)",
    "sklearn-up28": "builtin:moving-fashion-mnist(stand-in: sklearn:load_digits 8x8 upscaled to 28x28; "
                    "dataset-fashion-mnist not installed)",
    "opencv": "builtin:moving-mnist-style(opencv-doc:digits.png, 20x20 digits in 28x28 boxes)",
    "sklearn": "builtin:moving-mnist-style(sklearn:load_digits 8x8 upscaled to 20x20 in 28x28 boxes)",
}


# --------------------------------------------------------------------------- item images
def _resolve_source(digits: bool) -> str:
    from .builtin_polygons import fashion_mnist_available
    from .builtin_video import opencv_digits_path

    if digits:
        return "opencv" if opencv_digits_path() else "sklearn"
    return "fashion-mnist" if fashion_mnist_available() else "sklearn-up28"


@lru_cache(maxsize=8)
def _images(source: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if source == "fashion-mnist":
        from .builtin_polygons import load_fashion_mnist

        return load_fashion_mnist(split)  # read-only uint8 (N, 28, 28), int64 (N,)
    if source == "sklearn-up28":  # the builtin_sequences._two_class_images stand-in, scaled to 0..255
        from sklearn.datasets import load_digits

        d = load_digits()
        half = len(d.images) // 2
        sl = slice(0, half) if split == "train" else slice(half, None)
        ims = [Image.fromarray(np.clip(np.rint(im * (255.0 / 16.0)), 0, 255).astype(np.uint8))
               .resize((ITEM_SIZE, ITEM_SIZE), Image.BILINEAR) for im in d.images[sl]]
        out = np.stack([np.asarray(im) for im in ims]).astype(np.uint8), d.target[sl].astype(np.int64)
    else:  # "opencv" (20x20 cells) or "sklearn" (8x8 -> 20x20), centred in a 28x28 box
        from .builtin_video import _pad_to_28, digit_images

        cells, labels, how = digit_images(source, split)
        if how == "up8":
            cells = [np.asarray(Image.fromarray(np.clip(np.rint(c * (255.0 / 16.0)), 0, 255).astype(np.uint8))
                                .resize((20, 20), Image.BILINEAR)) for c in cells]
        out = np.stack([_pad_to_28(c) for c in cells]).astype(np.uint8), np.asarray(labels, np.int64)
    for a in out:
        a.setflags(write=False)
    return out


def item_images(split: str, digits: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """``(images uint8 (K, 28, 28), labels int64 (K,), source)`` that :class:`MovingFashionMNIST` draws its
    items from for ``split`` (see the module doc for which files)."""
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    src = _resolve_source(bool(digits))
    images, labels = _images(src, split)
    return images, labels, _SOURCE_NAMES[src]


# --------------------------------------------------------------------------- the data set
def _fold(x: int, hi: int, v: int) -> tuple[int, int]:
    """Reflect coordinate ``x`` into ``[0, hi]``; each reflection flips the velocity ``v``."""
    while x < 0 or x > hi:
        if x < 0:
            x, v = -x, -v
        else:
            x, v = 2 * hi - x, -v
    return x, v


class MovingFashionMNIST(Dataset):
    """Bouncing Fashion-MNIST items (or digits), ``n_in`` frames in, ``n_out`` frames out; see the module doc.

    Item ``i``: ``{"frames": float32 (n_in, 1, size, size), "target": float32 (n_out, 1, size, size)}`` in
    [0, 1].  Records (numpy): ``items`` int64 (n, items) image indices into ``images`` (the split's own image
    file), ``labels`` int64 (n, items), ``positions`` int64 (n, n_in + n_out, items, 2) top-left ``x, y``
    (column, row) of every item's 28x28 box, ``velocities`` int64 (n, items, 2) initial ``vx, vy`` in
    pixels per frame.  Frames are rendered on demand (:meth:`sequence`, :meth:`arrays`).
    """

    def __init__(self, split: str = "train", n: int = 256, seed: int = 0, n_in: int = 10, n_out: int = 10,
                 size: int = 64, items: int = 2, digits: bool = False, speed: float | None = None):
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if n < 0 or n_in < 1 or n_out < 1 or items < 1:
            raise ValueError(f"need n >= 0, n_in >= 1, n_out >= 1, items >= 1; got n={n}, n_in={n_in}, "
                             f"n_out={n_out}, items={items}")
        if size <= ITEM_SIZE:
            raise ValueError(f"size must exceed the {ITEM_SIZE}-pixel item, got {size}")
        lim = size - ITEM_SIZE
        speed = 0.1 * lim if speed is None else float(speed)
        if not 0 < speed <= lim:
            raise ValueError(f"speed must be in (0, size - {ITEM_SIZE}] = (0, {lim}], got {speed}")
        src = _resolve_source(bool(digits))
        self.images, all_labels = _images(src, split)
        self.source, self.digits = _SOURCE_NAMES[src], bool(digits)
        self.split, self.n, self.seed = split, int(n), int(seed)
        self.n_in, self.n_out, self.size, self.n_items, self.speed = int(n_in), int(n_out), int(size), int(items), speed
        T = self.n_in + self.n_out
        self.items = np.zeros((n, items), np.int64)
        self.positions = np.zeros((n, T, items, 2), np.int64)
        self.velocities = np.zeros((n, items, 2), np.int64)
        for i in range(n):
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, _SPLIT_CODES[split], _SOURCE_CODES[src], i])
            for k in range(items):
                self.items[i, k] = rng.integers(len(self.images))
                pos = [int(p) for p in rng.integers(0, lim + 1, size=2)]
                theta = rng.uniform(0.0, 2.0 * math.pi)
                c, s = math.cos(theta), math.sin(theta)
                v = [int(np.rint(speed * c)), int(np.rint(speed * s))]
                if v == [0, 0]:  # only for speed < 1/sqrt(2): one pixel along the dominant axis
                    v = [int(math.copysign(1, c)), 0] if abs(c) >= abs(s) else [0, int(math.copysign(1, s))]
                self.velocities[i, k] = v
                for t in range(T):
                    self.positions[i, t, k] = pos
                    for a in range(2):
                        pos[a], v[a] = _fold(pos[a] + v[a], lim, v[a])
        self.labels = np.asarray(all_labels)[self.items]

    def __len__(self) -> int:
        return self.n

    def sequence(self, i: int) -> np.ndarray:
        """All ``n_in + n_out`` frames of sequence ``i``: float32 (T, 1, size, size) in [0, 1]."""
        T, p = self.n_in + self.n_out, ITEM_SIZE
        out = np.zeros((T, 1, self.size, self.size), np.float32)
        for k in range(self.n_items):
            patch = self.images[self.items[i, k]].astype(np.float32) / 255.0
            for t in range(T):
                x, y = self.positions[i, t, k]
                box = out[t, 0, y:y + p, x:x + p]
                np.maximum(box, patch, out=box)
        return out

    def __getitem__(self, i: int) -> dict:
        if not -self.n <= i < self.n:
            raise IndexError(i)
        seq = self.sequence(i % self.n)
        return {"frames": torch.from_numpy(seq[:self.n_in].copy()), "target": torch.from_numpy(seq[self.n_in:].copy())}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sequence rendered: ``(frames (n, n_in, 1, S, S), target (n, n_out, 1, S, S))`` float32."""
        seqs = np.stack([self.sequence(i) for i in range(self.n)]) if self.n else \
            np.zeros((0, self.n_in + self.n_out, 1, self.size, self.size), np.float32)
        return np.ascontiguousarray(seqs[:, :self.n_in]), np.ascontiguousarray(seqs[:, self.n_in:])

    def fingerprint(self) -> str:
        """16 hex chars of a sha256 over ``source``, the sizes, and the arrays the frames are made of
        (``items``, ``labels``, ``positions`` and the item images' pixels), as ``_Frames.fingerprint``."""
        h = hashlib.sha256(self.source.encode())
        h.update(f"n_in={self.n_in},n_out={self.n_out},size={self.size},items={self.n_items}".encode())
        for name, a in (("items", self.items), ("labels", self.labels), ("positions", self.positions),
                        ("pixels", self.images[self.items.reshape(-1)])):
            a = np.ascontiguousarray(a)
            h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (f"MovingFashionMNIST(split={self.split!r}, n={self.n}, seed={self.seed}, source={self.source!r}, "
                f"fingerprint={self.fingerprint()})")


# --------------------------------------------------------------------------- metrics
def _video(x, name: str) -> np.ndarray:
    """(N, T, C, H, W) float64 from a 5-D batch or a 4-D (T, C, H, W) sequence (numpy or torch)."""
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 4:
        a = a[None]
    if a.ndim != 5:
        raise ValueError(f"{name}: expected (N, T, C, H, W) or (T, C, H, W), got shape {a.shape}")
    return a


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p, t = _video(pred, "pred"), _video(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred shape {p.shape} does not match target shape {t.shape}")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"empty video batch, shape {p.shape}")
    return p, t


def mse_per_frame(pred, target) -> float:
    """OpenSTL's "MSE": the squared error **summed over a frame's pixels** (and channels), averaged over
    frames and sequences::

        MSE = 1/(N T) sum_{n,t} sum_{c,h,w} (pred[n,t,c,h,w] - target[n,t,c,h,w])^2

    (= ``np.mean((pred - target) ** 2, axis=(0, 1)).sum()`` in OpenSTL).  Not the per-pixel mean: a
    64x64 frame off by 0.1 everywhere scores 0.01 * 4096 = 40.96.  Shapes (N, T, C, H, W) or (T, C, H, W).
    """
    p, t = _pair(pred, target)
    return float(((p - t) ** 2).sum(axis=(2, 3, 4)).mean())


def mae_per_frame(pred, target) -> float:
    """OpenSTL's "MAE": the absolute error summed over a frame's pixels (and channels), averaged over frames
    and sequences, ``1/(N T) sum_{n,t} sum_{c,h,w} |pred - target|``; a 64x64 frame off by 0.1 everywhere
    scores 409.6."""
    p, t = _pair(pred, target)
    return float(np.abs(p - t).sum(axis=(2, 3, 4)).mean())


def _score_sums(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Sums over the N * T frames of (N, T, C, H, W) float64 batches of the four per-frame metrics.

    PSNR: :func:`benchmark.metrics.psnr` frame by frame.  SSIM: one :func:`benchmark.metrics.ssim` call on
    all N * T * C frame channels stacked along ``channel_axis`` (it returns their mean, and a frame's SSIM
    is the mean over its C channels, so the mean over frames is the same number), times N * T: one
    batched convolution instead of N * T small ones."""
    N, T, C, H, W = p.shape
    psnr = sum(_metrics.psnr(p[n, k], t[n, k], data_range=1.0) for n in range(N) for k in range(T))
    ssim = _metrics.ssim(p.reshape(-1, H, W), t.reshape(-1, H, W), data_range=1.0, channel_axis=0) * (N * T)
    return {"mse": float(((p - t) ** 2).sum()), "mae": float(np.abs(p - t).sum()), "psnr": float(psnr),
            "ssim": float(ssim)}


def video_metrics(pred, target) -> dict[str, float]:
    """``{"mse", "mae", "psnr", "ssim"}`` of predicted vs. true frames in [0, 1], each computed per frame and
    averaged over frames and sequences (OpenSTL's protocol):

    * ``mse`` / ``mae``: :func:`mse_per_frame` / :func:`mae_per_frame` (sums over a frame's pixels);
    * ``psnr``: :func:`benchmark.metrics.psnr` with ``data_range=1``, i.e. ``10 log10(1 / m)`` dB with ``m``
      the frame's mean squared error over its pixels; an identical frame gives ``inf`` (no cap), so then
      does the average;
    * ``ssim``: :func:`benchmark.metrics.ssim` with ``data_range=1`` (Wang et al. 2004: 11x11 Gaussian
      window, sigma 1.5, K1 0.01, K2 0.03, valid positions only, channels averaged); OpenSTL itself calls
      ``skimage.metrics.structural_similarity`` with its defaults (7x7 uniform window), so SSIM values are
      close to but not identical with OpenSTL's.

    Shapes (N, T, C, H, W) or (T, C, H, W); frames must be at least 11x11 for SSIM.
    """
    p, t = _pair(pred, target)
    count = p.shape[0] * p.shape[1]
    return {k: v / count for k, v in _score_sums(p, t).items()}


# --------------------------------------------------------------------------- the copy-last baseline
def copy_last_frame(frames, n_out: int):
    """The trivial forecast: the last input frame repeated ``n_out`` times.  ``frames``: (..., n_in, C, H, W)
    numpy array or torch tensor; returns (..., n_out, C, H, W) of the same kind and dtype."""
    if n_out < 1:
        raise ValueError(f"n_out must be >= 1, got {n_out}")
    if frames.ndim < 4 or frames.shape[-4] < 1:
        raise ValueError(f"frames must be (..., n_in >= 1, C, H, W), got shape {tuple(frames.shape)}")
    if torch.is_tensor(frames):
        return frames[..., -1:, :, :, :].repeat_interleave(n_out, dim=-4)
    a = np.asarray(frames)
    return np.repeat(a[..., -1:, :, :, :], n_out, axis=-4)


def baseline_scores(dataset, batch: int = 32) -> dict[str, float]:
    """:func:`video_metrics` of :func:`copy_last_frame` on every sequence of ``dataset`` (any data set whose
    items are ``{"frames": (n_in, C, H, W), "target": (n_out, C, H, W)}``), computed in batches of
    ``batch`` sequences: the mean over all sequences and target frames of each per-frame metric."""
    n = len(dataset)
    if n == 0:
        raise ValueError("baseline_scores: empty data set")
    sums, count = {}, 0
    for lo in range(0, n, batch):
        items = [dataset[i] for i in range(lo, min(n, lo + batch))]
        frames = np.stack([_video(it["frames"], "frames")[0] for it in items])
        target = np.stack([_video(it["target"], "target")[0] for it in items])
        p, t = _pair(copy_last_frame(frames, target.shape[1]), target)
        for k, v in _score_sums(p, t).items():
            sums[k] = sums.get(k, 0.0) + v
        count += p.shape[0] * p.shape[1]
    return {k: v / count for k, v in sums.items()}
