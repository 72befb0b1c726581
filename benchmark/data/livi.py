"""LiVi-Set (LiDAR-Video driving data set, Chen et al. CVPR 2018): steering from frame sequences (scs Tables 5-6).

LiVi-Set is released as per-video image folders with driving-behaviour labels; this loader reads
the following layout (convert the release's label files into it -- one line per frame)::

    ROOT/<sequence>/images/<frame>.jpg          (or .png; <frame> e.g. 000123)
    ROOT/<sequence>/labels.csv                  header: frame,steering_angle,speed[,road_type]
      or ROOT/<sequence>/labels.txt             "<frame> <steering_angle> <speed> [<road_type>]" per line
    ROOT/train.txt, ROOT/val.txt                optional: sequence names, one per line

Reading rules (documented choices):

* ``labels.csv`` is read with the ``csv`` module, ``labels.txt`` split on white space; a first row
  whose second field is not a number is a header naming the columns (``frame``,
  ``steering_angle``/``steering``/``angle``, ``speed``, optional ``road_type``/``road``), otherwise
  the columns are positional in that order;
* ``frame`` is matched to an image by file stem (an extension in the label is ignored); rows are
  ordered by the natural order of the frame name (``2`` before ``10``);
* a labelled frame whose image is missing is dropped and breaks the sequence: a sample is
  ``observed`` **adjacent** labelled frames with images; its target is the steering angle (as
  written, degrees) and speed of the **last** frame;
* road types (scs Table 6): ``crossroads``, ``t-junction``, ``curve``, ``straight`` -> 0..3
  (spellings such as ``T_junction``, ``curve road``, ``crossroad`` accepted), ``-1`` when the column
  is absent or empty; ``road_types=`` keeps only samples whose last frame has one of them;
* splits: ``train.txt``/``val.txt`` when present; otherwise the sequences in natural order, the last
  20% (at least one when there are two or more) are ``val``;
* a corrupt image is skipped: warning naming the file, added to ``skipped``, next sample that
  does not use it (the rule of :class:`benchmark.data.video.SkipCorrupt`, keyed by the image).
"""
from __future__ import annotations

import csv
import os
from typing import Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .layout import MAX_LISTED  # noqa: F401 (the module's former constant, still importable)
from .layout import Report, find_hint, listed_but_absent, name_first, pick_names, split_train_val
from .registry import register_dataset
from .video import SkipCorruptFiles, natural_key, open_image

__all__ = ["ROAD_TYPES", "road_type_index", "read_labels", "sequences", "split_sequences", "check_layout", "LiViSet"]

ROAD_TYPES = ("crossroads", "t-junction", "curve", "straight")
_ROAD_ALIASES = {
    "crossroads": 0, "crossroad": 0, "intersection": 0,
    "t-junction": 1, "tjunction": 1,
    "curve": 2, "curve-road": 2, "curved": 2, "curve-roads": 2,
    "straight": 3, "straight-road": 3, "straight-roads": 3,
}
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
LABEL_FILES = ("labels.csv", "labels.txt")
DEFAULT_OBSERVED = 7
VAL_FRACTION = 0.2
GET = ("LiVi-Set, Chen et al. CVPR 2018 'LiDAR-Video Driving Dataset' (http://www.dbehavior.net, registration): "
       "put each video's frames in ROOT/<sequence>/images/ and its per-frame labels in ROOT/<sequence>/labels.csv")
LAYOUT = ("ROOT/<sequence>/images/<frame>.jpg (or .png)\n"
          "ROOT/<sequence>/labels.csv (frame,steering_angle,speed[,road_type]) or labels.txt (same columns, "
          "white space)\n"
          "ROOT/train.txt, ROOT/val.txt optional (sequence names); else the last 20% of sequences are val")
_COLUMNS = {"frame": "frame", "name": "frame", "image": "frame", "steering_angle": "steering", "steering": "steering",
            "angle": "steering", "speed": "speed", "road_type": "road_type", "road": "road_type"}


def _report(root) -> Report:
    r = str(root)
    return Report("LiVi-Set", r, f"{os.path.join(r, '<sequence>', 'images', '<frame>.jpg')} and "
                                 f"{os.path.join(r, '<sequence>', 'labels.csv')} (or labels.txt)", GET)


def road_type_index(name) -> int:
    """0..3 for a road type name (see ``ROAD_TYPES``), -1 for empty/None; ValueError when unknown."""
    if name is None:
        return -1
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    if key in ("", "-", "none", "nan", "na", "-1"):
        return -1
    if key not in _ROAD_ALIASES:
        raise ValueError(f"unknown road type {name!r} (known: {', '.join(ROAD_TYPES)})")
    return _ROAD_ALIASES[key]


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_labels(path) -> list[dict]:
    """Rows ``{"frame": stem, "steering": float, "speed": float, "road_type": int}`` in natural frame order."""
    path = str(path)
    with open(path, newline="") as f:
        if path.endswith(".csv"):
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
        else:
            rows = [ln.split() for ln in f if ln.strip()]
    rows = [[c.strip() for c in r] for r in rows]
    cols = ["frame", "steering", "speed", "road_type"]
    if rows and (len(rows[0]) < 2 or not _is_number(rows[0][1])):
        header = [h.lower() for h in rows.pop(0)]
        unknown = [h for h in header if h not in _COLUMNS]
        if unknown:
            raise ValueError(f"{path}: unknown column(s) {unknown}; expected frame, steering_angle, speed[, road_type]")
        cols = [_COLUMNS[h] for h in header]
        for need in ("frame", "steering", "speed"):
            if need not in cols:
                raise ValueError(f"{path}: no '{need if need != 'steering' else 'steering_angle'}' column")
    out = []
    for n, r in enumerate(rows, 1):
        if len(r) < 3 or len(r) > len(cols):
            raise ValueError(f"{path}: row {n} has {len(r)} fields, expected frame, steering_angle, speed[, road_type]")
        d = dict(zip(cols, r))
        try:
            out.append({"frame": os.path.splitext(d["frame"])[0] if d["frame"].lower().endswith(IMAGE_EXTS) else d["frame"],
                        "steering": float(d["steering"]), "speed": float(d["speed"]),
                        "road_type": road_type_index(d.get("road_type"))})
        except ValueError as e:
            raise ValueError(f"{path}: row {n}: {e}") from None
    out.sort(key=lambda d: natural_key(d["frame"]))
    return out


def sequences(root) -> list[str]:
    """Sequence folders (holding ``images/`` or a label file), natural order."""
    root = str(root)
    if not os.path.isdir(root):
        return []
    out = [d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and (
        os.path.isdir(os.path.join(root, d, "images")) or any(os.path.isfile(os.path.join(root, d, l)) for l in LABEL_FILES))]
    return sorted(out, key=natural_key)


def _label_file(root, seq: str) -> str | None:
    for l in LABEL_FILES:
        p = os.path.join(str(root), seq, l)
        if os.path.isfile(p):
            return p
    return None


def split_sequences(root) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...]}`` (rule in the module docstring)."""
    return split_train_val(str(root), sequences(root), VAL_FRACTION)


def _images(root, seq: str) -> dict[str, str]:
    d = os.path.join(str(root), seq, "images")
    if not os.path.isdir(d):
        return {}
    out = {}
    for f in sorted(os.listdir(d)):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS and stem not in out:
            out[stem] = os.path.join(d, f)
    return out


def check_layout(root) -> list[str]:
    """Problems with a LiVi-Set copy under ``root`` (empty: fine); each names a file and the fix."""
    return _report(root).run(str(root), _check_sequences)


def _check_sequences(root: str, report: Report) -> None:
    seqs = sequences(root)
    if not seqs:
        report.add(f"no sequence found: expected {os.path.join(root, '<sequence>', 'images')} and "
                   f"{os.path.join(root, '<sequence>', 'labels.csv')}{find_hint(root, 'images')}")
        return
    for seq in seqs:
        img_dir = os.path.join(root, seq, "images")
        if not os.path.isdir(img_dir):
            report.add(f"missing {img_dir}")
        lf = _label_file(root, seq)
        if lf is None:
            report.add(f"missing {os.path.join(root, seq, 'labels.csv')} (or labels.txt)")
            continue
        try:
            rows = read_labels(lf)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            report.add(str(e))
            continue
        if not rows:
            report.add(f"{lf} has no label row")
        imgs = _images(root, seq)
        missing = [r["frame"] for r in rows if r["frame"] not in imgs] if os.path.isdir(img_dir) else []
        report.add_all(name_first(missing, lambda fr: f"missing {os.path.join(img_dir, fr + '.jpg')} (or .png), labelled in {lf}",
                                  lambda n: f"... and {n} more images labelled in {lf} missing"))
    for s, listed_in in listed_but_absent(root, split_sequences(root), seqs):
        report.add(f"missing {os.path.join(root, s, 'images')} (sequence {s!r} listed in {listed_in})")


def _runs(rows: Sequence[dict], imgs: dict[str, str]) -> list[list[dict]]:
    runs: list[list[dict]] = [[]]
    for r in rows:
        if r["frame"] in imgs:
            runs[-1].append(dict(r, path=imgs[r["frame"]]))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _load_image(path: str, mode: str, crop, size) -> np.ndarray:
    with open_image(path) as im:
        im = im.convert(mode)
        if crop is not None:
            top, left, h, w = crop
            im = im.crop((left, top, left + w, top + h))
        if size is not None:
            im = im.resize((int(size[1]), int(size[0])), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


class LiViSet(SkipCorruptFiles, Dataset):
    """``{"frames": float32 (T,3,H,W) in [0,1], "steering": float32, "speed": float32, "road_type": int
    (-1 unknown), "video": sequence, "frame": last frame name, "index": i}`` -- see the module docstring."""

    def __init__(self, root, split: str = "train", observed: int = DEFAULT_OBSERVED, step: int = 1,
                 size: tuple[int, int] | None = None, crop: tuple[int, int, int, int] | None = None,
                 road_types: Iterable[str] | None = None, names: Iterable[str] | None = None):
        SkipCorruptFiles.__init__(self)
        root = str(root)
        if not sequences(root):
            raise FileNotFoundError(check_layout(root)[0])
        if observed < 1 or step < 1:
            raise ValueError("observed and step must be >= 1")
        self.names = pick_names("LiVi-Set", split_sequences(root), split, names)
        self.root, self.split, self.observed, self.step = root, split, int(observed), int(step)
        self.size, self.crop = size, crop
        keep = None if road_types is None else {road_type_index(r) for r in road_types}
        self.samples: list[list[dict]] = []
        for seq in self.names:
            lf = _label_file(root, seq)
            if lf is None or not os.path.isdir(os.path.join(root, seq, "images")):
                missing = os.path.join(root, seq, "images") if lf else os.path.join(root, seq, "labels.csv")
                raise _report(root).not_found(f"missing {missing}")
            for run in _runs(read_labels(lf), _images(root, seq)):
                for e in range(self.observed - 1, len(run), self.step):
                    win = run[e - self.observed + 1:e + 1]
                    if keep is None or win[-1]["road_type"] in keep:
                        self.samples.append([dict(w, video=seq) for w in win])

    def __len__(self) -> int:
        return len(self.samples)

    def _paths(self, index: int) -> list[str]:
        return [w["path"] for w in self.samples[index]]

    def _path(self, index: int) -> str:
        return self.samples[index][-1]["path"]

    @property
    def road_types(self) -> np.ndarray:
        return np.array([s[-1]["road_type"] for s in self.samples], dtype=np.int64)

    def _load(self, index: int) -> dict:
        win = self.samples[index]
        frames = np.stack([_load_image(w["path"], "RGB", self.crop, self.size) for w in win])
        last = win[-1]
        return {"frames": torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0),
                "steering": torch.tensor(last["steering"], dtype=torch.float32),
                "speed": torch.tensor(last["speed"], dtype=torch.float32),
                "road_type": int(last["road_type"]), "video": last["video"], "frame": last["frame"], "index": index}

    def __repr__(self) -> str:
        return f"LiViSet(root={self.root!r}, split={self.split!r}, sequences={len(self.names)}, n={len(self)})"


def _counts(root) -> dict[str, int]:
    return {s: len(LiViSet(root, s)) for s in ("train", "val")}


register_dataset("livi", "LiVi-Set (LiDAR-Video driving, steering)", GET, LAYOUT, check=check_layout, counts=_counts)
