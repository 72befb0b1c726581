"""Shared pieces of the Polygon-RNN task (deeprnn paper, section 4.2).

An object instance is a square image crop (the object's box extended by 15% on
each side, resized to ``image_size`` x ``image_size``) together with its
ground-truth polygon in crop pixel coordinates.  The recurrent decoder predicts
the polygon as a sequence of cells on a ``grid`` x ``grid`` lattice (28 x 28 in
Polygon-RNN), followed by an end token.

Named conventions (documented choices, used by every loader):

* cell of a point: ``floor(coord * grid / image_size)`` clipped to ``0..grid-1``;
* consecutive duplicate cells are dropped, cyclically (the last vertex is dropped
  when it equals the first);
* orientation: clockwise *as seen on screen*, i.e. in image coordinates with y
  pointing down (positive shoelace sum ``sum(x_i*y_{i+1} - x_{i+1}*y_i)``);
* start vertex: the vertex with the smallest y, ties broken by the smallest x;
* more than ``max_vertices`` vertices: keep ``floor(i * N / max_vertices)``,
  i = 0..max_vertices-1 (order and start vertex preserved);
* fewer than 3 distinct cells or zero area: degenerate, an empty array is returned.

Target encoding: cell index ``y * grid + x``; the end token is ``grid * grid``;
padding is ``IGNORE_INDEX`` (-100, the default ``ignore_index`` of
``torch.nn.CrossEntropyLoss``).
"""
from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

CITYSCAPES_CLASSES = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
IGNORE_INDEX = -100

__all__ = [
    "CITYSCAPES_CLASSES",
    "IGNORE_INDEX",
    "end_token",
    "quantise_polygon",
    "vertices_to_target",
    "target_to_polygon",
    "signed_area",
    "PolygonDataset",
    "collate_polygons",
]


def end_token(grid: int) -> int:
    """Index of the end-of-polygon token for a ``grid`` x ``grid`` lattice."""
    return grid * grid


def signed_area(poly: np.ndarray) -> float:
    """Half the shoelace sum; positive = clockwise on screen (image coords, y down)."""
    p = np.asarray(poly, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _dedup_cyclic(v: np.ndarray) -> np.ndarray:
    """Drop consecutive duplicate rows, including a last row equal to the first."""
    if len(v) == 0:
        return v
    keep = np.ones(len(v), dtype=bool)
    keep[1:] = np.any(v[1:] != v[:-1], axis=1)
    v = v[keep]
    while len(v) > 1 and np.array_equal(v[-1], v[0]):
        v = v[:-1]
    return v


def _canonical_start(v: np.ndarray) -> np.ndarray:
    """Rotate so that the vertex with the smallest y (ties: smallest x) comes first."""
    start = int(np.lexsort((v[:, 0], v[:, 1]))[0])
    return np.roll(v, -start, axis=0)


def quantise_polygon(polygon_xy: np.ndarray, image_size: int, grid: int, max_vertices: int) -> np.ndarray:
    """Float (K,2) crop-pixel polygon -> int64 (N,2) grid vertex sequence (x, y).

    See the module docstring for the exact conventions.  Returns an empty
    ``(0, 2)`` int64 array when the polygon degenerates (fewer than 3 distinct
    cells, or zero area); callers skip such instances.
    """
    p = np.asarray(polygon_xy, dtype=np.float64).reshape(-1, 2)
    empty = np.zeros((0, 2), dtype=np.int64)
    if len(p) < 3 or max_vertices < 3 or not np.all(np.isfinite(p)):
        return empty
    v = np.floor(p * (grid / float(image_size))).astype(np.int64)
    v = np.clip(v, 0, grid - 1)
    v = _dedup_cyclic(v)
    if len(v) < 3 or signed_area(v) == 0.0:
        return empty
    if signed_area(v) < 0:
        v = v[::-1]
    v = _canonical_start(np.ascontiguousarray(v))
    if len(v) > max_vertices:
        idx = (np.arange(max_vertices) * len(v)) // max_vertices
        v = _dedup_cyclic(v[idx])
        if len(v) < 3 or signed_area(v) == 0.0:
            return empty
    return np.ascontiguousarray(v, dtype=np.int64)


def vertices_to_target(vertices: np.ndarray, grid: int, max_len: int) -> np.ndarray:
    """int64 (max_len+1,): ``[y*grid+x ...] + [grid*grid] + [-100 padding]``."""
    v = np.asarray(vertices, dtype=np.int64).reshape(-1, 2)
    n = len(v)
    if n > max_len:
        raise ValueError(f"polygon has {n} vertices but max_len is {max_len}")
    out = np.full(max_len + 1, IGNORE_INDEX, dtype=np.int64)
    out[:n] = v[:, 1] * grid + v[:, 0]
    out[n] = end_token(grid)
    return out


def target_to_polygon(target_indices, grid: int, image_size: int) -> np.ndarray:
    """Inverse of :func:`vertices_to_target` for (predicted) index sequences.

    Reads indices until the first end token (any index >= grid*grid) or negative
    value and returns float32 (N,2) pixel coordinates of the cell centres,
    ``((x + 0.5) * image_size / grid, (y + 0.5) * image_size / grid)``.
    """
    if isinstance(target_indices, torch.Tensor):
        target_indices = target_indices.detach().cpu().numpy()
    t = np.asarray(target_indices, dtype=np.int64).reshape(-1)
    stop = np.nonzero((t < 0) | (t >= grid * grid))[0]
    t = t[: stop[0]] if len(stop) else t
    xy = np.stack([t % grid, t // grid], axis=1).astype(np.float64)
    return ((xy + 0.5) * (image_size / float(grid))).astype(np.float32)


class PolygonDataset(Dataset):
    """A list of polygon instances.

    Each instance is a dict with ``image`` (float32 (3,S,S) in [0,1]; uint8
    (3,S,S) is accepted too and scaled by 1/255), ``polygon`` (float32 (K,2)
    ground truth in crop pixels), ``vertices`` (int64 (N,2) grid vertices) and
    ``label`` (int).  Subclasses may override :meth:`load_image` to load crops
    lazily (then ``image`` may be absent from the instance dict).
    """

    def __init__(
        self,
        instances: Sequence[dict] | None = None,
        image_size: int = 224,
        grid: int = 28,
        max_len: int = 70,
        source: str = "",
        class_names: Sequence[str] | None = None,
    ):
        self.instances: list[dict] = list(instances or [])
        self.image_size = int(image_size)
        self.grid = int(grid)
        self.max_len = int(max_len)
        self.source = str(source)
        self.class_names = tuple(class_names) if class_names is not None else None
        self._fingerprint: str | None = None

    # -- access -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.instances)

    def load_image(self, index: int) -> np.ndarray:
        """float32 (3,S,S) in [0,1] for instance ``index``."""
        img = self.instances[index]["image"]
        if img.dtype == np.uint8:
            return img.astype(np.float32) / np.float32(255.0)
        return np.asarray(img, dtype=np.float32)

    def target(self, index: int) -> np.ndarray:
        return vertices_to_target(self.instances[index]["vertices"], self.grid, self.max_len)

    def __getitem__(self, index: int) -> dict[str, Any]:
        inst = self.instances[index]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.load_image(index))),
            "target": torch.from_numpy(self.target(index)),
            "polygon": np.asarray(inst["polygon"], dtype=np.float32),
            "label": int(inst["label"]),
            "length": int(len(inst["vertices"])),
        }

    @property
    def labels(self) -> np.ndarray:
        return np.array([int(i["label"]) for i in self.instances], dtype=np.int64)

    # -- identity -----------------------------------------------------------
    def _image_digest_bytes(self, index: int) -> bytes:
        return np.ascontiguousarray(self.load_image(index), dtype="<f4").tobytes()

    def fingerprint(self) -> str:
        """First 16 hex chars of sha256 over every image, target and label (in order)."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(f"{self.image_size}|{self.grid}|{self.max_len}|{len(self)}".encode())
            for i in range(len(self)):
                h.update(self._image_digest_bytes(i))
                h.update(np.ascontiguousarray(self.target(i), dtype="<i8").tobytes())
                h.update(np.int64(self.instances[i]["label"]).astype("<i8").tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={len(self)}, image_size={self.image_size}, grid={self.grid}, "
            f"max_len={self.max_len}, source={self.source!r})"
        )


def collate_polygons(batch: Sequence[dict]) -> dict[str, Any]:
    """Stack a list of :class:`PolygonDataset` items into a batch dict."""
    return {
        "image": torch.stack([b["image"] for b in batch]),
        "target": torch.stack([b["target"] for b in batch]),
        "label": torch.tensor([int(b["label"]) for b in batch], dtype=torch.long),
        "length": torch.tensor([int(b["length"]) for b in batch], dtype=torch.long),
        "polygon": [b["polygon"] for b in batch],
    }
