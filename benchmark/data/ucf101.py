"""UCF-101 action recognition / anticipation (deeprnn section 4.1, PreRNN section 4).

Expected layout (the official ``UCF101.rar`` and ``UCF101TrainTestSplits-RecognitionTask.zip``
unpacked into ROOT)::

    ROOT/UCF-101/<Class>/v_<Class>_gXX_cXX.avi
    ROOT/ucfTrainTestlist/classInd.txt                 "1 ApplyEyeMakeup"  (1-based)
    ROOT/ucfTrainTestlist/trainlist0{1,2,3}.txt        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    ROOT/ucfTrainTestlist/testlist0{1,2,3}.txt         "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

or, with ``frames=True``, extracted frames instead of the ``.avi`` files::

    ROOT/frames/<Class>/<video stem>/*.jpg              (or *.png; natural file-name order)

The path of every sample is the list entry joined to ``ROOT/UCF-101`` (so the official lists'
``HandstandPushups/v_HandStandPushups_...`` spelling works as shipped).  Labels are 0-based:
``classInd`` index - 1.  A train-list label that disagrees with ``classInd`` for the entry's class
folder is reported by :func:`check_layout` and raises in :class:`UCF101`.  Official sizes: split 1
9537 / 3783, split 2 9586 / 3734, split 3 9624 / 3696 (train / test), 101 classes.
"""
from __future__ import annotations

import os

from .layout import MAX_LISTED, Need, first_missing, raise_not_found
from .registry import register_dataset
from .video import SampleFolders, VideoClassification, keep_existing, missing_sample_lines

__all__ = ["UCF101", "check_layout", "read_class_index", "read_split", "video_path", "frames_path"]

VIDEO_DIR = "UCF-101"
LIST_DIR = "ucfTrainTestlist"
FRAMES_DIR = "frames"
FOLDERS = SampleFolders(VIDEO_DIR, "<Class>/v_<Class>_gXX_cXX.avi", "<Class>/<video stem>/*.jpg", FRAMES_DIR)
SUBSETS = ("train", "test")
TITLE = "UCF-101"
GET = "https://www.crcv.ucf.edu/data/UCF101.php: UCF101.rar + UCF101TrainTestSplits-RecognitionTask.zip"
LAYOUT = ("ROOT/UCF-101/<Class>/v_<Class>_gXX_cXX.avi\n"
          "ROOT/ucfTrainTestlist/{classInd.txt, trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt}\n"
          "(or extracted frames: ROOT/frames/<Class>/<video stem>/*.jpg)")


def _how_to_get(root) -> str:
    return (f"Get UCF101.rar and UCF101TrainTestSplits-RecognitionTask.zip from "
            f"https://www.crcv.ucf.edu/data/UCF101.php and unpack both into {root} (so that "
            f"{os.path.join(str(root), VIDEO_DIR)} and {os.path.join(str(root), LIST_DIR)} exist).")


def list_file(root, split: int, subset: str) -> str:
    return os.path.join(str(root), LIST_DIR, f"{subset}list0{int(split)}.txt")


def video_path(root, entry: str) -> str:
    """``ROOT/UCF-101/<Class>/v_<Class>_gXX_cXX.avi`` for a list entry ``<Class>/v_..._cXX.avi``."""
    return os.path.join(str(root), VIDEO_DIR, *entry.split("/"))


def frames_path(root, entry: str) -> str:
    """``ROOT/frames/<Class>/<video stem>`` for a list entry."""
    cls, name = entry.split("/")[-2:]
    return os.path.join(str(root), FRAMES_DIR, cls, os.path.splitext(name)[0])


def read_class_index(root) -> list[str]:
    """Class names in ``classInd.txt`` order (position = 0-based label)."""
    path = os.path.join(str(root), LIST_DIR, "classInd.txt")
    classes: dict[int, str] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[0].isdigit():
                raise ValueError(f"{path}:{n}: expected '<index> <ClassName>', got {line.strip()!r}")
            classes[int(parts[0])] = parts[1]
    if sorted(classes) != list(range(1, len(classes) + 1)):
        raise ValueError(f"{path}: class indices are not 1..{len(classes)}")
    return [classes[i] for i in range(1, len(classes) + 1)]


def read_split(root, split: int = 1, subset: str = "train") -> list[tuple[str, int | None]]:
    """Entries of ``trainlist0S.txt`` (``(entry, 1-based label)``) or ``testlist0S.txt`` (label None)."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    if int(split) not in (1, 2, 3):
        raise ValueError(f"split must be 1, 2 or 3, got {split!r}")
    path = list_file(root, split, subset)
    out: list[tuple[str, int | None]] = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.replace("\\", "/").split()
            if not parts:
                continue
            if subset == "train":
                if len(parts) != 2 or not parts[1].isdigit():
                    raise ValueError(f"{path}:{n}: expected '<Class>/<video>.avi <label>', got {line.strip()!r}")
                out.append((parts[0], int(parts[1])))
            else:
                out.append((parts[0], None))
    return out


def _labelled(root, split: int, subset: str) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """(classes, [(entry, 0-based label)], problems) for one split file."""
    classes = read_class_index(root)
    index = {c.lower(): i for i, c in enumerate(classes)}
    items, problems = [], []
    path = list_file(root, split, subset)
    for entry, label in read_split(root, split, subset):
        cls = entry.split("/")[0]
        if cls.lower() not in index:
            problems.append(f"{path}: entry {entry!r}: class folder {cls!r} is not in classInd.txt")
            continue
        lab = index[cls.lower()]
        if label is not None and label - 1 != lab:
            problems.append(f"{path}: entry {entry!r} has label {label} but classInd.txt says {lab + 1} for {cls}")
            continue
        items.append((entry, lab))
    return classes, items, problems


def _sample_path(root, entry: str, frames: bool) -> str:
    return frames_path(root, entry) if frames else video_path(root, entry)


def _first_problem(root, splits, frames: bool) -> str | None:
    root, how = str(root), _how_to_get(root)

    def needs():  # run once ROOT is known to exist
        lists = [os.path.join(root, LIST_DIR, "classInd.txt")] + [list_file(root, s, sub) for s in splits for sub in SUBSETS]
        for p in lists:
            yield Need(p, expected=f" (expected ROOT/{LIST_DIR}/classInd.txt, trainlist0N.txt, testlist0N.txt)")
        yield FOLDERS.need(root, frames, how)

    return first_missing(TITLE, root, how, needs())


def check_layout(root, splits=(1, 2, 3), frames: bool = False) -> list[str]:
    """Problems with a UCF-101 copy under ``root`` (empty list: fine).

    Checks, in this order: ``classInd.txt``, the train/test lists of ``splits``, the
    ``UCF-101`` (or ``frames``) folder, then every listed video (the first 20 missing ones are
    named, then a count) and list/classInd label agreement.
    """
    if isinstance(splits, int):
        splits = (splits,)
    problem = _first_problem(root, splits, frames)
    if problem is not None:
        return [problem]
    problems: list[str] = []
    listed: list[str] = []
    for s in splits:
        for sub in SUBSETS:
            try:
                _, items, bad = _labelled(root, s, sub)
            except ValueError as e:
                problems.append(f"{e}. Re-extract UCF101TrainTestSplits-RecognitionTask.zip")
                continue
            problems.extend(bad[:MAX_LISTED])
            listed += [_sample_path(root, entry, frames) for entry, _ in items]
    return problems + missing_sample_lines(listed, frames, LIST_DIR, _how_to_get(root))


class UCF101(VideoClassification):
    """UCF-101 split ``split`` (1-3), ``subset`` ``"train"`` or ``"test"``.

    ``dataset[i]`` -> ``{"frames": (T, 3, H, W), "label": int (0-based), "video": path, "index": i}``;
    the keyword arguments of :class:`video.VideoClassification` (``transform``, ``sampling``
    ``"whole"``/``"first"``, ``max_frames``, ``stride``, ``as_float``, ...) pass through.
    ``frames=True`` reads ``ROOT/frames/<Class>/<stem>/`` folders instead of the ``.avi`` files.
    Listed samples whose file is missing are left out with one warning (``self.missing``); corrupt
    files are skipped at access (``self.skipped``, see :mod:`benchmark.data.video`).
    """

    def __init__(self, root, split: int = 1, subset: str = "train", frames: bool = False, **kwargs):
        root = str(root)
        raise_not_found(TITLE, root, _first_problem(root, (split,), frames))
        classes, items, bad = _labelled(root, split, subset)
        if bad:
            raise ValueError("UCF-101 split files disagree with classInd.txt:\n  " + "\n  ".join(bad[:5]))
        listed = [(_sample_path(root, entry, frames), label) for entry, label in items]
        samples, self.missing = keep_existing(TITLE, listed, frames, list_file(root, split, subset),
                                              _how_to_get(root))
        super().__init__(samples, classes, frames=frames, **kwargs)
        self.root, self.split, self.subset = root, int(split), subset


def _counts(root) -> dict[str, int]:
    """Entries per split file: ``train1``, ``test1``, ... (from the lists; no video is opened)."""
    out = {}
    for s in (1, 2, 3):
        for sub in SUBSETS:
            if os.path.isfile(list_file(root, s, sub)):
                out[f"{sub}{s}"] = len(read_split(root, s, sub))
    return out


def _check(root) -> list[str]:
    """Registry check: the videos, or the extracted frames when only ``ROOT/frames`` is there."""
    return check_layout(root, frames=FOLDERS.only_frames(root))


register_dataset("ucf101", TITLE, GET, LAYOUT, check=_check, counts=_counts)
