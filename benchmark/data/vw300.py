"""300VW (300 Videos in the Wild) face-landmark videos for sequential face alignment (deeprnn Table 2).

Expected layout (``300VW_Dataset_2015_12_14.zip`` unpacked into ROOT)::

    ROOT/<video id>/vid.avi                   e.g. ROOT/001/vid.avi
    ROOT/<video id>/annot/<frame:06d>.pts     e.g. ROOT/001/annot/000001.pts (68 points)

Conventions (documented choices):

* ``annot/000001.pts`` belongs to the *first* decoded frame of ``vid.avi`` (the release numbers frames
  from 1); a sample carries these 1-based ``frame_numbers``.
* ``.pts`` files are parsed exactly (``version: 1`` / ``n_points: 68`` / ``{`` / 68 lines ``x y`` /
  ``}``); the coordinates are returned as written in the file (300-W convention, no -1 shift).
* Inter-ocular distance: distance between the outer eye corners, points **37 and 46 in the 1-based
  68-point iBUG markup** (0-based indices 36 and 45), as in the 300VW evaluation.
* Splits: the standard 300VW protocol -- ``train`` (50 videos) and the three test categories
  ``test1`` (31 videos, well lit), ``test2`` (19, unconstrained lighting), ``test3`` (14, completely
  unconstrained); ``test`` is the union of the three, ``all`` every video found.  The deeprnn paper
  instead splits 80%/20% "as in [19]" without listing the ids: :func:`ratio_split` gives a
  reproducible 80/20 split by video id, and ``ids=`` selects any list.
* A sample is a clip of ``clip_len`` consecutive annotated frames (``clip_len=None``: the whole
  video).  Clips never cross a gap in the annotation numbering.  ``frame_stride`` subsamples frames.
  When ``size=(H, W)`` resizes the frames, the landmarks are scaled by ``W/width`` and ``H/height``.
* A corrupt ``vid.avi`` (or ``.pts``) is skipped: a warning names the file, the path is added to
  ``self.skipped`` and the next valid sample (wrapping around) is returned (the rule of
  :class:`benchmark.data.video.SkipCorrupt`).  Decoding runs from the start of the video up to the
  clip's last frame (simple; slow for late clips of long videos -- extract clips once if needed).
"""
from __future__ import annotations

import os
import random
import re
import warnings
from typing import Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .layout import Report, find_hint
from .registry import register_dataset
from .video import CorruptVideo, SkipCorrupt, read_video, to_tensor

__all__ = [
    "TRAIN_IDS", "TEST1_IDS", "TEST2_IDS", "TEST3_IDS", "SPLITS", "NUM_POINTS",
    "OUTER_EYE_CORNERS_1BASED", "read_pts", "interocular_distance", "normalised_mean_error",
    "video_ids", "ratio_split", "check_layout", "VW300",
]

NUM_POINTS = 68
OUTER_EYE_CORNERS_1BASED = (37, 46)   # iBUG 68-point markup; 0-based (36, 45)

# Standard 300VW split (Shen et al. 2015; the 300VW challenge protocol).
TRAIN_IDS = tuple(f"{i:03d}" for i in (
    1, 2, 3, 4, 7, 9, 10, 11, 13, 15, 16, 17, 18, 19, 20, 22, 25, 27, 28, 29, 31, 33, 34, 35, 37, 39,
    41, 43, 44, 46, 47, 48, 49, 53, 57, 59, 112, 113, 115, 119, 120, 123, 138, 143, 144, 160, 204,
    205, 223, 225))
TEST1_IDS = tuple(str(i) for i in (
    114, 124, 125, 126, 150, 158, 401, 402, 505, 506, 507, 508, 509, 510, 511, 514, 515, 518, 519,
    520, 521, 522, 524, 525, 537, 538, 540, 541, 546, 547, 548))
TEST2_IDS = tuple(str(i) for i in (
    203, 208, 211, 212, 213, 214, 218, 224, 403, 404, 405, 406, 407, 408, 409, 412, 550, 551, 553))
TEST3_IDS = tuple(str(i) for i in (
    410, 411, 516, 517, 526, 528, 529, 530, 531, 533, 557, 558, 559, 562))
SPLITS = {
    "train": TRAIN_IDS, "test1": TEST1_IDS, "test2": TEST2_IDS, "test3": TEST3_IDS,
    "test": TEST1_IDS + TEST2_IDS + TEST3_IDS,
}

GET = ("https://ibug.doc.ic.ac.uk/resources/300-VW/ (request access): unzip 300VW_Dataset_2015_12_14.zip "
       "so that ROOT/001/vid.avi and ROOT/001/annot/000001.pts exist")
LAYOUT = ("ROOT/<video id>/vid.avi\n"
          "ROOT/<video id>/annot/<frame:06d>.pts   (68 points; 000001.pts = first frame)\n"
          "splits: train (50 ids), test1 (31), test2 (19), test3 (14) by the standard 300VW id lists")
_PTS_NAME = re.compile(r"^(\d+)\.pts$")


def _report(root) -> Report:
    r = str(root)
    return Report("300VW", r, f"{os.path.join(r, '<video id>', 'vid.avi')} and "
                              f"{os.path.join(r, '<video id>', 'annot', '<frame:06d>.pts')}", GET)


# --------------------------------------------------------------------------- landmarks
def read_pts(path) -> np.ndarray:
    """float64 (N, 2) points of a ``.pts`` file; ValueError naming the file on any format error."""
    with open(path, "r", encoding="ascii", errors="strict") as f:
        text = f.read()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    try:
        if not lines or not re.fullmatch(r"version:\s*\d+(\.\d+)?", lines[0]):
            raise ValueError("first line must be 'version: 1'")
        m = re.fullmatch(r"n_points:\s*(\d+)", lines[1]) if len(lines) > 1 else None
        if m is None:
            raise ValueError("second line must be 'n_points: N'")
        n = int(m.group(1))
        if len(lines) != n + 4 or lines[2] != "{" or lines[-1] != "}":
            raise ValueError(f"expected '{{', {n} lines 'x y', '}}'; got {len(lines) - 2} lines after the header")
        pts = np.array([[float(v) for v in ln.split()] for ln in lines[3:3 + n]], dtype=np.float64)
        if pts.shape != (n, 2):
            raise ValueError(f"each point line must hold two numbers, got shape {pts.shape}")
    except (ValueError, IndexError) as e:
        raise ValueError(f"malformed .pts file {path}: {e}") from None
    return pts


def interocular_distance(landmarks) -> np.ndarray:
    """Distance between the outer eye corners (points 37 and 46, 1-based) of (..., 68, 2) landmarks."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape[-2:] != (NUM_POINTS, 2):
        raise ValueError(f"landmarks must have shape (..., 68, 2), got {lm.shape}")
    a, b = OUTER_EYE_CORNERS_1BASED
    return np.linalg.norm(lm[..., a - 1, :] - lm[..., b - 1, :], axis=-1)


def normalised_mean_error(pred, gt) -> np.ndarray:
    """Mean point-to-point error divided by the ground truth's inter-ocular distance (per frame)."""
    p, g = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    return np.linalg.norm(p - g, axis=-1).mean(axis=-1) / interocular_distance(g)


# --------------------------------------------------------------------------- layout
def video_ids(root) -> list[str]:
    """Ids of the video folders under ``root`` (folders holding ``vid.avi`` or ``annot/``), sorted."""
    root = str(root)
    if not os.path.isdir(root):
        return []
    out = []
    for d in os.listdir(root):
        p = os.path.join(root, d)
        if os.path.isdir(p) and (os.path.isfile(os.path.join(p, "vid.avi")) or os.path.isdir(os.path.join(p, "annot"))):
            out.append(d)
    return sorted(out, key=lambda s: (int(s) if s.isdigit() else float("inf"), s))


def ratio_split(ids: Sequence[str], train_fraction: float = 0.8, seed: int = 0) -> tuple[list[str], list[str]]:
    """Reproducible video-level split (deeprnn: 80% train / 20% test, ids not published)."""
    ids = sorted(ids)
    order = list(ids)
    random.Random(seed).shuffle(order)
    n_train = int(round(train_fraction * len(order)))
    return sorted(order[:n_train]), sorted(order[n_train:])


def _annot_numbers(root, vid: str) -> list[int]:
    d = os.path.join(str(root), vid, "annot")
    if not os.path.isdir(d):
        return []
    nums = []
    for name in os.listdir(d):
        m = _PTS_NAME.match(name)
        if m:
            nums.append(int(m.group(1)))
    return sorted(nums)


def _pts_path(root, vid: str, frame: int) -> str:
    return os.path.join(str(root), vid, "annot", f"{frame:06d}.pts")


def _runs(nums: Sequence[int]) -> list[list[int]]:
    """Maximal runs of consecutive integers."""
    runs: list[list[int]] = []
    for n in nums:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def check_layout(root) -> list[str]:
    """Problems with a 300VW copy under ``root`` (empty: fine); each names a file and the fix."""
    return _report(root).run(str(root), _check_videos)


def _check_videos(root: str, report: Report) -> None:
    ids = video_ids(root)
    if not ids:
        report.add(f"no video found: expected {os.path.join(root, '001', 'vid.avi')} "
                   f"(pattern {os.path.join(root, '<video id>', 'vid.avi')})")
        return
    for vid in ids:
        avi = os.path.join(root, vid, "vid.avi")
        if not os.path.isfile(avi):
            report.add(f"missing {avi}")
        nums = _annot_numbers(root, vid)
        if not nums:
            report.add(f"no annotations: expected {_pts_path(root, vid, 1)} "
                       f"(pattern {os.path.join(root, vid, 'annot', '<frame:06d>.pts')})")
            continue
        if nums[0] != 1 or len(_runs(nums)) > 1:
            missing = sorted(set(range(1, nums[-1] + 1)) - set(nums))[:5]
            report.add(f"missing {_pts_path(root, vid, missing[0])} (gaps in the annotation numbering: "
                       f"{[f'{m:06d}.pts' for m in missing]})")
        try:
            pts = read_pts(_pts_path(root, vid, nums[0]))
            if pts.shape != (NUM_POINTS, 2):
                report.add(f"{_pts_path(root, vid, nums[0])} holds {len(pts)} points, expected 68")
        except (OSError, ValueError, UnicodeDecodeError) as e:
            report.add(str(e))


def _counts(root) -> dict[str, int]:
    ids = set(video_ids(root))
    out = {s: len(ids & set(SPLITS[s])) for s in ("train", "test1", "test2", "test3")}
    other = ids - set(SPLITS["train"]) - set(SPLITS["test"])
    if other:
        out["unlisted"] = len(other)
    return {k: v for k, v in out.items() if v}


# --------------------------------------------------------------------------- dataset
def _resize(frames: np.ndarray, size) -> np.ndarray:
    """Bilinear resize of uint8 (T,H,W,3) frames to ``size=(H', W')`` (None: unchanged)."""
    if size is None:
        return frames
    h, w = int(size[0]), int(size[1])
    return np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BILINEAR)) for f in frames])


class VW300(SkipCorrupt, Dataset):
    """300VW clips: ``{"frames": float32 (T,3,H,W) in [0,1], "landmarks": float32 (T,68,2),
    "interocular": float32 (T,), "frame_numbers": int64 (T,) 1-based, "video": id, "index": i}``.

    ``split``: ``train``/``test1``/``test2``/``test3``/``test``/``all`` (ignored when ``ids`` is given).
    Corrupt files follow :class:`benchmark.data.video.SkipCorrupt` (the skipped path is the video's
    ``vid.avi``; a corrupt ``.pts`` skips its whole video and the warning names the ``.pts`` file).
    """

    def __init__(self, root, split: str = "train", clip_len: int | None = None, clip_stride: int | None = None,
                 frame_stride: int = 1, size: tuple[int, int] | None = None, ids: Iterable[str] | None = None):
        SkipCorrupt.__init__(self)
        root = str(root)
        if not os.path.isdir(root):
            raise _report(root).not_found(f"folder {root} not found")
        found = video_ids(root)
        if ids is not None:
            wanted = [str(i) for i in ids]
        elif split == "all":
            wanted = found
        elif split in SPLITS:
            wanted = list(SPLITS[split])
        else:
            raise ValueError(f"unknown 300VW split {split!r}; use one of {sorted(SPLITS) + ['all']} or ids=")
        present = [v for v in wanted if v in set(found)]
        if not present:
            raise _report(root).not_found(f"none of the {len(wanted)} videos of split {split!r} found, e.g. "
                                          f"{os.path.join(root, wanted[0] if wanted else '001', 'vid.avi')}"
                                          + find_hint(root, "vid.avi"))
        if clip_len is not None and clip_len < 1:
            raise ValueError("clip_len must be >= 1 or None")
        if frame_stride < 1:
            raise ValueError("frame_stride must be >= 1")
        self.root, self.split, self.size = root, split, size
        self.clip_len, self.frame_stride = clip_len, int(frame_stride)
        self.clip_stride = int(clip_stride or clip_len or 1)
        self.clips: list[tuple[str, list[int]]] = []     # (video id, 1-based frame numbers)
        for vid in present:
            for run in _runs(_annot_numbers(root, vid)):
                frames = run[:: self.frame_stride]
                if clip_len is None:
                    self.clips.append((vid, frames))
                    continue
                for s in range(0, len(frames) - clip_len + 1, self.clip_stride):
                    self.clips.append((vid, frames[s:s + clip_len]))
        self.videos = present

    def __len__(self) -> int:
        return len(self.clips)

    def _path(self, index: int) -> str:
        return os.path.join(self.root, self.clips[index][0], "vid.avi")

    def _load(self, index: int) -> dict:
        vid, nums = self.clips[index]
        avi = self._path(index)
        landmarks = []
        for n in nums:
            p = _pts_path(self.root, vid, n)
            try:
                landmarks.append(read_pts(p))
            except (OSError, ValueError, UnicodeDecodeError) as e:
                raise CorruptVideo(avi, f"unreadable annotation {p}: {e}") from e
        try:
            frames = read_video(avi, max_frames=len(nums), stride=self.frame_stride, start=nums[0] - 1)
        except FileNotFoundError as e:
            raise CorruptVideo(avi, str(e)) from e
        if len(frames) < len(nums):
            warnings.warn(f"300VW: {avi} decodes to fewer frames than annotated; clip cut to {len(frames)} frames",
                          RuntimeWarning, stacklevel=2)
        n_ok = len(frames)
        lm = np.stack(landmarks[:n_ok]).astype(np.float32)
        if self.size is not None:
            h, w = frames.shape[1:3]
            lm = lm * np.array([self.size[1] / w, self.size[0] / h], dtype=np.float32)
        return {
            "frames": to_tensor(_resize(frames, self.size), as_float=True),
            "landmarks": torch.from_numpy(lm),
            "interocular": torch.from_numpy(interocular_distance(lm).astype(np.float32)),
            "frame_numbers": torch.tensor(nums[:n_ok], dtype=torch.long),
            "video": vid,
            "index": index,
        }

    def __repr__(self) -> str:
        return f"VW300(root={self.root!r}, split={self.split!r}, videos={len(self.videos)}, clips={len(self)})"


register_dataset("vw300", "300VW (300 Videos in the Wild, 68 face landmarks)", GET, LAYOUT, check=check_layout,
                 counts=_counts)
