"""Polygon rasterisation and mask IoU for the Polygon-RNN task.

Polygon-RNN reports the IoU between the filled predicted polygon and the filled
ground-truth polygon.  Here both are rasterised with PIL on a canvas ``scale``
times finer than the ``size`` x ``size`` crop, so sub-pixel vertex positions
count.  The polygon is drawn with coordinates ``xy * scale``; PIL's fill
includes the boundary pixels, so a 100 x 100 square at scale 4 covers
401 x 401 high-res pixels (an overshoot of a quarter of a crop pixel per axis,
the same for prediction and ground truth; IoU of two such squares offset by 50
is 0.334 instead of 1/3).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["rasterise", "polygon_iou", "mask_iou"]


def _as_points(polygon_xy) -> np.ndarray:
    if polygon_xy is None:
        return np.zeros((0, 2), dtype=np.float64)
    if hasattr(polygon_xy, "detach"):  # torch tensor
        polygon_xy = polygon_xy.detach().cpu().numpy()
    p = np.asarray(polygon_xy, dtype=np.float64)
    if p.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    p = p.reshape(-1, 2)
    return p[np.all(np.isfinite(p), axis=1)]


def rasterise(polygon_xy, size: int, scale: int = 4) -> np.ndarray:
    """Filled polygon as a bool mask of shape (size*scale, size*scale).

    ``polygon_xy`` is (K,2) in crop pixel coordinates (x, y in [0, size]);
    fewer than 3 points give an all-False mask.
    """
    n = int(size) * int(scale)
    p = _as_points(polygon_xy)
    canvas = Image.new("L", (n, n), 0)
    if len(p) >= 3:
        pts = p * float(scale)
        ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in pts], fill=1, outline=None)
    return np.asarray(canvas, dtype=np.uint8).astype(bool)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks; 0.0 when the union is empty."""
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(np.logical_and(a, b).sum() / union)


def polygon_iou(pred_xy, gt_xy, size: int, scale: int = 4) -> float:
    """IoU of the filled ``pred_xy`` and ``gt_xy`` polygons on a size x size crop.

    A prediction with fewer than 3 points scores 0.0; so do two empty polygons.
    """
    p = _as_points(pred_xy)
    if len(p) < 3:
        return 0.0
    return mask_iou(rasterise(p, size, scale), rasterise(gt_xy, size, scale))
