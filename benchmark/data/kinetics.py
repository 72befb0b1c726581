"""Kinetics-400 action recognition (deeprnn section 4.1, Table 3).

Expected layout: the official CSV annotations plus trimmed clips as written by the common
downloaders (ActivityNet's ``Crawler/Kinetics/download.py`` and its forks: one folder per label,
file ``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4``)::

    ROOT/annotations/train.csv        columns label,youtube_id,time_start,time_end,split[,is_cc]
    ROOT/annotations/validate.csv
    ROOT/train/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4
    ROOT/val/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4

``<label>`` is the CSV label as is (``passing American football (in game)``); the same folder with
spaces replaced by ``_`` and a flat ``ROOT/<subset>/<clip>.mp4`` (the CVDF tarballs) are accepted
too.  Labels: 0-based position in the sorted label names of ``train.csv`` (400 classes).

Kinetics clips disappear from YouTube, so every copy misses some: missing clips are counted
(``Kinetics400.missing``, ``_counts``' ``<subset>_missing``) and reported with a warning, and are
not a layout problem unless no clip of a subset exists (or ``check_layout(..., strict=True)``).
"""
from __future__ import annotations

import csv
import itertools
import os
import warnings

from .layout import MAX_LISTED  # noqa: F401 (the module's former constant, still importable)
from .layout import Need, first_missing, name_first, raise_not_found
from .registry import register_dataset
from .video import VideoClassification

__all__ = ["Kinetics400", "check_layout", "read_annotations", "clip_name", "scan_clips"]

ANN_DIR = "annotations"
SUBSETS = {"train": ("train.csv", "train"), "val": ("validate.csv", "val"), "test": ("test.csv", "test")}
COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
TITLE = "Kinetics-400"
GET = "https://github.com/cvdfoundation/kinetics-dataset (annotations + clips) or ActivityNet's Crawler/Kinetics/download.py"
LAYOUT = ("ROOT/annotations/{train,validate}.csv   (label,youtube_id,time_start,time_end,split[,is_cc])\n"
          "ROOT/{train,val}/<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4   (missing clips: counted, not fatal)")


def _how_to_get(root) -> str:
    return (f"Get the Kinetics-400 annotations (train.csv, validate.csv) from "
            f"https://github.com/cvdfoundation/kinetics-dataset (or deepmind.com/research/open-source/kinetics) "
            f"into {os.path.join(str(root), ANN_DIR)} and download/trim the clips with "
            f"ActivityNet's Crawler/Kinetics/download.py into {root}/{{train,val}}/<label>/.")


def ann_file(root, subset: str) -> str:
    return os.path.join(str(root), ANN_DIR, SUBSETS[subset][0])


def clip_dir(root, subset: str) -> str:
    return os.path.join(str(root), SUBSETS[subset][1])


def clip_name(youtube_id: str, time_start, time_end) -> str:
    """``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4``."""
    return f"{youtube_id}_{int(float(time_start)):06d}_{int(float(time_end)):06d}.mp4"


def read_annotations(root, subset: str = "train") -> list[dict]:
    """Rows of the subset's CSV as dicts (``label``, ``youtube_id``, ``time_start``, ``time_end``, ...)."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {tuple(SUBSETS)}, got {subset!r}")
    path = ann_file(root, subset)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        need = [c for c in COLUMNS[1:4] + (("label",) if subset != "test" else ()) if c not in cols]
        if need:
            raise ValueError(f"{path}: missing column(s) {need}; header is {cols}, expected {','.join(COLUMNS)}[,is_cc]")
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def _label_dirs(label: str) -> tuple[str, ...]:
    alt = label.replace(" ", "_")
    return (label,) if alt == label else (label, alt)


class _Listing:
    """Cached directory listings, so that 240k clips cost one ``listdir`` per label folder."""

    def __init__(self):
        self._cache: dict[str, frozenset] = {}

    def has(self, folder: str, name: str) -> bool:
        if folder not in self._cache:
            try:
                self._cache[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._cache[folder] = frozenset()
        return name in self._cache[folder]


def scan_clips(root, subset: str = "train") -> tuple[list[tuple[str, str]], list[str]]:
    """``([(clip path, label), ...] present, [expected path, ...] missing)`` for a subset, CSV order."""
    base = clip_dir(root, subset)
    listing = _Listing()
    present, missing = [], []
    for row in read_annotations(root, subset):
        name = clip_name(row["youtube_id"], row["time_start"], row["time_end"])
        label = row.get("label", "")
        folders = [os.path.join(base, d) for d in _label_dirs(label)] if label else []
        found = next((os.path.join(d, name) for d in folders + [base] if listing.has(d, name)), None)
        if found is None:
            missing.append(os.path.join(folders[0] if folders else base, name))
        else:
            present.append((found, label))
    return present, missing


def _first_problem(root, subsets) -> str | None:
    root = str(root)
    annotations = (Need(ann_file(root, s)) for s in subsets)
    clips = (Need(d, folder=True, expected=f" (expected {os.path.join(d, '<label>', '<youtube_id>_<start:06d>_<end:06d>.mp4')})")
             for d in (clip_dir(root, s) for s in subsets))
    return first_missing(TITLE, root, _how_to_get(root), itertools.chain(annotations, clips))


def check_layout(root, subsets=("train", "val"), strict: bool = False) -> list[str]:
    """Problems with a Kinetics-400 copy (empty list: fine).

    Fatal: a missing annotation CSV or clip folder, a CSV without the expected columns, or a subset
    with no clip at all.  Missing clips (normal for Kinetics) are counted and reported with one
    ``warnings.warn`` per subset; with ``strict=True`` they are problems too (first 20 named).
    """
    if isinstance(subsets, str):
        subsets = (subsets,)
    problem = _first_problem(root, subsets)
    if problem is not None:
        return [problem]
    problems = []
    for s in subsets:
        try:
            present, missing = scan_clips(root, s)
        except ValueError as e:
            problems.append(f"{e}. {_how_to_get(root)}")
            continue
        listed = len(present) + len(missing)
        if not present:
            problems.append(f"none of the {listed} clips of {ann_file(root, s)} exist (first expected: "
                            f"{missing[0] if missing else '-'}). {_how_to_get(root)}")
        elif missing:
            msg = (f"Kinetics-400 {s}: {len(missing)} of {listed} clips missing ({len(present)} present; "
                   f"first missing: {missing[0]})")
            if strict:
                problems += name_first(missing, lambda p: f"missing clip {p}", lambda n: f"... {msg}")
            else:
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return problems


class Kinetics400(VideoClassification):
    """Kinetics-400 ``subset`` ``"train"`` / ``"val"`` (``"test"`` if a labelled ``test.csv`` is there).

    Only clips that exist are samples (``self.missing``: the expected paths of the others, with one
    warning); corrupt clips are skipped at access (``self.skipped``).  Labels index the sorted label
    names of ``train.csv`` (of the subset's own CSV when ``train.csv`` is absent).  Other keyword
    arguments: see :class:`video.VideoClassification`.
    """

    def __init__(self, root, subset: str = "train", **kwargs):
        root = str(root)
        if subset not in SUBSETS:
            raise ValueError(f"subset must be one of {tuple(SUBSETS)}, got {subset!r}")
        raise_not_found(TITLE, root, _first_problem(root, (subset,)))
        class_source = "train" if os.path.isfile(ann_file(root, "train")) else subset
        classes = sorted({r["label"] for r in read_annotations(root, class_source)})
        index = {c: i for i, c in enumerate(classes)}
        present, self.missing = scan_clips(root, subset)
        unknown = sorted({l for _, l in present if l not in index})
        if unknown:
            raise ValueError(f"Kinetics-400 {subset}: labels not in {ann_file(root, class_source)}: {unknown[:5]}")
        if not present:
            raise FileNotFoundError(
                f"Kinetics-400: none of the {len(self.missing)} clips of {ann_file(root, subset)} exist "
                f"(first expected: {self.missing[0] if self.missing else '-'}). {_how_to_get(root)}")
        if self.missing:
            warnings.warn(f"Kinetics-400 {subset}: {len(self.missing)} of {len(present) + len(self.missing)} "
                          f"clips missing and left out (first: {self.missing[0]})", RuntimeWarning, stacklevel=2)
        super().__init__([(p, index[l]) for p, l in present], classes, **kwargs)
        self.root, self.subset = root, subset


def _counts(root) -> dict[str, int]:
    """Present clips per subset (``train``, ``val``) and the missing ones (``train_missing``, ...)."""
    out = {}
    for s in ("train", "val"):
        if os.path.isfile(ann_file(root, s)):
            present, missing = scan_clips(root, s)
            out[s], out[f"{s}_missing"] = len(present), len(missing)
    return out


register_dataset("kinetics", TITLE, GET, LAYOUT, check=check_layout, counts=_counts)
