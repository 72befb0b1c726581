"""Optical-flow targets: a translated pattern gives the translation; results are cached."""
import numpy as np
import torch

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


def test_builtin_subgoal_flow_is_computed_once_per_set_and_healed(tmp_path, monkeypatch):
    """The built-in action sets' flow targets (data/subgoal_sets.py BuiltinActions.add_flow) are cached on
    disk by the set's fingerprint: a second set with the same frames reads them (bit for bit, nothing
    recomputed), another draw computes its own, and a garbage cache file is moved aside and recomputed."""
    from benchmark.data import subgoal_sets

    a = subgoal_sets.BuiltinActions("train", n=3, T=4, size=16)
    a.add_flow(8, iters=5, cache_dir=str(tmp_path))
    files = list(tmp_path.glob("subgoal_flow_*.npy"))
    assert len(files) == 1 and a.flow.shape == (3, 4, 2, 8, 8) and torch.equal(a.flow[:, 0], torch.zeros(3, 2, 8, 8))

    real = subgoal_sets.sequence_flow
    monkeypatch.setattr(subgoal_sets, "sequence_flow", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    b = subgoal_sets.BuiltinActions("train", n=3, T=4, size=16)
    b.add_flow(8, iters=5, cache_dir=str(tmp_path))
    assert torch.equal(b.flow, a.flow)

    monkeypatch.setattr(subgoal_sets, "sequence_flow", real)
    other = subgoal_sets.BuiltinActions("test", n=3, T=4, size=16)  # other frames: its own file
    other.add_flow(8, iters=5, cache_dir=str(tmp_path))
    assert len(list(tmp_path.glob("subgoal_flow_*.npy"))) == 2 and not torch.equal(other.flow, a.flow)

    files[0].write_bytes(b"garbage")
    c = subgoal_sets.BuiltinActions("train", n=3, T=4, size=16)
    c.add_flow(8, iters=5, cache_dir=str(tmp_path))
    assert torch.equal(c.flow, a.flow) and files[0].exists()
    assert any(p.name != files[0].name and p.name.startswith(files[0].name) for p in tmp_path.iterdir())
