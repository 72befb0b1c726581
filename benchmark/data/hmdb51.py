"""HMDB-51 action recognition / anticipation (deeprnn section 4.1).

Expected layout (``hmdb51_org.rar`` unpacked, then each per-class ``<class>.rar`` unpacked into
``ROOT/hmdb51``; ``test_train_splits.rar`` unpacked into ROOT)::

    ROOT/hmdb51/<class>/<video>.avi
    ROOT/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt     lines "<video>.avi <mark>"

``<mark>``: 1 = train, 2 = test, 0 = not used in that split.  Classes are the ``<class>`` names of
the split files, sorted; the label is the 0-based position in that order (51 classes).  With
``frames=True`` extracted frames ``ROOT/frames/<class>/<video stem>/*.jpg`` replace the ``.avi``
files.  Official sizes per split: 3570 train, 1530 test (70 / 30 clips per class), 1666 unused.
"""
from __future__ import annotations

import glob
import itertools
import os
import re

from .layout import MAX_LISTED  # noqa: F401 (the module's former constant, still importable)
from .layout import Need, first_missing, raise_not_found
from .registry import register_dataset
from .video import SampleFolders, VideoClassification, keep_existing, missing_sample_lines

__all__ = ["HMDB51", "check_layout", "read_splits", "classes_of"]

VIDEO_DIR = "hmdb51"
SPLIT_DIR = "testTrainMulti_7030_splits"
FRAMES_DIR = "frames"
FOLDERS = SampleFolders(VIDEO_DIR, "<class>/<video>.avi", "<class>/<video stem>/*.jpg", FRAMES_DIR)
MARKS = {"train": 1, "test": 2, "unused": 0}
TITLE = "HMDB-51"
GET = "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/: hmdb51_org.rar + test_train_splits.rar"
LAYOUT = ("ROOT/hmdb51/<class>/<video>.avi\n"
          "ROOT/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt   (\"<video>.avi <0|1|2>\", 1 train, 2 test)\n"
          "(or extracted frames: ROOT/frames/<class>/<video stem>/*.jpg)")
_SPLIT_RE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")


def _how_to_get(root) -> str:
    return (f"Get hmdb51_org.rar and test_train_splits.rar from "
            f"https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/ ; unrar the "
            f"per-class archives into {os.path.join(str(root), VIDEO_DIR)}/<class>/ and the splits into {root} "
            f"(so that {os.path.join(str(root), SPLIT_DIR)} exists).")


def split_file(root, cls: str, split: int) -> str:
    return os.path.join(str(root), SPLIT_DIR, f"{cls}_test_split{int(split)}.txt")


def classes_of(root) -> list[str]:
    """Sorted class names that have a ``<class>_test_split1.txt`` file."""
    names = []
    for p in glob.glob(os.path.join(str(root), SPLIT_DIR, "*_test_split1.txt")):
        m = _SPLIT_RE.match(os.path.basename(p))
        if m:
            names.append(m.group("cls"))
    return sorted(names)


def read_splits(root, split: int = 1) -> dict[str, list[tuple[str, int]]]:
    """``{class: [(video file name, mark), ...]}`` from the ``<class>_test_split<split>.txt`` files."""
    if int(split) not in (1, 2, 3):
        raise ValueError(f"split must be 1, 2 or 3, got {split!r}")
    out = {}
    for cls in classes_of(root):
        path = split_file(root, cls, split)
        rows = []
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                    raise ValueError(f"{path}:{n}: expected '<video>.avi <0|1|2>', got {line.strip()!r}")
                rows.append((parts[0], int(parts[1])))
        out[cls] = rows
    return out


def _sample_path(root, cls: str, name: str, frames: bool) -> str:
    if frames:
        return os.path.join(str(root), FRAMES_DIR, cls, os.path.splitext(name)[0])
    return os.path.join(str(root), VIDEO_DIR, cls, name)


def _first_problem(root, splits, frames: bool) -> str | None:
    root, how = str(root), _how_to_get(root)
    sdir = os.path.join(root, SPLIT_DIR)
    problem = first_missing(TITLE, root, how, [Need(sdir, folder=True)])
    if problem is not None:
        return problem
    classes = classes_of(root)
    if not classes:
        return f"no <class>_test_split1.txt files in {sdir} (expected e.g. {split_file(root, 'brush_hair', 1)}). {how}"
    split_files = (Need(split_file(root, cls, s), hint=False) for s in splits for cls in classes)
    return first_missing(TITLE, root, how, itertools.chain(split_files, [FOLDERS.need(root, frames, how)]))


def check_layout(root, splits=(1, 2, 3), frames: bool = False) -> list[str]:
    """Problems with an HMDB-51 copy (empty list: fine): split files, the video folder, then every
    video marked 1 or 2 in ``splits`` (first 20 missing named, then a count)."""
    if isinstance(splits, int):
        splits = (splits,)
    problem = _first_problem(root, splits, frames)
    if problem is not None:
        return [problem]
    problems, listed = [], []
    for s in splits:
        try:
            table = read_splits(root, s)
        except ValueError as e:
            problems.append(f"{e}. Re-extract test_train_splits.rar")
            continue
        listed += [_sample_path(root, cls, name, frames) for cls, rows in table.items() for name, mark in rows
                   if mark != 0]
    return problems + missing_sample_lines(listed, frames, SPLIT_DIR, _how_to_get(root))


class HMDB51(VideoClassification):
    """HMDB-51 split ``split`` (1-3), ``subset`` ``"train"`` (mark 1), ``"test"`` (2) or ``"unused"`` (0).

    Samples are in sorted class order, then split-file order.  Other keyword arguments: see
    :class:`video.VideoClassification`.  Missing files are left out with one warning
    (``self.missing``); corrupt ones are skipped at access (``self.skipped``).
    """

    def __init__(self, root, split: int = 1, subset: str = "train", frames: bool = False, **kwargs):
        root = str(root)
        if subset not in MARKS:
            raise ValueError(f"subset must be one of {tuple(MARKS)}, got {subset!r}")
        raise_not_found(TITLE, root, _first_problem(root, (split,), frames))
        table = read_splits(root, split)
        classes = sorted(table)
        listed = [(_sample_path(root, cls, name, frames), label) for label, cls in enumerate(classes)
                  for name, mark in table[cls] if mark == MARKS[subset]]
        samples, self.missing = keep_existing(TITLE, listed, frames, f"{subset} split {split}", _how_to_get(root))
        super().__init__(samples, classes, frames=frames, **kwargs)
        self.root, self.split, self.subset = root, int(split), subset


def _counts(root) -> dict[str, int]:
    """Marked entries per split: ``train1``, ``test1``, ``unused1``, ... (no video is opened)."""
    out = {}
    for s in (1, 2, 3):
        if not all(os.path.isfile(split_file(root, c, s)) for c in classes_of(root)) or not classes_of(root):
            continue
        rows = [m for r in read_splits(root, s).values() for _, m in r]
        for subset, mark in MARKS.items():
            out[f"{subset}{s}"] = sum(1 for m in rows if m == mark)
    return out


def _check(root) -> list[str]:
    """Registry check: the videos, or the extracted frames when only ``ROOT/frames`` is there."""
    return check_layout(root, frames=FOLDERS.only_frames(root))


register_dataset("hmdb51", TITLE, GET, LAYOUT, check=_check, counts=_counts)
