"""deeprnn Table 4's stand-in data (benchmark/data/motion_clips.py): clip-level split, no shot cut inside a
window, every window moves at least the training median, deterministic prefixes, the synthetic fallback.
Synthetic "videos" stand in for the decoded files, so the test needs no package data."""
import numpy as np
import pytest

from benchmark.data import motion_clips as mc

T_VIDEO = 200  # 3 segments of 64 frames: k = 0, 1 train, k = 2 test


def _video(seed: int, cut_at: int) -> np.ndarray:
    """(T, 24, 32, 3) uint8: a bar moving right at a seed-dependent speed over noise, the scene
    inverted from frame ``cut_at`` on (a shot cut)."""
    rng = np.random.default_rng(seed)
    v = (rng.random((T_VIDEO, 24, 32, 3)) * 40).astype(np.uint8)
    speed = 1 + seed
    for t in range(T_VIDEO):
        x = (t * speed) % 28
        v[t, 8:16, x:x + 3] = 150
    v[cut_at:] = 255 - v[cut_at:]
    return v


@pytest.fixture
def videos(monkeypatch):
    fake = {"a": _video(0, 40), "b": _video(1, 150)}
    monkeypatch.setattr(mc, "available_packaged_videos", lambda: {k: k for k in fake})
    monkeypatch.setattr(mc, "decode_video_small", lambda path, short: fake[path])
    monkeypatch.setattr(mc, "POOL", 64)  # the threshold's pool of training windows (512 in use)
    monkeypatch.setitem(mc.PACKAGED_VIDEOS, "a", ("fake:a", lambda: "a"))
    monkeypatch.setitem(mc.PACKAGED_VIDEOS, "b", ("fake:b", lambda: "b"))
    return fake


def test_segments_split_by_clip():
    train, test = mc.split_segments(T_VIDEO, "train"), mc.split_segments(T_VIDEO, "test")
    assert train == [(0, 64), (64, 128)] and test == [(128, 192)]
    assert mc.split_segments(64 * 12, "test") == [(128, 192), (448, 512)]  # k % 5 == 2
    with pytest.raises(ValueError, match="split"):
        mc.split_segments(100, "dev")


def test_cut_steps_find_the_cut():
    assert np.flatnonzero(mc.cut_steps(_video(0, 40))).tolist() == [39]


def test_windows_stay_in_one_segment_of_their_split_without_a_cut_and_move(videos):
    n_in, n_out = 3, 5
    for split in ("train", "test"):
        ds = mc.MotionClips(split, n=12, n_in=n_in, n_out=n_out, size=16)
        assert ds.source == "builtin:motion-clips(fake:a+fake:b)"
        segs = mc.split_segments(T_VIDEO, split)
        cut = {0: 40, 1: 150}
        for s0, vi in zip(ds.starts, ds.videos):
            end = s0 + n_in + n_out  # frames s0 .. end - 1
            assert any(lo <= s0 and end <= hi for lo, hi in segs), (split, s0)
            assert not (s0 < cut[vi] < end), (split, s0, vi)  # the cut step (cut - 1 -> cut) is not inside
        motion = [mc.window_motion(c) for c in ds.clips]
        assert min(motion) >= ds.threshold > 0
        item = ds[0]
        assert item["inputs"].shape == (n_in, 1, 16, 16) and item["targets"].shape == (n_out, 1, 16, 16)
    # one threshold for both splits: the median motion of training windows of the same length
    assert mc.MotionClips("test", n=2, n_in=n_in, n_out=n_out, size=16).threshold == \
        mc.MotionClips("train", n=2, n_in=n_in, n_out=n_out, size=16).threshold


def test_a_smaller_set_is_a_prefix_and_the_fingerprint_follows_the_arrays(videos):
    small = mc.MotionClips("train", n=3, n_in=2, n_out=2, size=16)
    big = mc.MotionClips("train", n=6, n_in=2, n_out=2, size=16)
    assert np.array_equal(small.clips, big.clips[:3]) and np.array_equal(small.starts, big.starts[:3])
    assert small.fingerprint() == mc.MotionClips("train", n=3, n_in=2, n_out=2, size=16).fingerprint()
    assert small.fingerprint() != mc.MotionClips("train", n=3, n_in=2, n_out=2, size=16, seed=1).fingerprint()


def test_no_packaged_video_falls_back_to_moving_digits(monkeypatch):
    monkeypatch.setattr(mc, "available_packaged_videos", lambda: {})
    ds = mc.MotionClips("test", n=2, n_in=2, n_out=3, size=32)
    assert ds.source.startswith("builtin:video-clips(builtin:moving-digits")
    assert ds[1]["targets"].shape == (3, 1, 32, 32)


def test_a_window_longer_than_a_segment_is_refused():
    with pytest.raises(ValueError, match="segment"):
        mc.MotionClips("train", n=1, n_in=40, n_out=30)


def test_a_video_of_cuts_only_is_an_error_not_a_silent_pick(monkeypatch):
    flicker = np.zeros((T_VIDEO, 24, 32, 3), np.uint8)
    flicker[::2] = 255  # every step is a cut
    monkeypatch.setattr(mc, "available_packaged_videos", lambda: {"a": "a"})
    monkeypatch.setattr(mc, "decode_video_small", lambda path, short: flicker)
    monkeypatch.setitem(mc.PACKAGED_VIDEOS, "a", ("fake:a", lambda: "a"))
    monkeypatch.setattr(mc, "MAX_DRAWS", 20)
    with pytest.raises(ValueError, match="shot cut"):
        mc.MotionClips("train", n=1, n_in=2, n_out=2, size=16)
