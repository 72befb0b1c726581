"""Embedded stand-in data for the Polygon-RNN task (no Cityscapes files needed).

Two sources, each producing Cityscapes-like object crops (object box plus a
~15% margin on each side, resized to a square, not aspect-preserving):

* ``"fashion-mnist"``: real object silhouettes from the Debian package
  ``dataset-fashion-mnist`` (idx files under /usr/share/datasets/fashion-mnist,
  override with $BENCHMARK_FASHION_MNIST_DIR).  An item is thresholded, its
  largest 4-connected component's outer contour is traced along pixel edges and
  simplified (Visvalingam-Whyatt) to at most ``max_vertices`` vertices: that is
  the ground-truth polygon.  The image shows the item's real silhouette carrying
  its own grey texture, tinted with a random colour, over a noisy background.
  ``split="train"`` uses the 60k training file, ``"test"``/``"val"`` the 10k
  test file (so train and test are disjoint items).  Label: the item's class.
* ``"shapes"``: synthetic polygons (triangle, convex polygon, star, irregular
  blob; 3..max_vertices vertices) rendered the same way with a procedural
  texture.  Label: the shape kind.  Train and test come from disjoint RNG streams.
* ``"auto"``: fashion-mnist when its files exist, else shapes.

Everything is a deterministic function of (split, n, image_size, grid,
max_vertices, seed, source); item i only depends on (seed, split, i), so a
smaller ``n`` gives a prefix of a larger one.
"""
from __future__ import annotations

import glob
import gzip
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from .polygon import PolygonDataset, quantise_polygon, signed_area

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)
SHAPE_KINDS = ("triangle", "convex", "star", "blob")
_SPLIT_CODES = {"train": 1, "test": 2, "val": 2}
_SOURCE_CODES = {"fashion-mnist": 11, "shapes": 12}

__all__ = [
    "BuiltinPolygons",
    "FASHION_MNIST_CLASSES",
    "SHAPE_KINDS",
    "fashion_mnist_dir",
    "fashion_mnist_available",
    "read_idx",
    "load_fashion_mnist",
    "outer_contour",
    "simplify_polygon",
]


# ----------------------------------------------------------------------------
# Fashion-MNIST files
# ----------------------------------------------------------------------------
def fashion_mnist_dir() -> str:
    return os.environ.get("BENCHMARK_FASHION_MNIST_DIR", FASHION_MNIST_DIR)


def _find_idx(directory: str, prefix: str) -> str | None:
    hits = sorted(glob.glob(os.path.join(directory, prefix + "*")))
    return hits[0] if hits else None


def _fashion_files(split: str) -> tuple[str | None, str | None]:
    d = fashion_mnist_dir()
    stem = "train" if split == "train" else "t10k"
    return _find_idx(d, f"{stem}-images-idx3-ubyte"), _find_idx(d, f"{stem}-labels-idx1-ubyte")


def fashion_mnist_available() -> bool:
    return all(p is not None for s in ("train", "test") for p in _fashion_files(s))


def read_idx(path: str) -> np.ndarray:
    """Read an idx file (optionally gzipped) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an idx file")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtype, ndim = dtypes[data[2]], data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim, count=int(np.prod(shape)))
    return arr.reshape(shape)


def load_fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N,28,28), labels int64 (N,)) of the train or test file."""
    img_path, lab_path = _fashion_files(split)
    if img_path is None or lab_path is None:
        raise FileNotFoundError(
            f"Fashion-MNIST idx files not found in {fashion_mnist_dir()} "
            "(expected {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]); "
            "install them with `apt-get install dataset-fashion-mnist` or use source='shapes'"
        )
    return _load_pair(img_path, lab_path)


@lru_cache(maxsize=2)
def _load_pair(img_path: str, lab_path: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(img_path).astype(np.uint8), read_idx(lab_path).astype(np.int64)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"{img_path} / {lab_path}: unexpected shapes {images.shape} / {labels.shape}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


# ----------------------------------------------------------------------------
# Contours
# ----------------------------------------------------------------------------
def _largest_component(mask: np.ndarray) -> np.ndarray:
    """Largest 4-connected component of a bool mask (ties: first in raster order)."""
    h, w = mask.shape
    labels = np.zeros((h, w), dtype=np.int32)
    best, best_size, cur = 0, 0, 0
    for r0, c0 in zip(*np.nonzero(mask)):
        if labels[r0, c0]:
            continue
        cur += 1
        labels[r0, c0] = cur
        stack, size = [(r0, c0)], 0
        while stack:
            r, c = stack.pop()
            size += 1
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not labels[rr, cc]:
                    labels[rr, cc] = cur
                    stack.append((rr, cc))
        if size > best_size:
            best, best_size = cur, size
    return labels == best if best else np.zeros_like(mask, dtype=bool)


def outer_contour(mask: np.ndarray) -> np.ndarray:
    """Outer boundary of the pixel set ``mask`` (one 4-connected component).

    Traced along pixel edges (corner lattice, x = column, y = row), clockwise on
    screen, starting at the top-left corner of the first pixel in raster order;
    collinear corners are removed.  Returns float (K,2) or (0,2) if empty.
    """
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    rows, cols = np.nonzero(m)
    if len(rows) == 0:
        return np.zeros((0, 2))
    out: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(a, b):
        out.setdefault(a, []).append(b)

    for r, c in zip(rows.tolist(), cols.tolist()):
        x, y = c - 1, r - 1  # undo the padding
        if not m[r - 1, c]:
            add((x, y), (x + 1, y))
        if not m[r, c + 1]:
            add((x + 1, y), (x + 1, y + 1))
        if not m[r + 1, c]:
            add((x + 1, y + 1), (x, y + 1))
        if not m[r, c - 1]:
            add((x, y + 1), (x, y))
    start = (int(cols[0]) - 1, int(rows[0]) - 1)
    pts = [start]
    prev, cur = start, out[start][0]
    used = {(start, cur)}
    while cur != start:
        pts.append(cur)
        cands = [n for n in out[cur] if (cur, n) not in used]
        if len(cands) > 1:  # pinch point: take the right turn (pixels 4-connected)
            dx, dy = cur[0] - prev[0], cur[1] - prev[1]
            right = (cur[0] - dy, cur[1] + dx)
            cands = [right] if right in cands else cands
        nxt = cands[0]
        used.add((cur, nxt))
        prev, cur = cur, nxt
    p = np.array(pts, dtype=np.float64)
    d_in = p - np.roll(p, 1, axis=0)
    d_out = np.roll(p, -1, axis=0) - p
    turn = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
    return p[turn != 0]


def simplify_polygon(poly: np.ndarray, max_vertices: int) -> np.ndarray:
    """Visvalingam-Whyatt: drop the vertex with the smallest triangle area until
    at most ``max_vertices`` remain (ties: lowest index)."""
    p = np.asarray(poly, dtype=np.float64)
    while len(p) > max(3, max_vertices):
        prv, nxt = np.roll(p, 1, axis=0), np.roll(p, -1, axis=0)
        area = np.abs((p[:, 0] - prv[:, 0]) * (nxt[:, 1] - prv[:, 1]) - (nxt[:, 0] - prv[:, 0]) * (p[:, 1] - prv[:, 1]))
        p = np.delete(p, int(np.argmin(area)), axis=0)
    return p


# ----------------------------------------------------------------------------
# Synthetic shapes (unit coordinates, roughly in [-1, 1])
# ----------------------------------------------------------------------------
def _shape_polygon(kind: int, rng: np.random.Generator, max_vertices: int) -> np.ndarray:
    rot = rng.uniform(0, 2 * np.pi)
    if kind == 0:  # triangle
        ang = rot + np.sort(rng.uniform(0, 2 * np.pi, 3))
        while np.max(np.diff(np.r_[ang, ang[0] + 2 * np.pi])) > 0.75 * 2 * np.pi:
            ang = rot + np.sort(rng.uniform(0, 2 * np.pi, 3))
        rad = np.ones(3)
    elif kind == 1:  # convex polygon on an ellipse
        k = int(rng.integers(4, max(4, min(max_vertices, 9)) + 1))
        ang = rot + (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * (2 * np.pi / k)
        rad = np.ones(k)
    elif kind == 2:  # star
        k = int(rng.integers(3, max(3, max_vertices // 2) + 1))
        ang = rot + np.arange(2 * k) * (np.pi / k)
        rad = np.where(np.arange(2 * k) % 2 == 0, 1.0, rng.uniform(0.35, 0.6))
    else:  # irregular blob
        k = int(rng.integers(5, max(5, max_vertices) + 1))
        ang = rot + (np.arange(k) + rng.uniform(-0.35, 0.35, k)) * (2 * np.pi / k)
        rad = rng.uniform(0.45, 1.0, k)
    xy = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    return xy * np.array([1.0, rng.uniform(0.5, 1.5)])


# ----------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------
def _resize_f(a: np.ndarray, size: int, box=None, resample=Image.BILINEAR) -> np.ndarray:
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize((size, size), resample, box=box), dtype=np.float32)


DEFAULT_MARGIN = (0.12, 0.18)


def _crop_box(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator,
              margin: tuple[float, float] = DEFAULT_MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Object box [lo, hi] -> crop box with a margin per side drawn from ``margin`` (fractions of the box;
    default 12-18%, like Cityscapes' 15%). Each of the four sides draws its own: a wide range moves and
    scales the object inside the crop."""
    wh = np.maximum(hi - lo, 1e-6)
    m_lo, m_hi = rng.uniform(margin[0], margin[1], 2), rng.uniform(margin[0], margin[1], 2)
    return lo - m_lo * wh, hi + m_hi * wh


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    bg = rng.uniform(0.15, 0.85, 3)
    tint = rng.uniform(0.0, 1.0, 3)
    if np.abs(tint - bg).mean() < 0.25:
        tint = 1.0 - bg + rng.uniform(-0.1, 0.1, 3)
    return bg, np.clip(tint, 0.0, 1.0)


def _background(rng: np.random.Generator, size: int, base: np.ndarray) -> np.ndarray:
    low = rng.uniform(-0.2, 0.2, (3, 5, 5)).astype(np.float32)
    bg = np.stack([_resize_f(low[c], size, resample=Image.BICUBIC) for c in range(3)])
    bg += base[:, None, None].astype(np.float32)
    canvas = Image.new("F", (size, size), 0.0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, 3))):  # faint clutter
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.5, 2) * size
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=float(rng.uniform(-0.15, 0.15)))
    bg += np.asarray(canvas, dtype=np.float32)[None]
    bg += rng.normal(0.0, 0.04, (3, size, size)).astype(np.float32)
    return bg


def _compose(rng, size, alpha, grey, bg_base, tint) -> np.ndarray:
    bg = _background(rng, size, bg_base)
    obj = tint[:, None, None].astype(np.float32) * (0.35 + 0.65 * grey[None])
    obj += rng.normal(0.0, 0.02, (3, size, size)).astype(np.float32)
    img = alpha[None] * obj + (1.0 - alpha[None]) * bg
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def mask_outline(mask: np.ndarray, max_vertices: int):
    """(component, contour, polygon) of the largest 4-connected component of a boolean mask: its outer
    contour along pixel edges, simplified to at most ``max_vertices`` vertices; None when the component
    has fewer than 12 pixels or the polygon degenerates."""
    comp = _largest_component(mask)
    if comp.sum() < 12:
        return None
    contour = outer_contour(comp)
    poly = simplify_polygon(contour, max_vertices)
    if len(poly) < 3 or abs(signed_area(poly)) < 4.0:
        return None
    return comp, contour, poly


def _render_fashion(item: np.ndarray, rng, size: int, max_vertices: int, margin=DEFAULT_MARGIN):
    """28x28 uint8 item -> (image (3,S,S), polygon (K,2) in crop pixels) or None."""
    outline = mask_outline(item > 24, max_vertices)
    if outline is None:
        return None
    comp, contour, poly = outline
    lo, hi = contour.min(axis=0), contour.max(axis=0)
    c0, c1 = _crop_box(lo, hi, rng, margin)
    pad = int(np.ceil(max(16.0, 28 * margin[1] + 2)))
    box = (c0[0] + pad, c0[1] + pad, c1[0] + pad, c1[1] + pad)
    grey = _resize_f(np.pad(item.astype(np.float32) / 255.0, pad), size, box)
    alpha = np.clip(_resize_f(np.pad(comp.astype(np.float32), pad), size, box), 0.0, 1.0)
    crop_poly = (poly - c0) * (size / (c1 - c0))
    bg_base, tint = _colours(rng)
    return _compose(rng, size, alpha, grey, bg_base, tint), np.clip(crop_poly, 0, size)


def _render_shape(kind: int, rng, size: int, max_vertices: int, margin=DEFAULT_MARGIN):
    poly = _shape_polygon(kind, rng, max_vertices)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    c0, c1 = _crop_box(lo, hi, rng, margin)
    crop_poly = (poly - c0) * (size / (c1 - c0))
    ss = 2  # 2x supersampled alpha for smooth edges
    canvas = Image.new("L", (size * ss, size * ss), 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in crop_poly * ss], fill=255)
    alpha = np.asarray(canvas.resize((size, size), Image.BOX), dtype=np.float32) / 255.0
    # procedural texture: stripes plus smooth noise
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    th, freq = rng.uniform(0, np.pi), rng.uniform(3, 10)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (xx * np.cos(th) + yy * np.sin(th)) + rng.uniform(0, 2 * np.pi))
    smooth = _resize_f(rng.uniform(0, 1, (4, 4)), size, resample=Image.BICUBIC)
    grey = np.clip(0.5 * stripes.astype(np.float32) * rng.uniform(0.2, 1.0) + 0.5 * smooth, 0, 1)
    bg_base, tint = _colours(rng)
    return _compose(rng, size, alpha, grey, bg_base, tint), np.clip(crop_poly, 0, size)


# ----------------------------------------------------------------------------
# Dataset
# ----------------------------------------------------------------------------
class BuiltinPolygons(PolygonDataset):
    """Deterministic embedded polygon data; see the module docstring."""

    def __init__(
        self,
        split: str = "train",
        n: int = 256,
        image_size: int = 224,
        grid: int = 28,
        max_vertices: int = 12,
        seed: int = 0,
        source: str = "auto",
        margin: tuple[float, float] = DEFAULT_MARGIN,
    ):
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be one of {sorted(_SPLIT_CODES)}, got {split!r}")
        if source == "auto":
            source = "fashion-mnist" if fashion_mnist_available() else "shapes"
        if source not in _SOURCE_CODES:
            raise ValueError(f"source must be 'auto', 'fashion-mnist' or 'shapes', got {source!r}")
        if max_vertices < 3:
            raise ValueError("max_vertices must be >= 3")
        margin = (float(margin[0]), float(margin[1]))
        if not 0.0 <= margin[0] <= margin[1] <= 2.0:
            raise ValueError(f"margin must be (lo, hi) with 0 <= lo <= hi <= 2 (fractions of the object box), "
                             f"got {margin}")
        self.margin, self.mean_margin = margin, (margin[0] + margin[1]) / 2
        names = FASHION_MNIST_CLASSES if source == "fashion-mnist" else SHAPE_KINDS
        super().__init__([], image_size, grid, max_vertices, f"builtin:{source}", names)
        self.split, self.n, self.seed, self.max_vertices = split, int(n), int(seed), int(max_vertices)
        key = [int(seed) & 0xFFFFFFFF, _SPLIT_CODES[split], _SOURCE_CODES[source]]
        if source == "fashion-mnist":
            self._build_fashion(key)
        else:
            self._build_shapes(key)

    def _add(self, image, polygon, label) -> bool:
        verts = quantise_polygon(polygon, self.image_size, self.grid, self.max_vertices)
        if len(verts) < 3:
            return False
        self.instances.append(
            {"image": image, "polygon": polygon.astype(np.float32), "vertices": verts, "label": int(label)}
        )
        return True

    def _build_fashion(self, key):
        images, labels = load_fashion_mnist("train" if self.split == "train" else "test")
        order = np.random.default_rng(key + [0]).permutation(len(images))
        for idx in order:
            if len(self.instances) >= self.n:
                break
            rng = np.random.default_rng(key + [1, int(idx)])
            out = _render_fashion(images[idx], rng, self.image_size, self.max_vertices, self.margin)
            if out is not None:
                self._add(out[0], out[1], labels[idx])

    def _build_shapes(self, key):
        i = 0
        while len(self.instances) < self.n:
            rng = np.random.default_rng(key + [2, i])
            i += 1
            kind = int(rng.integers(len(SHAPE_KINDS)))
            image, poly = _render_shape(kind, rng, self.image_size, self.max_vertices, self.margin)
            self._add(image, poly, kind)
