"""A folder of binary PNG masks as a held-out polygon TEST set (``--data-root FOLDER`` of the polygon
experiments at the ``smoke``/``cpu`` scales): real outlines the built-in training data never showed.

Layout: ``ROOT/*.png``, one object per file, white (> 127) on black, any size. Each mask goes through the
same pipeline as the built-in Fashion-MNIST silhouettes (``builtin_polygons``): the largest 4-connected
component, its outer contour along pixel edges, simplified (Visvalingam-Whyatt) to at most
``max_vertices`` vertices: the ground-truth polygon; the crop is the object's box plus a margin, resized
to ``image_size``; the image shows the silhouette (its own mask as texture, a tint drawn from a generator
seeded by the file's index) over a noisy background. The model still TRAINS on the built-in silhouettes
(``n_train`` of them); only the test set is read from ROOT (at most ``n_test`` masks, in name order).
A mask with no usable object (empty, or a component smaller than 12 pixels) is skipped with a warning.
"""
from __future__ import annotations

import glob
import os
import warnings

import numpy as np
from PIL import Image

from .builtin_polygons import _colours, _compose, _crop_box, _resize_f, mask_outline
from .polygon import PolygonDataset, quantise_polygon
from .registry import register_dataset

LAYOUT = "ROOT/<name>.png   (one object per file: white > 127 on black; any size)"


def mask_files(root) -> list[str]:
    return sorted(glob.glob(os.path.join(str(root), "*.png")))


def read_mask(path: str) -> np.ndarray:
    """The file as a boolean (H, W) mask (white > 127)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def render_mask(mask: np.ndarray, rng: np.random.Generator, size: int, max_vertices: int):
    """Boolean mask -> (image (3, S, S), polygon (K, 2) in crop pixels), or None without a usable object."""
    outline = mask_outline(mask, max_vertices)
    if outline is None:
        return None
    comp, contour, poly = outline
    lo, hi = contour.min(axis=0), contour.max(axis=0)
    c0, c1 = _crop_box(lo, hi, rng)
    pad = int(max(hi - lo)) + 1  # room for the margin on every side
    box = (c0[0] + pad, c0[1] + pad, c1[0] + pad, c1[1] + pad)
    alpha = np.clip(_resize_f(np.pad(comp.astype(np.float32), pad), size, box), 0.0, 1.0)
    crop_poly = (poly - c0) * (size / (c1 - c0))
    bg_base, tint = _colours(rng)
    return _compose(rng, size, alpha, alpha, bg_base, tint), np.clip(crop_poly, 0, size)


class MaskPolygons(PolygonDataset):
    """The PNG masks under ``root`` as polygon instances (see the module docstring)."""

    def __init__(self, root, image_size: int, grid: int, max_vertices: int, limit: int | None = None,
                 seed: int = 0):
        super().__init__([], image_size, grid, max_vertices, f"masks:{root}", None)
        files = mask_files(root)
        if not files:
            raise FileNotFoundError(f"no PNG masks in {root}: expected {LAYOUT}")
        self.skipped_count = 0
        for i, path in enumerate(files):
            if limit is not None and len(self.instances) >= limit:
                break
            out = render_mask(read_mask(path), np.random.default_rng([int(seed), i]), image_size, max_vertices)
            verts = None if out is None else quantise_polygon(out[1], image_size, grid, max_vertices)
            if verts is None or len(verts) < 3:
                self.skipped_count += 1
                warnings.warn(f"{path}: no object of 12 pixels or more that makes a polygon; skipped")
                continue
            self.instances.append({"image": out[0], "polygon": out[1].astype(np.float32), "vertices": verts,
                                   "label": 0, "file": os.path.basename(path)})


def check_layout(root) -> list[str]:
    if not os.path.isdir(str(root)):
        return [f"{root}: not a folder; give the folder that holds the PNG masks ({LAYOUT})"]
    files = mask_files(root)
    if not files:
        return [f"{root}: no *.png files; expected {LAYOUT}"]
    usable = 0
    for i, path in enumerate(files):
        try:
            usable += render_mask(read_mask(path), np.random.default_rng([0, i]), 64, 10) is not None
        except OSError as e:
            return [f"{path}: not a readable PNG ({e}); replace or remove it"]
    return [] if usable else [f"{root}: none of the {len(files)} PNG masks has an object (white > 127, 12 pixels "
                              "or more); masks are white objects on black"]


def is_mask_folder(root) -> bool:
    """A ``--data-root`` of PNG masks (rather than a Cityscapes copy, which has ``gtFine/``)."""
    return bool(root) and os.path.isdir(str(root)) and not os.path.isdir(os.path.join(str(root), "gtFine")) \
        and bool(mask_files(root))


register_dataset("masks", "Binary masks (PNG): a held-out polygon test set",
                 "any folder of binary PNG masks, one object per file (e.g. exported from an annotation tool)",
                 LAYOUT, check=check_layout, counts=lambda root: {"test": len(mask_files(root))})
