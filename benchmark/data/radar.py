"""Radar echo (composite reflectivity) maps for precipitation nowcasting (scs section 5.8, REEC-2018 style).

REEC-2018 itself is not public; any radar archive exported to this layout works::

    ROOT/<event or day>/<YYYYMMDDHHMM>.png     e.g. ROOT/20180605/201806051230.png
    ROOT/train.txt, ROOT/val.txt               optional: event folder names, one per line

Rules (documented choices):

* the time of a map is parsed from its file name (``%Y%m%d%H%M``, minutes resolution); maps are
  ordered by that time -- never by file modification time or listing order; ``.png`` files whose
  name is not a valid timestamp are ignored by the loader and reported by :func:`check_layout`;
* consecutive maps must be exactly ``interval_minutes`` apart (6 in REEC-2018); a larger (or
  irregular) gap breaks the series, and a sample never spans a gap;
* a sample is ``n_in`` observed maps followed by ``n_out`` future maps (5 + 5 by default) of one
  folder; windows start every ``step`` maps;
* pixel values: 8-bit (``L``) or 16-bit (``I;16``/``I``) grey PNGs are read as they are, other modes
  converted with PIL ``convert("L")``; ``crop=(top, left, height, width)`` (scs crops a 224x244
  region), then ``size=(H, W)`` bilinear; ``normalise=True`` applies the paper's per-image min-max
  ``Z' = (Z - min Z) / (max Z - min Z)`` (a constant image becomes 0);
* splits: ``train.txt``/``val.txt`` when present, otherwise the folders in name order, the last 20%
  (at least one when there are two or more) ``val`` -- later days validate;
* a corrupt PNG is skipped: warning naming the file, added to ``skipped``, next sample not using it.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Iterable

import numpy as np
import torch
from torch.utils.data import Dataset

from .layout import Report, listed_but_absent, pick_names, split_train_val
from .registry import register_dataset
from .video import SkipCorruptFiles, open_image

__all__ = ["parse_timestamp", "events", "echo_maps", "split_events", "time_runs", "check_layout", "RadarEcho"]

_NAME = re.compile(r"^(\d{12})\.png$", re.IGNORECASE)
VAL_FRACTION = 0.2
GET = ("not public (REEC-2018, scs paper): export composite-reflectivity maps of each rainy day/event as "
       "ROOT/<event>/<YYYYMMDDHHMM>.png (grey PNG, one per radar scan)")
LAYOUT = ("ROOT/<event or day>/<YYYYMMDDHHMM>.png   (ordered by the time in the name; gaps != interval "
          "(6 min) break sequences)\n"
          "ROOT/train.txt, ROOT/val.txt optional (event names); else the last 20% of events are val")


def _report(root) -> Report:
    r = str(root)
    return Report("radar", r, os.path.join(r, '<event>', '<YYYYMMDDHHMM>.png'), GET)


def parse_timestamp(filename: str) -> datetime | None:
    """``201806051230.png`` -> datetime(2018, 6, 5, 12, 30); None when the name is not a valid timestamp."""
    m = _NAME.match(os.path.basename(str(filename)))
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%d%H%M")
    except ValueError:
        return None


def echo_maps(root, event: str) -> list[tuple[datetime, str]]:
    """``(time, path)`` of an event's maps, ordered by the time in the file name."""
    d = os.path.join(str(root), event)
    out = []
    for f in os.listdir(d):
        t = parse_timestamp(f)
        if t is not None and os.path.isfile(os.path.join(d, f)):
            out.append((t, os.path.join(d, f)))
    return sorted(out)


def events(root) -> list[str]:
    """Folders under ``root`` holding at least one ``<YYYYMMDDHHMM>.png``, sorted by name."""
    root = str(root)
    if not os.path.isdir(root):
        return []
    return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))
                  and any(parse_timestamp(f) for f in os.listdir(os.path.join(root, d))))


def split_events(root) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...]}`` (rule in the module docstring)."""
    return split_train_val(str(root), events(root), VAL_FRACTION)


def time_runs(maps: list[tuple[datetime, str]], interval_minutes: float) -> list[list[tuple[datetime, str]]]:
    """Split time-ordered maps into runs whose neighbours are exactly ``interval_minutes`` apart."""
    step = timedelta(minutes=interval_minutes)
    runs: list[list[tuple[datetime, str]]] = []
    for m in maps:
        if runs and m[0] - runs[-1][-1][0] == step:
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def check_layout(root) -> list[str]:
    """Problems with a radar echo archive under ``root`` (empty: fine); each names a file and the fix."""
    return _report(root).run(str(root), _check_events)


def _check_events(root: str, report: Report) -> None:
    evs = events(root)
    if not evs:
        report.add(f"no echo map found: expected {os.path.join(root, '<event>', '<YYYYMMDDHHMM>.png')} "
                   f"(e.g. {os.path.join(root, '20180605', '201806051230.png')})")
        return
    for ev in evs:
        d = os.path.join(root, ev)
        bad = sorted(f for f in os.listdir(d) if f.lower().endswith(".png") and parse_timestamp(f) is None)
        for f in bad[:5]:
            report.add(f"{os.path.join(d, f)} is not named <YYYYMMDDHHMM>.png (ignored)")
    for ev, listed_in in listed_but_absent(root, split_events(root), evs):
        report.add(f"missing {os.path.join(root, ev, '<YYYYMMDDHHMM>.png')} (event {ev!r} listed in {listed_in})")


def _load_map(path: str) -> np.ndarray:
    with open_image(path) as im:
        if im.mode not in ("L", "I;16", "I", "F"):
            im = im.convert("L")
        return np.asarray(im).astype(np.float32)


class RadarEcho(SkipCorruptFiles, Dataset):
    """``{"input": float32 (n_in,1,H,W), "target": float32 (n_out,1,H,W), "times": [YYYYMMDDHHMM, ...],
    "video": event, "index": i}`` -- see the module docstring."""

    def __init__(self, root, split: str = "train", n_in: int = 5, n_out: int = 5, interval_minutes: float = 6,
                 step: int = 1, crop: tuple[int, int, int, int] | None = None, size: tuple[int, int] | None = None,
                 normalise: bool = True, names: Iterable[str] | None = None):
        SkipCorruptFiles.__init__(self)
        root = str(root)
        if not events(root):
            raise FileNotFoundError(check_layout(root)[0])
        if n_in < 1 or n_out < 0 or step < 1 or interval_minutes <= 0:
            raise ValueError("need n_in >= 1, n_out >= 0, step >= 1, interval_minutes > 0")
        self.names = pick_names("radar", split_events(root), split, names)
        self.root, self.split, self.n_in, self.n_out = root, split, int(n_in), int(n_out)
        self.interval_minutes, self.step = interval_minutes, int(step)
        self.crop, self.size, self.normalise = crop, size, bool(normalise)
        length = self.n_in + self.n_out
        self.samples: list[tuple[str, list[tuple[datetime, str]]]] = []
        for ev in self.names:
            if not os.path.isdir(os.path.join(root, ev)):
                raise _report(root).not_found(f"missing {os.path.join(root, ev, '<YYYYMMDDHHMM>.png')}")
            for run in time_runs(echo_maps(root, ev), interval_minutes):
                for s in range(0, len(run) - length + 1, self.step):
                    self.samples.append((ev, run[s:s + length]))

    def __len__(self) -> int:
        return len(self.samples)

    def _paths(self, index: int) -> list[str]:
        return [p for _, p in self.samples[index][1]]

    def _path(self, index: int) -> str:
        return self.samples[index][1][0][1]

    def _image(self, path: str) -> torch.Tensor:
        z = _load_map(path)
        if self.crop is not None:
            top, left, h, w = self.crop
            z = z[top:top + h, left:left + w]
        t = torch.from_numpy(np.ascontiguousarray(z))[None, None]
        if self.size is not None:
            t = torch.nn.functional.interpolate(t, size=tuple(int(v) for v in self.size), mode="bilinear",
                                                align_corners=False)
        if self.normalise:
            lo, hi = t.min(), t.max()
            t = (t - lo) / (hi - lo) if hi > lo else torch.zeros_like(t)
        return t[0]

    def _load(self, index: int) -> dict:
        ev, maps = self.samples[index]
        seq = torch.stack([self._image(p) for _, p in maps])
        return {"input": seq[:self.n_in], "target": seq[self.n_in:], "times": [t.strftime("%Y%m%d%H%M") for t, _ in maps],
                "video": ev, "index": index}

    def __repr__(self) -> str:
        return f"RadarEcho(root={self.root!r}, split={self.split!r}, events={len(self.names)}, n={len(self)})"


def _counts(root) -> dict[str, int]:
    return {s: len(RadarEcho(root, s)) for s in ("train", "val")}


register_dataset("radar", "Radar echo maps (REEC-2018 style nowcasting)", GET, LAYOUT, check=check_layout,
                 counts=_counts)
