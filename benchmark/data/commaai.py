"""comma.ai research driving data set: steering-angle regression from short frame sequences (scs Table 5).

Expected layout (the release's ``dataset`` folder, e.g. ``comma-dataset.zip`` unpacked, as ROOT)::

    ROOT/camera/<name>.h5     dataset X: uint8 (N, 3, 160, 320), 20 Hz front camera
    ROOT/log/<name>.h5        datasets steering_angle, speed, cam1_ptr (one row per log sample, 100 Hz)

``<name>`` is the drive, e.g. ``2016-01-30--11-24-51``.  Conventions (documented choices):

* alignment: log row ``r`` belongs to camera frame ``floor(cam1_ptr[r])``; a frame's steering angle
  and speed are the **means over its log rows** (:func:`align_to_frames`); a frame without a log row
  (or only non-finite values) has no label (NaN) and never ends a sample; rows pointing outside
  ``0..N-1`` are ignored;
* a sample is ``observed`` frames ``e - (observed-1)*frame_stride, ..., e`` (oldest first) of one drive,
  its target the steering angle (degrees, as logged) and speed of the **last** frame ``e``; ends
  ``e`` step by ``step``;
* splits: comma.ai's own ``research/server.py`` split -- drives ``2016-06-02--21-39-29`` and
  ``2016-06-08--11-46-01`` are ``val``, every other drive ``train`` (``val_names=`` changes it,
  ``names=`` picks drives explicitly);
* frames: float32 (T, 3, H, W) in [0, 1]; ``crop=(top, left, height, width)`` (e.g. to remove the
  sky, as scs does before resizing to 192x64) then ``size=(H, W)`` bilinear.
* a camera/log file that cannot be opened is skipped at construction (warning naming it, added to
  ``skipped``); a read error later follows :class:`benchmark.data.video.SkipCorrupt`.
"""
from __future__ import annotations

import os
import warnings
from typing import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .layout import Report, find_hint
from .registry import register_dataset
from .video import CorruptVideo, SkipCorrupt

__all__ = ["VALIDATION_NAMES", "align_to_frames", "drive_names", "check_layout", "CommaAI"]

VALIDATION_NAMES = ("2016-06-02--21-39-29", "2016-06-08--11-46-01")
LOG_KEYS = ("steering_angle", "speed", "cam1_ptr")
DEFAULT_OBSERVED = 7
GET = ("https://github.com/commaai/research (README: comma-dataset.zip, ~80 GB): unzip and use its 'dataset' "
       "folder as ROOT so that ROOT/camera/<name>.h5 and ROOT/log/<name>.h5 exist")
LAYOUT = ("ROOT/camera/<name>.h5   (X: uint8 (N, 3, 160, 320))\n"
          "ROOT/log/<name>.h5      (steering_angle, speed, cam1_ptr: camera frame of each log row)\n"
          "splits: val = 2016-06-02--21-39-29, 2016-06-08--11-46-01 (comma.ai server.py); train = the rest")


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError("reading the comma.ai data set needs h5py: pip install h5py") from e
    return h5py


def _report(root) -> Report:
    r = str(root)
    return Report("comma.ai", r, f"{os.path.join(r, 'camera', '<name>.h5')} (X) and {os.path.join(r, 'log', '<name>.h5')} "
                                 f"({', '.join(LOG_KEYS)})", GET)


def align_to_frames(cam1_ptr, values, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per camera frame: mean of ``values`` over the log rows with ``floor(cam1_ptr) == frame``.

    Returns ``(means float64 (n_frames,), counts int64 (n_frames,))``; frames without a row are NaN.
    """
    ptr = np.asarray(cam1_ptr, dtype=np.float64).reshape(-1)
    val = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(ptr) != len(val):
        raise ValueError(f"cam1_ptr has {len(ptr)} rows, values {len(val)}")
    ok = np.isfinite(ptr) & np.isfinite(val)
    idx = np.floor(ptr[ok]).astype(np.int64)
    inside = (idx >= 0) & (idx < n_frames)
    idx, v = idx[inside], val[ok][inside]
    sums = np.bincount(idx, weights=v, minlength=n_frames)[:n_frames]
    counts = np.bincount(idx, minlength=n_frames)[:n_frames].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def drive_names(root) -> list[str]:
    """Drives with a camera file, sorted."""
    d = os.path.join(str(root), "camera")
    if not os.path.isdir(d):
        return []
    return sorted(f[:-3] for f in os.listdir(d) if f.endswith(".h5"))


def _camera(root, name: str) -> str:
    return os.path.join(str(root), "camera", name + ".h5")


def _log(root, name: str) -> str:
    return os.path.join(str(root), "log", name + ".h5")


def _read_drive(root, name: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(N camera frames, steering per frame, speed per frame); OSError/KeyError/ValueError when unreadable."""
    h5py = _h5py()
    with h5py.File(_camera(root, name), "r") as f:
        x = f["X"]
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{_camera(root, name)}: X has shape {x.shape}, expected (N, 3, H, W)")
        n = int(x.shape[0])
    with h5py.File(_log(root, name), "r") as f:
        for k in LOG_KEYS:
            if k not in f:
                raise KeyError(f"{_log(root, name)} has no dataset {k!r} (keys: {sorted(f.keys())})")
        ptr, steer, speed = (np.asarray(f[k][...]).reshape(-1) for k in ("cam1_ptr", "steering_angle", "speed"))
    if not len(ptr) == len(steer) == len(speed):
        raise ValueError(f"{_log(root, name)}: cam1_ptr/steering_angle/speed lengths differ "
                         f"({len(ptr)}, {len(steer)}, {len(speed)})")
    return n, align_to_frames(ptr, steer, n)[0], align_to_frames(ptr, speed, n)[0]


def check_layout(root) -> list[str]:
    """Problems with a comma.ai copy under ``root`` (empty: fine); each names a file and the fix."""
    return _report(root).run(str(root), _check_drives)


def _check_drives(root: str, report: Report) -> None:
    for sub in ("camera", "log"):
        d = os.path.join(root, sub)
        if not os.path.isdir(d):
            report.add(f"missing folder {d}{find_hint(root, sub)}")
            return
    names = drive_names(root)
    if not names:
        report.add(f"no camera file: expected {os.path.join(root, 'camera', '<name>.h5')} "
                   f"(e.g. {_camera(root, '2016-01-30--11-24-51')})")
        return
    for name in names:
        if not os.path.isfile(_log(root, name)):
            report.add(f"missing {_log(root, name)} (log of {_camera(root, name)})")
            continue
        try:
            _read_drive(root, name)
        except (OSError, KeyError, ValueError) as e:
            report.add(f"unreadable drive {name}: {e}")


def _split_names(names: Sequence[str], split: str, val_names: Iterable[str]) -> list[str]:
    val = set(val_names)
    if split == "val":
        return [n for n in names if n in val]
    if split == "train":
        return [n for n in names if n not in val]
    if split == "all":
        return list(names)
    raise ValueError(f"comma.ai split must be 'train', 'val' or 'all', got {split!r}")


class CommaAI(SkipCorrupt, Dataset):
    """``{"frames": float32 (T,3,H,W) in [0,1], "steering": float32, "speed": float32, "video": name,
    "frame": last frame index, "index": i}`` (steering/speed: float32 scalar tensors) -- see the module docstring."""

    def __init__(self, root, split: str = "train", observed: int = DEFAULT_OBSERVED, step: int = 1,
                 frame_stride: int = 1, size: tuple[int, int] | None = None,
                 crop: tuple[int, int, int, int] | None = None, val_names: Iterable[str] = VALIDATION_NAMES,
                 names: Iterable[str] | None = None):
        SkipCorrupt.__init__(self)
        root = str(root)
        if not drive_names(root):
            raise FileNotFoundError(check_layout(root)[0])
        if observed < 1 or step < 1 or frame_stride < 1:
            raise ValueError("observed, step and frame_stride must be >= 1")
        self.root, self.split = root, split
        self.observed, self.step, self.frame_stride = int(observed), int(step), int(frame_stride)
        self.size, self.crop = size, crop
        chosen = list(names) if names is not None else _split_names(drive_names(root), split, val_names)
        self.names: list[str] = []
        self.steering: dict[str, np.ndarray] = {}
        self.speed: dict[str, np.ndarray] = {}
        files, ends = [], []
        span = (self.observed - 1) * self.frame_stride
        for name in chosen:
            if not os.path.isfile(_camera(root, name)) or not os.path.isfile(_log(root, name)):
                missing = _camera(root, name) if not os.path.isfile(_camera(root, name)) else _log(root, name)
                raise _report(root).not_found(f"missing {missing}")
            try:
                n, steer, speed = _read_drive(root, name)
            except (OSError, KeyError, ValueError) as e:
                self._skip(_camera(root, name), e)
                continue
            self.names.append(name)
            self.steering[name], self.speed[name] = steer.astype(np.float32), speed.astype(np.float32)
            e = np.arange(span, n, self.step)
            e = e[np.isfinite(steer[e])] if len(e) else e
            files.append(np.full(len(e), len(self.names) - 1, dtype=np.int32))
            ends.append(e.astype(np.int64))
        self._file = np.concatenate(files) if files else np.zeros(0, np.int32)
        self._end = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        self._handles: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self._end)

    def __getstate__(self):  # open HDF5 handles do not travel to DataLoader workers
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state

    def _path(self, index: int) -> str:
        return _camera(self.root, self.names[int(self._file[index])])

    def close(self) -> None:
        """Close the HDF5 camera files opened by this process."""
        for h in self._handles.values():
            h.close()
        self._handles = {}

    def _x(self, path: str):
        h = self._handles.get(path)
        if h is None:
            h = self._handles[path] = _h5py().File(path, "r")
        return h["X"]

    def _load(self, index: int) -> dict:
        name = self.names[int(self._file[index])]
        e = int(self._end[index])
        path = self._path(index)
        s = e - (self.observed - 1) * self.frame_stride
        try:
            x = np.asarray(self._x(path)[s:e + 1:self.frame_stride])
        except (OSError, KeyError, ValueError) as err:
            raise CorruptVideo(path, f"{type(err).__name__}: {err}") from err
        t = torch.from_numpy(np.ascontiguousarray(x))
        if self.crop is not None:
            top, left, h, w = self.crop
            t = t[:, :, top:top + h, left:left + w]
        t = t.float().div_(255.0)
        if self.size is not None:
            t = torch.nn.functional.interpolate(t, size=tuple(int(v) for v in self.size), mode="bilinear",
                                                align_corners=False)
        return {"frames": t, "steering": torch.tensor(self.steering[name][e], dtype=torch.float32),
                "speed": torch.tensor(self.speed[name][e], dtype=torch.float32),
                "video": name, "frame": e, "index": index}

    def __repr__(self) -> str:
        return (f"CommaAI(root={self.root!r}, split={self.split!r}, drives={len(self.names)}, "
                f"observed={self.observed}, n={len(self)})")


def _counts(root) -> dict[str, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {s: len(CommaAI(root, s)) for s in ("train", "val")}
    return out


register_dataset("commaai", "comma.ai research driving data (steering)", GET, LAYOUT, check=check_layout,
                 counts=_counts)
