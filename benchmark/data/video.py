"""Shared video decoding for the real video data sets (UCF-101, HMDB-51, Kinetics-400, KTH).

Decoding uses PyAV (``pip install av``; the wheel ships its own FFmpeg), imported lazily so that
the rest of ``benchmark.data`` works without it.

* :func:`read_video` -- an encoded file (.avi, .mp4, ...) -> ``(T, H, W, 3)`` uint8 RGB array.
* :func:`read_frames_dir` -- a folder of extracted frames (``*.jpg`` / ``*.png``, natural order:
  ``img_2.jpg`` before ``img_10.jpg``) -> the same array.
* :func:`count_frames`, :func:`write_video` (real encoded files; used by the tests).
* :class:`CorruptVideo` -- raised, naming the path, for a file or folder that exists but cannot be
  decoded or holds no frame.  A path that does not exist raises ``FileNotFoundError`` instead.
* :func:`open_video` / :func:`open_image` -- a video stream / an image whose read errors become
  :class:`CorruptVideo`.

Skipping corrupt samples (:class:`SkipCorrupt`)
-----------------------------------------------
Big video collections always contain a few broken files.  A data set built on
:class:`VideoClassification` (or using :class:`SkipCorrupt` itself) does not stop training on one.
The exact rule of ``dataset[i]``:

1. try sample ``i``; if it loads, return it;
2. if loading raises :class:`CorruptVideo`, emit ``warnings.warn("skipping corrupt video <path>:
   <reason>")`` (once per path), add the path to ``dataset.skipped`` (a set of paths) and try
   ``i + 1``, ``i + 2``, ... wrapping round modulo ``len(dataset)``; a sample whose path is already
   in ``skipped`` is passed over without decoding it again;
3. the first sample that loads is returned (its own ``"video"`` / ``"index"`` entries say which one
   it is); if every sample is corrupt, ``RuntimeError`` is raised.

``dataset.skipped_count == len(dataset.skipped)``.  With ``DataLoader(num_workers > 0)`` every
worker process keeps its own ``skipped`` set (the main process's set is not updated); use
``num_workers=0`` or a :func:`scan_corrupt` pass when the count itself matters.

A sample that reads several files (the frames of a window) uses :class:`SkipCorruptFiles`: the
broken *file* is added to ``skipped`` (warning ``"skipping corrupt image <path>: <reason>"``) and every
sample that uses it is passed over.
"""
from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
from torch.utils.data import Dataset

from .layout import Need, find_hint, missing_lines

__all__ = [
    "CorruptVideo", "read_video", "read_frames_dir", "count_frames", "write_video", "natural_key",
    "SkipCorrupt", "SkipCorruptFiles", "VideoClassification", "scan_corrupt", "to_tensor", "find_hint",
    "IMAGE_PATTERNS", "open_video", "open_image", "SampleFolders", "missing_sample_lines",
]

IMAGE_PATTERNS = ("*.jpg", "*.jpeg", "*.png")


class CorruptVideo(Exception):
    """A video file / frame folder that exists but cannot be decoded (``.path`` names it)."""

    def __init__(self, path, reason: str = ""):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"corrupt or unreadable video {self.path}" + (f": {reason}" if reason else ""))


def _av():
    try:
        import av  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError("decoding video files needs PyAV: pip install av (the wheel ships FFmpeg)") from e
    return av


@contextlib.contextmanager
def open_video(path: str, threads: bool = False, catch_index_error: bool = True):
    """``(container, stream)``: ``path`` opened with PyAV and its first video stream.

    A file without a video stream, and PyAV / OS / decoding errors raised while opening it or inside
    the ``with`` block (``IndexError`` too unless ``catch_index_error`` is false), raise
    :class:`CorruptVideo` naming the path.  ``threads``: frame-threaded decoding (``"AUTO"``).
    """
    av = _av()
    errors = (av.FFmpegError, OSError, ValueError, EOFError) + ((IndexError,) if catch_index_error else ())
    try:
        with av.open(path, mode="r") as container:
            if not container.streams.video:
                raise CorruptVideo(path, "no video stream")
            stream = container.streams.video[0]
            if threads:
                stream.thread_type = "AUTO"
            yield container, stream
    except CorruptVideo:
        raise
    except errors as e:
        raise CorruptVideo(path, f"{type(e).__name__}: {e}") from e


@contextlib.contextmanager
def open_image(path: str):
    """The PIL image at ``path``; an unreadable or broken file, found when it is opened or while the
    ``with`` block reads it, raises :class:`CorruptVideo` (``"unreadable image: <error>"``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            yield im
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise CorruptVideo(path, f"unreadable image: {type(e).__name__}: {e}") from e


def natural_key(name: str):
    """Sort key putting ``frame_2`` before ``frame_10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(name))]


def _select(max_frames, stride, start):
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")


def read_video(path, max_frames: int | None = None, stride: int = 1, start: int = 0) -> np.ndarray:
    """Decode the first video stream of ``path`` into a ``(T, H, W, 3)`` uint8 RGB array.

    Frames ``start, start + stride, start + 2*stride, ...`` (0-based decode order) are kept, at most
    ``max_frames`` of them; decoding stops as soon as ``max_frames`` are collected (reading the first
    two frames of a long video is cheap).  Raises ``FileNotFoundError`` for a missing path and
    :class:`CorruptVideo` when the file cannot be opened / decoded, has no video stream or yields no
    frame in the requested range.
    """
    _select(max_frames, stride, start)
    path = str(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"video file not found: {path}")
    out: np.ndarray | None = None  # grown by doubling: no list + np.stack copy (halves peak memory)
    n = 0
    with open_video(path, threads=True) as (container, stream):
        known = int(stream.frames or 0)  # container's count (0: unknown); a guess, never trusted
        expected = -(-(known - start) // stride) if known > start else 64
        if max_frames is not None:
            expected = min(expected, max_frames)
        for i, frame in enumerate(container.decode(stream)):
            if i < start or (i - start) % stride:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            if out is None:
                out = np.empty((max(1, expected),) + rgb.shape, dtype=np.uint8)
            elif rgb.shape != out.shape[1:]:
                raise CorruptVideo(path, f"frame size changes inside the video: {out.shape[1:]} -> {rgb.shape}")
            if n == len(out):
                grown = np.empty((2 * n,) + out.shape[1:], dtype=np.uint8)
                grown[:n] = out
                out = grown
            out[n] = rgb
            n += 1
            if max_frames is not None and n >= max_frames:
                break
    if out is None or n == 0:
        raise CorruptVideo(path, "no decodable frame" + (f" at or after frame {start}" if start else ""))
    return out if n == len(out) else out[:n].copy()


def _frame_files(path: str, pattern: str | None) -> list[str]:
    patterns = IMAGE_PATTERNS if pattern is None else (pattern,)
    for p in patterns:
        files = glob.glob(os.path.join(path, p))
        if files:
            return sorted(files, key=lambda f: natural_key(os.path.basename(f)))
    return []


def read_frames_dir(path, pattern: str | None = None, max_frames: int | None = None, stride: int = 1,
                    start: int = 0) -> np.ndarray:
    """Read a folder of extracted frames (natural file-name order) into ``(T, H, W, 3)`` uint8 RGB.

    ``pattern``: a glob such as ``"*.jpg"`` or ``"img_*.png"``; ``None`` takes the first of
    ``*.jpg``, ``*.jpeg``, ``*.png`` that matches anything.  ``start`` / ``stride`` / ``max_frames``
    select frames as in :func:`read_video`.  Raises ``FileNotFoundError`` for a missing folder and
    :class:`CorruptVideo` for a folder without frames, an unreadable image or mixed frame sizes.
    """
    from PIL import Image, UnidentifiedImageError

    _select(max_frames, stride, start)
    path = str(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"frame folder not found: {path}")
    files = _frame_files(path, pattern)[start::stride]
    if max_frames is not None:
        files = files[:max_frames]
    if not files:
        raise CorruptVideo(path, f"no frames matching {pattern or ' / '.join(IMAGE_PATTERNS)}")
    frames = []
    for f in files:
        try:
            with Image.open(f) as im:
                frames.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise CorruptVideo(path, f"unreadable frame {f}: {e}") from e
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise CorruptVideo(path, f"frames of different sizes: {sorted(shapes)}")
    return np.stack(frames)


def count_frames(path, pattern: str | None = None, decode: bool = False) -> int:
    """Number of frames of a video file (or of a frame folder).

    For a file, the container's frame count is used when it gives one and ``decode`` is false;
    otherwise the packets of the video stream are counted (no decoding) -- with ``decode=True``
    every frame is decoded and counted (exact, slow).
    """
    path = str(path)
    if os.path.isdir(path):
        n = len(_frame_files(path, pattern))
        if n == 0:
            raise CorruptVideo(path, "no frames")
        return n
    if not os.path.isfile(path):
        raise FileNotFoundError(f"video file not found: {path}")
    with open_video(path) as (container, stream):
        if decode:
            n = sum(1 for _ in container.decode(stream))
        elif stream.frames and stream.frames > 0:
            n = int(stream.frames)
        else:
            n = sum(1 for p in container.demux(stream) if p.size)
    if n == 0:
        raise CorruptVideo(path, "no frames")
    return n


def write_video(path, frames, fps: int = 25, codec: str = "mpeg4", pix_fmt: str | None = None,
                options: dict | None = None) -> str:
    """Encode ``frames`` ((T, H, W, 3) uint8 RGB, or (T, H, W) grey) into a real video file.

    The container follows the extension (``.avi``, ``.mp4``, ``.mkv``, ...).  ``codec="mpeg4"``
    (default, lossy, ``pix_fmt`` yuv420p: even width/height are safest) is what old data sets such
    as UCF-101/KTH use; ``codec="ffv1"`` (``pix_fmt`` bgr0, lossless) gives an exact round trip.
    Returns ``path``.
    """
    av = _av()
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be (T, H, W, 3) with T >= 1, got {frames.shape}")
    frames = np.ascontiguousarray(frames.astype(np.uint8, copy=False))
    if pix_fmt is None:
        pix_fmt = {"ffv1": "bgr0", "png": "rgb24", "rawvideo": "bgr24"}.get(codec, "yuv420p")
    path = str(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = pix_fmt
        if codec == "mpeg4":  # near-transparent quality (the default rate control drifts on tiny frames)
            stream.bit_rate = 8_000_000
            stream.codec_context.qmin, stream.codec_context.qmax = 1, 4
        if options:
            stream.options = dict(options)
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def to_tensor(frames: np.ndarray, as_float: bool = False):
    """(T, H, W, C) uint8 array -> torch tensor (T, C, H, W): uint8, or float32 in [0, 1]."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()
    return t.float().div_(255.0) if as_float else t


class SkipCorrupt:
    """Mixin: ``__getitem__`` skips corrupt samples (rule in the module docstring).

    A subclass implements ``_load(index) -> dict`` (raising :class:`CorruptVideo` for a broken file)
    and ``_path(index) -> str``; it calls ``SkipCorrupt.__init__(self)`` (or sets ``self.skipped``).
    A file found broken outside ``__getitem__`` (e.g. at construction) is recorded with ``_skip``.
    """

    corrupt_noun = "video"            # the warning: "skipping corrupt <noun> <path>: <reason>"
    all_corrupt = "are corrupt"       # the error: "all <n> samples <all_corrupt> (e.g. ...)"

    def __init__(self):
        self.skipped: set[str] = set()

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    def _path(self, index: int) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load(self, index: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _paths(self, index: int) -> list[str]:
        """The files sample ``index`` reads: it is passed over when one of them is in ``skipped``."""
        return [self._path(index)]

    def _corrupt_path(self, index: int, error: CorruptVideo) -> str:
        """The path that goes into ``skipped`` when loading sample ``index`` raised ``error``."""
        return self._path(index)

    def _skip(self, path: str, reason, stacklevel: int = 2) -> None:
        """Add ``path`` to ``skipped`` with the warning; ``stacklevel`` counts from the caller of ``_skip``."""
        self.skipped.add(path)
        warnings.warn(f"skipping corrupt {self.corrupt_noun} {path}: {reason}", RuntimeWarning,
                      stacklevel=stacklevel + 1)

    def __getitem__(self, index: int) -> dict:
        n = len(self)
        if n == 0:
            raise IndexError("empty data set")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        if not hasattr(self, "skipped"):
            self.skipped = set()
        for k in range(n):
            i = (index + k) % n
            if any(p in self.skipped for p in self._paths(i)):
                continue
            try:
                return self._load(i)
            except CorruptVideo as e:
                self._skip(self._corrupt_path(i, e), e.reason or e)
        raise RuntimeError(f"all {n} samples {self.all_corrupt} (e.g. {sorted(self.skipped)[:3]})")


class SkipCorruptFiles(SkipCorrupt):
    """:class:`SkipCorrupt` keyed by the broken *file* of samples that read several (``_paths(i)`` lists
    them): the path the :class:`CorruptVideo` names is skipped, and so every sample that uses it."""

    corrupt_noun = "image"
    all_corrupt = "use a corrupt file"

    def _paths(self, index: int) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _corrupt_path(self, index: int, error: CorruptVideo) -> str:
        return error.path


def scan_corrupt(dataset: SkipCorrupt, indices: Iterable[int] | None = None) -> set[str]:
    """Load every sample once (in this process) so that ``dataset.skipped`` is complete; returns it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in (range(len(dataset)) if indices is None else indices):
            try:
                dataset[i]
            except RuntimeError:
                break
    return dataset.skipped


def _sampling_fn(sampling, n_first: int) -> Callable[[int], np.ndarray] | None:
    from .augment import first_frames, whole_video

    if sampling in (None, "whole"):
        return whole_video
    if sampling in ("first", "anticipation"):
        return functools.partial(first_frames, n=n_first)
    if callable(sampling):
        return sampling
    raise ValueError(f"sampling must be 'whole', 'first'/'anticipation' or a callable T -> indices, got {sampling!r}")


class VideoClassification(SkipCorrupt, Dataset):
    """A ``torch.utils.data.Dataset`` of (video file or frame folder, integer label) pairs.

    ``dataset[i]`` -> ``{"frames": (T, 3, H, W) tensor, "label": int, "video": path, "index": i}``.

    * ``sampling``: ``"whole"`` (recognition: every frame, or every ``stride``-th, at most
      ``max_frames``), ``"first"`` / ``"anticipation"`` (the first ``n_first`` = 2 frames; only those
      are decoded) or a callable ``T -> index array`` (e.g. a clip from :func:`augment.clip_indices`).
    * ``transform``: applied to the ``(T, H, W, 3)`` uint8 array after sampling, e.g.
      :class:`augment.VideoAugment` (one crop / flip / colour draw per sample); must return the same
      layout.
    * ``as_float``: float32 frames in [0, 1] instead of uint8.
    * ``frames``: the paths are folders of extracted frames (``frame_pattern`` glob, default
      jpg/jpeg/png) instead of encoded files.
    """

    def __init__(self, samples: Sequence[tuple[str, int]], classes: Sequence[str], *, transform=None,
                 sampling="whole", n_first: int = 2, max_frames: int | None = None, stride: int = 1,
                 frames: bool = False, frame_pattern: str | None = None, as_float: bool = False):
        SkipCorrupt.__init__(self)
        self.samples = [(str(p), int(l)) for p, l in samples]
        self.classes = tuple(classes)
        self.transform = transform
        self.sampling = sampling
        self._sample_fn = _sampling_fn(sampling, n_first)
        self.n_first = int(n_first)
        self.max_frames, self.stride = max_frames, int(stride)
        self.frames, self.frame_pattern, self.as_float = bool(frames), frame_pattern, bool(as_float)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> list[int]:
        return [l for _, l in self.samples]

    def _path(self, index: int) -> str:
        return self.samples[index][0]

    def read(self, path: str) -> np.ndarray:
        max_frames = self.max_frames
        if self.sampling in ("first", "anticipation"):
            max_frames = self.n_first if max_frames is None else min(max_frames, self.n_first)
        if self.frames:
            return read_frames_dir(path, self.frame_pattern, max_frames=max_frames, stride=self.stride)
        return read_video(path, max_frames=max_frames, stride=self.stride)

    def _load(self, index: int) -> dict:
        path, label = self.samples[index]
        try:
            video = self.read(path)
        except FileNotFoundError as e:  # vanished after construction: treat like a broken file
            raise CorruptVideo(path, str(e)) from e
        idx = np.asarray(self._sample_fn(len(video)), dtype=np.int64)
        video = video[idx]
        if self.transform is not None:
            video = self.transform(video)
        return {"frames": to_tensor(video, self.as_float), "label": label, "video": path, "index": index}



def sample_exists(path: str, frames: bool) -> bool:
    """A listed sample is a video file, or (extracted frames) a folder of frames."""
    return os.path.isdir(path) if frames else os.path.isfile(path)


def missing_sample_lines(paths: Iterable[str], frames: bool, listed_in: str, how_to_get: str) -> list[str]:
    """Check problems for the listed samples that do not exist (each path once, in listed order):
    ``missing video P (listed in <listed_in>); <how_to_get>`` (``frame folder`` with ``frames``) for the
    first :data:`layout.MAX_LISTED`, then a count."""
    seen, missing = set(), []
    for p in paths:
        if p not in seen:
            seen.add(p)
            if not sample_exists(p, frames):
                missing.append(p)
    return missing_lines(missing, len(seen), "frame folder" if frames else "video", listed_in, how_to_get)


@dataclass(frozen=True)
class SampleFolders:
    """Where a video classification set keeps its samples under ROOT: encoded videos in ``video``
    (``video_pattern`` inside), or extracted frames in ``frames`` (``frames_pattern`` inside)."""
    video: str
    video_pattern: str
    frames_pattern: str
    frames: str = "frames"

    def need(self, root: str, frames: bool, how_to_get: str) -> Need:
        """The sample folder as a :class:`layout.Need` (the fix for missing frames: extract them)."""
        folder = os.path.join(root, self.frames if frames else self.video)
        pattern = self.frames_pattern if frames else self.video_pattern
        fix = "extract the frames of every video into it" if frames else how_to_get
        return Need(folder, folder=True, expected=f" (expected {os.path.join(folder, pattern)})", fix=f"Fix: {fix}")

    def only_frames(self, root) -> bool:
        """ROOT holds extracted frames and no video folder (what the registry check then checks)."""
        return (not os.path.isdir(os.path.join(str(root), self.video))
                and os.path.isdir(os.path.join(str(root), self.frames)))


def keep_existing(title: str, listed: list[tuple[str, int]], frames: bool, what: str, how_to_get: str):
    """Split listed (path, label) samples into those present and the missing paths.

    None present: FileNotFoundError naming the first expected path and where to get the data; some
    missing: one warning with the count and the first missing path (they are left out)."""
    samples = [(p, lab) for p, lab in listed if sample_exists(p, frames)]
    missing = [p for p, _ in listed if not sample_exists(p, frames)]
    if not samples:
        raise FileNotFoundError(f"{title}: none of the {len(listed)} samples of {what} exist "
                                f"(first expected: {listed[0][0] if listed else '-'}). {how_to_get}")
    if missing:
        warnings.warn(f"{title}: {len(missing)} of {len(listed)} listed samples are missing and left out "
                      f"(first: {missing[0]})", RuntimeWarning, stacklevel=3)
    return samples, missing
