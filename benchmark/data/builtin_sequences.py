"""Embedded sequence data for the toy experiments, deterministic by seed, fingerprinted.

- ``MovingShapes`` (deeprnn Fig. 3, scs Fig. 2): one shape moves in one direction; the class is
  (shape, direction), or only one of them (``target="shape"|"direction"``). ``disorder=True`` shuffles the
  frame order (scs Fig. 2's "disordered motion" test); ``shapes=`` picks which shapes appear (unseen
  shapes at test).
- ``GapSequences`` (deeprnn Fig. 5 "cat and dog", scs "star and rhombus"): frames of one kind with a single
  odd frame; every frame's label is its distance from the odd frame (class 0 = "not seen yet", class d+1 =
  distance d, capped at ``max_gap``). Images: two Fashion-MNIST classes (Debian ``dataset-fashion-mnist``:
  "cat" = bag, "dogs" = sneakers), else scikit-learn's digits (1 vs 0); ``kind="star"`` draws a star among
  rhombuses (synthetic, scs 5.3).
Every dataset has ``source`` (what it was made from) and ``fingerprint()`` (hash of its arrays).
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.utils.data import Dataset

SHAPES = ("triangle", "square", "circle", "star", "rhombus", "cross")
# Six more, none of them in SHAPES: the classes of a stand-in that shares no class with the others
# (deeprnn Table 3's Kinetics, which pre-trains the nets fine-tuned on the UCF-101 / HMDB-51 stand-ins)
OTHER_SHAPES = ("pentagon", "hexagon", "ring", "ellipse", "saltire", "arrow")
DIRECTIONS = ("left", "right", "up", "down")
_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
_SPLIT = {"train": 1, "test": 2}


def _rng(seed: int, split: str, salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT[split], salt])


def draw_shape(kind: str, size: int, cx: float, cy: float, r: float, angle: float = 0.0) -> np.ndarray:
    """A filled shape as a float mask (size x size), drawn with PIL."""
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif kind == "ring":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        d.ellipse([cx - 0.5 * r, cy - 0.5 * r, cx + 0.5 * r, cy + 0.5 * r], fill=0)
    elif kind == "ellipse":
        d.ellipse([cx - r, cy - 0.5 * r, cx + r, cy + 0.5 * r], fill=255)
    elif kind == "cross":
        w = r / 3
        d.rectangle([cx - r, cy - w, cx + r, cy + w], fill=255)
        d.rectangle([cx - w, cy - r, cx + w, cy + r], fill=255)
    elif kind == "saltire":  # the cross turned by 45 degrees
        w, c, s_ = r / 3, np.cos(np.pi / 4), np.sin(np.pi / 4)
        for u, v in (((c, s_), (-s_, c)), ((-s_, c), (c, s_))):  # a bar along u, w thick along v
            d.polygon([(cx + a * r * u[0] + b * w * v[0], cy + a * r * u[1] + b * w * v[1])
                       for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))], fill=255)
    elif kind == "arrow":  # pointing up: a head on a shaft
        h = 0.45 * r
        d.polygon([(cx, cy - r), (cx + r, cy - r + 2 * h), (cx - r, cy - r + 2 * h)], fill=255)
        d.rectangle([cx - h / 1.5, cy - r + 2 * h, cx + h / 1.5, cy + r], fill=255)
    else:
        n, radii = {"triangle": (3, [r]), "square": (4, [r]), "rhombus": (4, [r, 0.55 * r]),
                    "star": (10, [r, 0.45 * r]), "pentagon": (5, [r]), "hexagon": (6, [r])}[kind]
        base = angle + (np.pi / 4 if kind == "square" else -np.pi / 2)
        pts = [(cx + radii[i % len(radii)] * np.cos(base + 2 * np.pi * i / n),
                cy + radii[i % len(radii)] * np.sin(base + 2 * np.pi * i / n)) for i in range(n)]
        d.polygon(pts, fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


class _Frames(Dataset):
    frames: np.ndarray  # (N, T, 1, H, W) float32
    labels: np.ndarray  # (N,) or (N, T) int64
    source: str

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i):
        return {"frames": torch.from_numpy(self.frames[i]), "label": torch.as_tensor(self.labels[i])}

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.source.encode())
        h.update(np.ascontiguousarray(self.frames).tobytes())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        return h.hexdigest()[:16]


class MovingShapes(_Frames):
    def __init__(self, split: str = "train", n: int = 256, T: int = 8, size: int = 32, seed: int = 0,
                 shapes=("triangle", "square", "circle"), target: str = "both", disorder: bool = False,
                 noise: float = 0.1):
        if target not in ("both", "shape", "direction"):
            raise ValueError(f"target must be 'both', 'shape' or 'direction', got {target!r}")
        rng = _rng(seed, split, 3)
        self.shapes, self.target, self.source = tuple(shapes), target, "builtin:moving-shapes"
        frames = np.zeros((n, T, 1, size, size), np.float32)
        labels = np.zeros(n, np.int64)
        for i in range(n):
            s, dname = int(rng.integers(len(shapes))), DIRECTIONS[int(rng.integers(4))]
            r = rng.uniform(0.12, 0.18) * size
            speed = rng.uniform(0.6, 1.2) * (size - 2 * r) / T
            dx, dy = _STEP[dname]
            # start so that the whole path stays inside the frame
            cx = size / 2 - dx * speed * T / 2 + rng.uniform(-2, 2) * (dx == 0)
            cy = size / 2 - dy * speed * T / 2 + rng.uniform(-2, 2) * (dy == 0)
            order = rng.permutation(T) if disorder else np.arange(T)
            for k, t in enumerate(order):
                frames[i, k, 0] = draw_shape(shapes[s], size, cx + dx * speed * t, cy + dy * speed * t, r)
            frames[i] += noise * rng.standard_normal(frames[i].shape).astype(np.float32)
            d = DIRECTIONS.index(dname)
            labels[i] = {"both": s * 4 + d, "shape": s, "direction": d}[target]
        self.frames, self.labels = frames, labels
        self.num_classes = {"both": len(shapes) * 4, "shape": len(shapes), "direction": 4}[target]


def _two_class_images(kind: str, split: str):
    """(odd-one images, common images, source) as float arrays (K, 28, 28) in [0, 1]."""
    if kind == "star":
        return None, None, "builtin:star-rhombus"
    from .builtin_polygons import fashion_mnist_available, load_fashion_mnist

    if fashion_mnist_available():
        x, y = load_fashion_mnist(split)  # the two classes picked before the conversion (the 60000 took ~0.8 s)
        return (x[y == 8].astype(np.float32) / 255.0, x[y == 7].astype(np.float32) / 255.0,
                "builtin:fashion-mnist(bag among sneakers)")
    from sklearn.datasets import load_digits

    d = load_digits()
    # digits' pixels are 0..16: scaled to 0..255 (x 16 wrapped a full pixel, 256, round to 0)
    imgs = np.stack([np.asarray(Image.fromarray(np.round(im * 255 / 16).astype(np.uint8)).resize((28, 28),
                                                                                                  Image.BILINEAR))
                     for im in d.images]).astype(np.float32) / 255.0
    half = len(imgs) // 2
    sl = slice(0, half) if split == "train" else slice(half, None)
    imgs, y = imgs[sl], d.target[sl]
    return imgs[y == 1], imgs[y == 0], "builtin:sklearn-digits(1 among 0s)"


class GapSequences(_Frames):
    """Per-frame labels: 0 before the odd frame, then 1 + distance (capped at max_gap)."""

    def __init__(self, split: str = "train", n: int = 256, T: int = 80, max_gap: int = 50, seed: int = 0,
                 kind: str = "fashion", size: int = 28, max_pos: int | None = None):
        """The odd frame sits uniformly in [0, max_pos) (default T - max_gap): wide enough that the time
        since the sequence start does not give the distance away."""
        rng = _rng(seed, split, 5)
        odd, common, self.source = _two_class_images(kind, split)
        frames = np.zeros((n, T, 1, size, size), np.float32)
        labels = np.zeros((n, T), np.int64)
        for i in range(n):
            pos = int(rng.integers(0, max(1, max_pos if max_pos is not None else T - max_gap)))
            for t in range(T):
                frames[i, t, 0] = self._image(kind, t == pos, odd, common, rng, size)
            dist = np.arange(T) - pos
            labels[i] = np.where(dist < 0, 0, np.minimum(dist, max_gap) + 1)
        self.frames, self.labels, self.max_gap = frames, labels, max_gap
        self.num_classes = max_gap + 2

    @staticmethod
    def _image(kind, is_odd, odd, common, rng, size):
        if kind == "star":
            r = rng.uniform(0.25, 0.38) * size
            c = size / 2 + rng.uniform(-2, 2, 2)
            return draw_shape("star" if is_odd else "rhombus", size, c[0], c[1], r, rng.uniform(-0.3, 0.3))
        pool = odd if is_odd else common
        return pool[int(rng.integers(len(pool)))]
