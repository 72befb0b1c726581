"""KTH human actions for video future prediction (deeprnn section 4.3, Table 4).

Expected layout (the six official zips ``boxing.zip`` ... ``walking.zip`` unpacked into
``ROOT/<action>/`` plus the sequences file)::

    ROOT/<action>/person<NN>_<action>_d<K>_uncomp.avi     (actions: boxing handclapping handwaving
                                                           jogging running walking; NN 01-25; K 1-4)
    ROOT/00sequences.txt      "person01_boxing_d1\\t\\tframes\\t1-95, 96-185, 281-360, 391-465"

``00sequences.txt`` gives, per video, the 1-based inclusive frame ranges of the action
sub-sequences; :func:`parse_sequences` reads it (header lines and blank lines ignored).  The
official copy has 599 videos (``person13_handclapping_d3`` is absent and is not reported).

Split protocol: ``protocol="mcnet"`` (default) -- the video-prediction protocol of MCnet (Villegas
et al., ICLR 2017), used by PredRNN/E3D-LSTM and the deep-RNN paper's comparison: persons 1-16 train,
17-25 test.  ``protocol="schuldt"`` -- the original recognition split of Schuldt et al. (ICPR 2004):
train 11-18, val 1, 4, 19, 20, 21, 23, 24, 25, test 2, 3, 5, 6, 7, 8, 9, 10, 22.

Samples (:class:`KTH`): windows of ``n_in + n_out`` (10 + 20) consecutive frames inside one
sub-sequence range.  Deterministic windows start at ``range_start + k * step`` (``step`` defaults to
``n_in + n_out``: non-overlapping) for every window that fits; ``random_start=True`` gives one sample
per range with a fresh uniformly drawn start at every access (training).  Frames are converted to grey
(PIL ``L``), resized (bilinear, not aspect-preserving) to ``size`` and scaled to [0, 1].  A range that
runs past the decoded end of its video (the sequences file has a few) is shifted to end at the last
frame.
"""
from __future__ import annotations

import os
import re

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from .augment import worker_generator
from .layout import MAX_LISTED  # noqa: F401 (the module's former constant, still importable)
from .layout import Need, first_missing, missing_lines, raise_not_found
from .registry import register_dataset
from .video import CorruptVideo, SkipCorrupt, count_frames, read_video

__all__ = ["KTH", "check_layout", "parse_sequences", "video_path", "ACTIONS", "PROTOCOLS"]

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
SEQUENCES_FILE = "00sequences.txt"
PROTOCOLS = {
    "mcnet": {"train": tuple(range(1, 17)), "test": tuple(range(17, 26))},
    "schuldt": {"train": (11, 12, 13, 14, 15, 16, 17, 18), "val": (1, 4, 19, 20, 21, 23, 24, 25),
                "test": (2, 3, 5, 6, 7, 8, 9, 10, 22)},
}
KNOWN_ABSENT = frozenset({"person13_handclapping_d3"})
TITLE = "KTH"
GET = "https://www.csc.kth.se/cvap/actions/: the six <action>.zip files + 00sequences.txt"
LAYOUT = ("ROOT/<action>/person<NN>_<action>_d<K>_uncomp.avi   (boxing handclapping handwaving jogging running walking)\n"
          "ROOT/00sequences.txt   (split: MCnet protocol, persons 1-16 train, 17-25 test)")
_LINE_RE = re.compile(r"^\s*(person(\d+)_([a-z]+)_d(\d+))\s+frames\s*(.*)$", re.IGNORECASE)
_RANGE_RE = re.compile(r"(\d+)\s*-\s*(\d+)")


def _how_to_get(root) -> str:
    return (f"Get boxing.zip, handclapping.zip, handwaving.zip, jogging.zip, running.zip, walking.zip and "
            f"00sequences.txt from https://www.csc.kth.se/cvap/actions/ ; unzip each into {root}/<action>/ and "
            f"put 00sequences.txt in {root}.")


def video_path(root, name: str) -> str:
    """``ROOT/<action>/<name>_uncomp.avi`` for a sequence name ``person01_boxing_d1``."""
    action = name.split("_")[1]
    return os.path.join(str(root), action, f"{name}_uncomp.avi")


def parse_sequences(path) -> dict[str, dict]:
    """``{name: {"person", "action", "scenario", "ranges": [(start, end), ...]}}`` (1-based, inclusive).

    Lines that do not start with ``personNN_<action>_dK ... frames`` (the header) are ignored.
    """
    out: dict[str, dict] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = _LINE_RE.match(line)
            if not m:
                continue
            name, person, action, scenario, rest = m.groups()
            ranges = [(int(a), int(b)) for a, b in _RANGE_RE.findall(rest)]
            for a, b in ranges:
                if a < 1 or b < a:
                    raise ValueError(f"{path}:{n}: bad frame range {a}-{b} in {line.strip()!r}")
            out[name.lower()] = {"person": int(person), "action": action.lower(), "scenario": int(scenario),
                                 "ranges": ranges}
    return out


def _persons(protocol: str, subset: str) -> tuple[int, ...]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {tuple(PROTOCOLS)}, got {protocol!r}")
    if subset not in PROTOCOLS[protocol]:
        raise ValueError(f"protocol {protocol!r} has subsets {tuple(PROTOCOLS[protocol])}, got {subset!r}")
    return PROTOCOLS[protocol][subset]


def windows(ranges, length: int, step: int | None = None) -> list[int]:
    """0-based start frames of the ``length``-frame windows inside 1-based inclusive ``ranges``."""
    step = length if step is None else int(step)
    starts = []
    for a, b in ranges:
        s = a - 1
        while s + length <= b:
            starts.append(s)
            s += step
    return starts


def _first_problem(root) -> str | None:
    root = str(root)
    needs = [Need(os.path.join(root, SEQUENCES_FILE))]
    needs += [Need(os.path.join(root, a), folder=True,
                   expected=f" (expected {os.path.join(root, a, f'person<NN>_{a}_d<K>_uncomp.avi')})") for a in ACTIONS]
    return first_missing(TITLE, root, _how_to_get(root), needs)


def check_layout(root) -> list[str]:
    """Problems with a KTH copy (empty list: fine): the sequences file, the six action folders,
    then the video of every entry of the sequences file (first 20 missing named, then a count)."""
    problem = _first_problem(root)
    if problem is not None:
        return [problem]
    try:
        seqs = parse_sequences(os.path.join(str(root), SEQUENCES_FILE))
    except ValueError as e:
        return [f"{e}. Re-download {SEQUENCES_FILE}. {_how_to_get(root)}"]
    if not seqs:
        return [f"{os.path.join(str(root), SEQUENCES_FILE)} has no 'personNN_<action>_dK frames a-b, ...' line"]
    problems, missing = [], []
    for name, info in seqs.items():
        if info["action"] not in ACTIONS:
            problems.append(f"{SEQUENCES_FILE}: unknown action in {name}")
            continue
        p = video_path(root, name)
        if name not in KNOWN_ABSENT and not os.path.isfile(p):
            missing.append(p)
    return problems + missing_lines(missing, len(seqs), "video", SEQUENCES_FILE, _how_to_get(root))


def _grey_resize(frames: np.ndarray, size) -> np.ndarray:
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    out = np.empty((len(frames), h, w), dtype=np.uint8)
    for t, f in enumerate(frames):
        img = Image.fromarray(f).convert("L")
        if img.size != (w, h):
            img = img.resize((w, h), Image.BILINEAR)
        out[t] = np.asarray(img)
    return out


class KTH(SkipCorrupt, Dataset):
    """KTH future-prediction windows (see the module docstring for protocol and sampling).

    ``dataset[i]`` -> ``{"frames": float32 (n_in + n_out, 1, H, W) in [0, 1], "inputs": frames[:n_in],
    "targets": frames[n_in:], "label": action index (ACTIONS order), "video": path, "person": int,
    "scenario": int, "range": (start, end) 1-based, "start": 0-based first frame, "index": i}``.

    ``size``: int (square) or (H, W); default 128 as MCnet.  Entries of the sequences file whose video
    is absent are left out (``self.missing``); corrupt videos are skipped at access
    (``self.skipped``).  ``sequences()`` lists ``(video path, ranges)`` of the subset.
    """

    def __init__(self, root, subset: str = "train", protocol: str = "mcnet", size=128, n_in: int = 10,
                 n_out: int = 20, step: int | None = None, random_start: bool = False,
                 generator: np.random.Generator | None = None, actions=ACTIONS):
        SkipCorrupt.__init__(self)
        root = str(root)
        persons = set(_persons(protocol, subset))
        raise_not_found(TITLE, root, _first_problem(root))
        self.root, self.subset, self.protocol = root, subset, protocol
        self.size, self.n_in, self.n_out = size, int(n_in), int(n_out)
        self.length = self.n_in + self.n_out
        self.random_start = bool(random_start)
        self.generator = generator if generator is not None else np.random.default_rng()
        self.actions = tuple(actions)
        seqs = parse_sequences(os.path.join(root, SEQUENCES_FILE))
        self._sequences: list[tuple[str, list[tuple[int, int]]]] = []
        self.missing: list[str] = []
        self.items: list[dict] = []
        for name in sorted(seqs):
            info = seqs[name]
            if info["person"] not in persons or info["action"] not in self.actions:
                continue
            path = video_path(root, name)
            if not os.path.isfile(path):
                if name not in KNOWN_ABSENT:
                    self.missing.append(path)
                continue
            self._sequences.append((path, info["ranges"]))
            base = {"video": path, "label": self.actions.index(info["action"]), "person": info["person"],
                    "scenario": info["scenario"]}
            for a, b in info["ranges"]:
                if b - a + 1 < self.length:
                    continue
                if self.random_start:
                    self.items.append({**base, "range": (a, b), "start": None})
                else:
                    for s in windows([(a, b)], self.length, step):
                        self.items.append({**base, "range": (a, b), "start": s})
        if not self.items:
            raise FileNotFoundError(
                f"KTH {subset} ({protocol}): no {self.length}-frame window in any video of persons "
                f"{sorted(persons)} (videos found: {len(self._sequences)}, missing: {len(self.missing)}"
                f"{', first: ' + self.missing[0] if self.missing else ''}). {_how_to_get(root)}")

    def __len__(self) -> int:
        return len(self.items)

    def sequences(self) -> list[tuple[str, list[tuple[int, int]]]]:
        """``[(video path, [(start, end), ...]), ...]`` of this subset (1-based inclusive ranges)."""
        return list(self._sequences)

    def _path(self, index: int) -> str:
        return self.items[index]["video"]

    def _read_window(self, path: str, start: int) -> tuple[np.ndarray, int]:
        n = self.length
        try:
            frames = read_video(path, start=start, max_frames=n)
        except CorruptVideo:
            if start == 0:
                raise
            frames = np.empty((0,))
        if len(frames) < n:  # the range runs past the decoded end: end the window at the last frame
            total = count_frames(path, decode=True)
            if total < n:
                raise CorruptVideo(path, f"only {total} frames, a window needs {n}")
            start = total - n
            frames = read_video(path, start=start, max_frames=n)
        return frames, start

    def _load(self, index: int) -> dict:
        item = self.items[index]
        start = item["start"]
        if start is None:
            a, b = item["range"]
            start = int(worker_generator(self).integers(a - 1, b - self.length + 1))
        frames, start = self._read_window(item["video"], start)
        import torch

        grey = torch.from_numpy(_grey_resize(frames, self.size)).float().div_(255.0).unsqueeze(1)
        return {"frames": grey, "inputs": grey[: self.n_in], "targets": grey[self.n_in:],
                "label": item["label"], "video": item["video"], "person": item["person"],
                "scenario": item["scenario"], "range": item["range"], "start": start, "index": index}


def _counts(root) -> dict[str, int]:
    """MCnet protocol, defaults (10 + 20 frames, non-overlapping windows): windows per subset
    (``train``, ``test``) and videos (``train_videos``, ``test_videos``), from the sequences file."""
    seqs = parse_sequences(os.path.join(str(root), SEQUENCES_FILE))
    out = {}
    for subset, persons in PROTOCOLS["mcnet"].items():
        vids = [s for n, s in seqs.items() if s["person"] in persons and n not in KNOWN_ABSENT
                and os.path.isfile(video_path(root, n))]
        out[subset] = sum(len(windows(s["ranges"], 30)) for s in vids)
        out[f"{subset}_videos"] = len(vids)
    return out


register_dataset("kth", "KTH actions (video prediction)", GET, LAYOUT, check=check_layout, counts=_counts)
