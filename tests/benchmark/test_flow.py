"""Optical-flow targets: a translated pattern gives the translation; results are cached."""
import numpy as np

from benchmark.data.flow import cached_flow, horn_schunck


def _blob(shift_x=0.0, shift_y=0.0, size=32):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.exp(-(((x - 14 - shift_x) / 5) ** 2 + ((y - 16 - shift_y) / 5) ** 2))


def test_horn_schunck_recovers_a_small_translation():
    flow = horn_schunck(_blob(), _blob(shift_x=0.5), alpha=0.05, iters=300)
    mask = _blob() > 0.3  # where the pattern has texture
    u, v = flow[0][mask].mean(), flow[1][mask].mean()
    assert 0.3 < u < 0.7 and abs(v) < 0.1
    flow = horn_schunck(_blob(), _blob(shift_y=-0.5), alpha=0.05, iters=300)
    assert -0.7 < flow[1][mask].mean() < -0.3 and abs(flow[0][mask].mean()) < 0.1


def test_flow_is_computed_once_and_cached(tmp_path):
    frames = (np.stack([_blob(shift_x=0.4 * t) for t in range(3)]) * 255).astype(np.uint8)
    a = cached_flow("video.avi", frames, tmp_path, iters=20)
    assert a.shape == (2, 2, 32, 32) and len(list(tmp_path.glob("flow_*.npy"))) == 1
    (cache,) = tmp_path.glob("flow_*.npy")
    np.save(cache, np.zeros_like(a))  # a second call reads the cache, it does not recompute
    assert not cached_flow("video.avi", frames, tmp_path, iters=20).any()
