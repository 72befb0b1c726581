"""Cityscapes gtFine polygon loader for the Polygon-RNN task (deeprnn section 4.2).

Expected layout (the official zips unpacked into ROOT)::

    ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json
    ROOT/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png

Each JSON holds ``imgHeight``, ``imgWidth`` and ``objects`` (a list of
``{"label": ..., "polygon": [[x, y], ...]}``).  Objects whose label is not one of
``classes`` (e.g. ``cargroup``) or that carry a truthy ``deleted`` flag are
ignored.  Following Polygon-RNN, every remaining object becomes one instance:
its polygon's bounding box is extended by 15% of its width/height on each side,
clipped to the image, and that region is resized (bilinear, not
aspect-preserving) to ``image_size`` x ``image_size``; the polygon is mapped
into crop coordinates and quantised with :func:`quantise_polygon`.  Objects
whose box is smaller than ``min_box`` pixels in width or height, and polygons
that degenerate on the grid, are skipped.  The paper's test split is Cityscapes
``val``.

Simplification versus Polygon-RNN: the annotated polygon is used as is (one
polygon per object, occlusion by later-drawn objects is not cut out).
"""
from __future__ import annotations

import glob
import json
import os
import warnings
from typing import Sequence

import numpy as np
from PIL import Image

from .layout import name_first
from .polygon import CITYSCAPES_CLASSES, PolygonDataset, quantise_polygon
from .registry import register_dataset

__all__ = ["CityscapesPolygons", "check_layout", "json_pattern", "image_pattern", "image_path_for"]

JSON_SUFFIX = "_gtFine_polygons.json"
IMAGE_SUFFIX = "_leftImg8bit.png"
EXTEND = 0.15
LAZY_THRESHOLD = 2000  # more instances than this: crops are loaded on access
GET = "https://www.cityscapes-dataset.com (free registration): gtFine_trainvaltest.zip + leftImg8bit_trainvaltest.zip"
LAYOUT = ("ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json\n"
          "ROOT/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png   (splits: train, val)")


def json_pattern(root, split: str) -> str:
    return os.path.join(str(root), "gtFine", split, "<city>", "<city>_<seq>_<frame>" + JSON_SUFFIX)


def image_pattern(root, split: str) -> str:
    return os.path.join(str(root), "leftImg8bit", split, "<city>", "<city>_<seq>_<frame>" + IMAGE_SUFFIX)


def _how_to_get(root) -> str:
    return (
        f"Get the data from https://www.cityscapes-dataset.com (free registration): download "
        f"gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip and unzip both into {root} "
        f"(so that {os.path.join(str(root), 'gtFine')} and {os.path.join(str(root), 'leftImg8bit')} exist)."
    )


def _layout_message(root, split: str, problem: str) -> str:
    return (
        f"Cityscapes polygons not found: {problem}\n"
        f"  root: {root}\n"
        f"  expected annotations: {json_pattern(root, split)}\n"
        f"  expected images:      {image_pattern(root, split)}\n"
        f"  {_how_to_get(root)}"
    )


def image_path_for(json_path: str, root, split: str) -> str:
    """The leftImg8bit png that belongs to a gtFine polygon JSON."""
    city = os.path.basename(os.path.dirname(json_path))
    stem = os.path.basename(json_path)[: -len(JSON_SUFFIX)]
    return os.path.join(str(root), "leftImg8bit", split, city, stem + IMAGE_SUFFIX)


def _json_files(root, split: str) -> list[str]:
    return sorted(glob.glob(os.path.join(str(root), "gtFine", split, "*", "*" + JSON_SUFFIX)))


def _layout_problem(root, split: str) -> str | None:
    if not os.path.isdir(str(root)):
        return f"root directory {root} does not exist"
    gt = os.path.join(str(root), "gtFine", split)
    if not os.path.isdir(gt):
        return f"{gt} does not exist"
    if not _json_files(root, split):
        return f"no *{JSON_SUFFIX} files under {gt}/<city>/"
    return None


def check_layout(root, split: str = "train") -> list[str]:
    """Problems with the Cityscapes layout under ``root`` for ``split`` (empty list: fine)."""
    problem = _layout_problem(root, split)
    if problem is not None:
        return [_layout_message(root, split, problem)]
    problems: list[str] = []
    img_dir = os.path.join(str(root), "leftImg8bit", split)
    if not os.path.isdir(img_dir):
        problems.append(f"{img_dir} does not exist (expected images: {image_pattern(root, split)}); {_how_to_get(root)}")
    missing: list[str] = []
    for jp in _json_files(root, split):
        try:
            with open(jp) as f:
                ann = json.load(f)
            if not isinstance(ann.get("objects"), list) or "imgWidth" not in ann or "imgHeight" not in ann:
                problems.append(f"{jp}: missing keys (need imgHeight, imgWidth, objects)")
        except (OSError, ValueError) as e:
            problems.append(f"{jp}: unreadable JSON ({e})")
        ip = image_path_for(jp, root, split)
        if os.path.isdir(img_dir) and not os.path.isfile(ip):
            missing.append(ip)
    return problems + name_first(missing, lambda ip: f"missing image {ip}", lambda n: f"... and {n} more missing images",
                                 limit=20)


def _crop_box(poly: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    w, h = x1 - x0, y1 - y0
    return (
        max(0.0, x0 - EXTEND * w), max(0.0, y0 - EXTEND * h),
        min(float(width), x1 + EXTEND * w), min(float(height), y1 + EXTEND * h),
    )


def _crop(img: Image.Image, box, size: int) -> np.ndarray:
    """uint8 (3,S,S) crop of ``box`` (float x0, y0, x1, y1) resized bilinearly."""
    out = img.resize((size, size), Image.BILINEAR, box=tuple(float(b) for b in box))
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8).transpose(2, 0, 1))


class CityscapesPolygons(PolygonDataset):
    """Cityscapes gtFine object instances as Polygon-RNN crops; see the module docstring.

    ``limit`` caps the number of instances (taken in sorted city / file order).
    ``lazy`` (extra keyword): load crops on access instead of at construction;
    default: lazy when there are more than 2000 instances.
    """

    def __init__(
        self,
        root,
        split: str = "train",
        image_size: int = 224,
        grid: int = 28,
        max_vertices: int = 70,
        classes: Sequence[str] = CITYSCAPES_CLASSES,
        min_box: int = 16,
        limit: int | None = None,
        lazy: bool | None = None,
    ):
        root = str(root)
        problem = _layout_problem(root, split)
        if problem is not None:
            raise FileNotFoundError(_layout_message(root, split, problem))
        super().__init__([], image_size, grid, max_vertices, f"cityscapes:{root}:{split}", tuple(classes))
        self.root, self.split, self.max_vertices, self.min_box = root, split, int(max_vertices), int(min_box)
        self.classes = tuple(classes)
        class_index = {c: i for i, c in enumerate(self.classes)}
        for jp in _json_files(root, split):
            if limit is not None and len(self.instances) >= limit:
                break
            with open(jp) as f:
                ann = json.load(f)
            width, height = int(ann["imgWidth"]), int(ann["imgHeight"])
            found = []
            for obj_id, obj in enumerate(ann.get("objects", [])):
                if obj.get("deleted") or obj.get("label") not in class_index:
                    continue
                poly = np.asarray(obj.get("polygon", []), dtype=np.float64).reshape(-1, 2)
                if len(poly) < 3:
                    continue
                x0, y0 = poly.min(axis=0)
                x1, y1 = poly.max(axis=0)
                if x1 - x0 < min_box or y1 - y0 < min_box:
                    continue
                box = _crop_box(poly, width, height)
                scale = np.array([image_size / (box[2] - box[0]), image_size / (box[3] - box[1])])
                crop_poly = np.clip((poly - np.array(box[:2])) * scale, 0.0, float(image_size))
                verts = quantise_polygon(crop_poly, image_size, grid, max_vertices)
                if len(verts) < 3:
                    continue
                found.append({
                    "polygon": crop_poly.astype(np.float32), "vertices": verts,
                    "label": class_index[obj["label"]], "box": box, "object_id": obj_id,
                })
                if limit is not None and len(self.instances) + len(found) >= limit:
                    break
            if not found:
                continue
            ip = image_path_for(jp, root, split)
            if not os.path.isfile(ip):
                raise FileNotFoundError(
                    f"Cityscapes image missing for {jp}: expected {ip}\n  {_how_to_get(root)}"
                )
            for inst in found:
                inst["image_path"] = ip
            self.instances.extend(found)
        self.lazy = (len(self.instances) > LAZY_THRESHOLD) if lazy is None else bool(lazy)
        # A corrupt image is skipped with a warning and counted (``skipped``, ``skipped_count``): all its
        # instances are left out. Eager sets decode every image here; lazy sets read each image's header.
        self.skipped: set[str] = set()
        by_path: dict[str, list[dict]] = {}
        for inst in self.instances:
            by_path.setdefault(inst["image_path"], []).append(inst)
        for ip, insts in by_path.items():
            try:
                with Image.open(ip) as im:
                    img = None if self.lazy else im.convert("RGB")
            except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for unreadable/truncated files
                self.skipped.add(ip)
                warnings.warn(f"skipping corrupt Cityscapes image {ip}: {e}", RuntimeWarning, stacklevel=2)
                continue
            if img is not None:
                for inst in insts:
                    inst["image"] = _crop(img, inst["box"], image_size)
        if self.skipped:
            self.instances = [i for i in self.instances if i["image_path"] not in self.skipped]

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def load_image(self, index: int) -> np.ndarray:
        inst = self.instances[index]
        if "image" not in inst:
            with Image.open(inst["image_path"]) as im:
                img = _crop(im.convert("RGB"), inst["box"], self.image_size)
            return img.astype(np.float32) / np.float32(255.0)
        return super().load_image(index)


def _counts(root) -> dict[str, int]:
    return {split: len(CityscapesPolygons(root, split, image_size=32, grid=8, lazy=True))
            for split in ("train", "val") if os.path.isdir(os.path.join(str(root), "gtFine", split))}


register_dataset("cityscapes", "Cityscapes (gtFine polygons)", GET, LAYOUT,
                 check=lambda root: check_layout(root, "train") or check_layout(root, "val"), counts=_counts)
