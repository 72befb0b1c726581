"""NVGesture (NVIDIA dynamic hand gestures, 25 classes) for online gesture recognition with CTC (PreRNN).

Expected layout (``nvGesture_v1.7z`` unpacked into ROOT, with the two list files next to
``Video_data``)::

    ROOT/nvgesture_train_correct_cvpr2016_v2.lst
    ROOT/nvgesture_test_correct_cvpr2016_v2.lst
    ROOT/Video_data/class_XX/subjectYY_rZ/sk_color.avi    (and sk_depth.avi, duo_left.avi)

A list line reads ``path:./Video_data/class_01/subject13_r0 depth:sk_depth:138:218
color:sk_color:138:218 duo_left:duo_left:161:250 label:1``: for each sensor
``<sensor>:<file stem>:<start frame>:<end frame>``.  Conventions (as in NVIDIA's
``nvgesture_tools`` reader, ``load_split_nvgesture`` / ``load_data_from_file``):

* the video is ``ROOT/<path>/<file stem>.avi`` (``path`` relative to ROOT, the list files' folder);
* the gesture is frames ``start, ..., end - 1`` (0-based decode order, end exclusive:
  ``range(start, end)``), so the example line above gives 80 colour frames; ``end_inclusive=True``
  takes ``start..end`` instead;
* labels 1..25 become 0..24.

The official split is by subject (1050 train / 482 test lines).  ``sensor`` picks ``color``
(default, the paper's colour stream) or ``depth`` (decoded as 3-channel frames).  Corrupt videos
follow :class:`benchmark.data.video.SkipCorrupt` (warning naming the file, ``skipped``, next sample).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from .layout import MAX_LISTED  # noqa: F401 (the module's former constant, still importable)
from .layout import Report, find_hint, name_first
from .registry import register_dataset
from .video import CorruptVideo, SkipCorrupt, read_video, to_tensor

__all__ = ["LIST_FILES", "NUM_CLASSES", "SENSORS", "list_file", "parse_list_line", "read_list",
           "check_layout", "NVGesture"]

LIST_FILES = {"train": "nvgesture_train_correct_cvpr2016_v2.lst", "test": "nvgesture_test_correct_cvpr2016_v2.lst"}
NUM_CLASSES = 25
SENSORS = ("color", "depth", "duo_left")
GET = ("NVIDIA Research, project page of Molchanov et al. CVPR 2016 'Online Detection and Classification of Dynamic "
       "Hand Gestures with Recurrent 3D CNNs' (https://research.nvidia.com, licence form -> nvGesture_v1.7z): "
       "unpack into ROOT so that ROOT/Video_data and ROOT/nvgesture_{train,test}_correct_cvpr2016_v2.lst exist")
LAYOUT = ("ROOT/nvgesture_train_correct_cvpr2016_v2.lst, ROOT/nvgesture_test_correct_cvpr2016_v2.lst\n"
          "ROOT/Video_data/class_XX/subjectYY_rZ/sk_color.avi   (list line: path:<dir> color:sk_color:<start>:<end> "
          "label:<1-25>; frames start..end-1, labels -> 0-24)")


def list_file(root, split: str) -> str:
    if split not in LIST_FILES:
        raise ValueError(f"NVGesture split must be one of {sorted(LIST_FILES)}, got {split!r}")
    return os.path.join(str(root), LIST_FILES[split])


def _report(root) -> Report:
    r = str(root)
    return Report("NVGesture", r, f"{os.path.join(r, 'nvgesture_{train,test}_correct_cvpr2016_v2.lst')} and "
                                  f"{os.path.join(r, 'Video_data', 'class_XX', 'subjectYY_rZ', 'sk_color.avi')}", GET)


def parse_list_line(line: str) -> dict:
    """One list line -> ``{"path": str, "label": 0-based int, "<sensor>": (stem, start, end), ...}``.

    ValueError (saying what is wrong) for a malformed line.
    """
    out: dict = {}
    for tok in line.split():
        key, _, rest = tok.partition(":")
        if key == "path":
            out["path"] = rest
        elif key == "label":
            lab = int(rest)
            if not 1 <= lab <= NUM_CLASSES:
                raise ValueError(f"label {lab} outside 1..{NUM_CLASSES}")
            out["label"] = lab - 1
        else:
            parts = rest.split(":")
            if len(parts) != 3:
                raise ValueError(f"sensor field {tok!r} is not <sensor>:<file stem>:<start>:<end>")
            start, end = int(parts[1]), int(parts[2])
            if start < 0 or end < start:
                raise ValueError(f"bad frame range {start}:{end} in {tok!r}")
            out[key] = (parts[0], start, end)
    for need in ("path", "label", "color"):
        if need not in out:
            raise ValueError(f"no '{need}:' field")
    return out


def read_list(root, split: str) -> list[dict]:
    """Entries of a split's list file (blank lines ignored); ValueError names file and line."""
    path = list_file(root, split)
    entries = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entries.append(parse_list_line(line))
            except ValueError as e:
                raise ValueError(f"{path}:{n}: {e} (line {line.strip()!r})") from None
    return entries


def video_path(root, entry: dict, sensor: str = "color") -> str:
    stem = entry[sensor][0]
    return os.path.normpath(os.path.join(str(root), entry["path"], stem + ".avi"))


def check_layout(root) -> list[str]:
    """Problems with an NVGesture copy under ``root`` (empty: fine); each names a file and the fix."""
    return _report(root).run(str(root), _check_lists)


def _missing_list(root: str, split: str) -> str:
    return f"missing {list_file(root, split)}{find_hint(root, LIST_FILES[split])}"


def _check_lists(root: str, report: Report) -> None:
    for split in ("train", "test"):
        lf = list_file(root, split)
        if not os.path.isfile(lf):
            report.add(_missing_list(root, split))
            continue
        try:
            entries = read_list(root, split)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            report.add(str(e))
            continue
        if not entries:
            report.add(f"{lf} lists no video")
        missing = [p for p in (video_path(root, e) for e in entries) if not os.path.isfile(p)]
        report.add_all(name_first(missing, lambda p: f"missing {p} (listed in {lf})",
                                  lambda n: f"... and {n} more missing videos listed in {lf}"))


def _counts(root) -> dict[str, int]:
    return {s: len(read_list(root, s)) for s in ("train", "test") if os.path.isfile(list_file(root, s))}


class NVGesture(SkipCorrupt, Dataset):
    """``{"frames": float32 (T,3,H,W) in [0,1], "label": int 0..24, "video": path, "start": int,
    "end": int, "index": i}`` -- the gesture frames of one list line.

    ``max_frames`` keeps the first ``max_frames`` gesture frames (NVIDIA's reader keeps 80);
    ``size=(H, W)`` resizes bilinearly.
    """

    def __init__(self, root, split: str = "train", sensor: str = "color", max_frames: int | None = None,
                 size: tuple[int, int] | None = None, end_inclusive: bool = False):
        SkipCorrupt.__init__(self)
        root = str(root)
        lf = list_file(root, split)
        if not os.path.isfile(lf):
            raise _report(root).not_found(_missing_list(root, split))
        if sensor not in SENSORS:
            raise ValueError(f"sensor must be one of {SENSORS}, got {sensor!r}")
        self.root, self.split, self.sensor, self.size = root, split, sensor, size
        self.max_frames, self.end_inclusive = max_frames, bool(end_inclusive)
        self.entries = read_list(root, split)
        missing = [video_path(root, e, sensor) for e in self.entries if sensor in e
                   and not os.path.isfile(video_path(root, e, sensor))]
        if missing:
            raise _report(root).not_found(f"missing {missing[0]} (and {len(missing) - 1} more) listed in {lf}")
        self.entries = [e for e in self.entries if sensor in e]

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def labels(self) -> list[int]:
        return [e["label"] for e in self.entries]

    def _path(self, index: int) -> str:
        return video_path(self.root, self.entries[index], self.sensor)

    def _load(self, index: int) -> dict:
        e = self.entries[index]
        _, start, end = e[self.sensor]
        n = end - start + (1 if self.end_inclusive else 0)
        if self.max_frames is not None:
            n = min(n, int(self.max_frames))
        path = self._path(index)
        if n <= 0:
            raise CorruptVideo(path, f"empty gesture range {start}:{end}")
        try:
            frames = read_video(path, max_frames=n, start=start)
        except FileNotFoundError as err:
            raise CorruptVideo(path, str(err)) from err
        if len(frames) < n:
            warnings.warn(f"NVGesture: {path} ends after {start + len(frames)} frames, list says {start}:{end}",
                          RuntimeWarning, stacklevel=2)
        if self.size is not None:
            h, w = int(self.size[0]), int(self.size[1])
            frames = np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BILINEAR)) for f in frames])
        return {"frames": to_tensor(frames, as_float=True), "label": e["label"], "video": path,
                "start": start, "end": end, "index": index}

    def __repr__(self) -> str:
        return f"NVGesture(root={self.root!r}, split={self.split!r}, sensor={self.sensor!r}, n={len(self)})"


register_dataset("nvgesture", "NVGesture (25 dynamic hand gestures)", GET, LAYOUT, check=check_layout, counts=_counts)
