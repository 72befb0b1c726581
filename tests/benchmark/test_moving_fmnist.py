"""Moving Fashion-MNIST (issue 19): generation, determinism, disjoint splits, motion law, metrics, copy-last."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from benchmark.data.builtin_polygons import fashion_mnist_available, load_fashion_mnist
from benchmark.data.moving_fmnist import (ITEM_SIZE, MovingFashionMNIST, baseline_scores, copy_last_frame,
                                          item_images, mae_per_frame, mse_per_frame, video_metrics)

needs_fmnist = pytest.mark.skipif(not fashion_mnist_available(), reason="dataset-fashion-mnist not installed")


def _com(frame: np.ndarray) -> np.ndarray:
    """Centre of mass (x, y) of a 2-D image."""
    w = frame.astype(np.float64)
    ys, xs = np.indices(w.shape)
    return np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()


# --------------------------------------------------------------------------- the data set
def test_item_shapes_range_and_targets_continue_the_inputs():
    ds = MovingFashionMNIST("test", n=3, seed=0)
    assert len(ds) == 3 and ds.n_items == 2
    item = ds[1]
    assert set(item) == {"frames", "target"}
    assert item["frames"].dtype == torch.float32 and tuple(item["frames"].shape) == (10, 1, 64, 64)
    assert item["target"].dtype == torch.float32 and tuple(item["target"].shape) == (10, 1, 64, 64)
    seq = ds.sequence(1)
    np.testing.assert_array_equal(item["frames"].numpy(), seq[:10])
    np.testing.assert_array_equal(item["target"].numpy(), seq[10:])
    frames, target = ds.arrays()
    assert frames.shape == target.shape == (3, 10, 1, 64, 64) and frames.dtype == np.float32
    assert frames.min() >= 0 and target.max() <= 1 and frames.max() > 0.5
    assert ds.items.shape == ds.labels.shape == (3, 2) and ds.positions.shape == (3, 20, 2, 2)
    assert ds.positions.min() >= 0 and ds.positions.max() <= 64 - ITEM_SIZE
    small = MovingFashionMNIST("test", n=2, seed=0, n_in=3, n_out=5, size=40, items=3)
    assert tuple(small[0]["frames"].shape) == (3, 1, 40, 40) and tuple(small[0]["target"].shape) == (5, 1, 40, 40)
    with pytest.raises(IndexError):
        small[2]


def test_frames_are_the_recorded_items_composited_with_max():
    ds = MovingFashionMNIST("train", n=2, seed=5, items=2, n_in=2, n_out=2)
    for i in range(2):
        seq = ds.sequence(i)
        for t in range(4):
            expect = np.zeros((64, 64), np.float32)
            for k in range(2):
                x, y = ds.positions[i, t, k]
                patch = ds.images[ds.items[i, k]].astype(np.float32) / 255.0
                expect[y:y + 28, x:x + 28] = np.maximum(expect[y:y + 28, x:x + 28], patch)
            np.testing.assert_array_equal(seq[t, 0], expect)
    _, labels, _ = item_images("train")
    np.testing.assert_array_equal(ds.labels, labels[ds.items])


def test_deterministic_bytes_and_fingerprint_independent_of_global_rngs():
    np.random.seed(1), torch.manual_seed(1), random.seed(1)
    a = MovingFashionMNIST("test", n=4, seed=0)
    np.random.seed(2), torch.manual_seed(2), random.seed(2)
    b = MovingFashionMNIST("test", n=4, seed=0)
    fa, fb = a.arrays(), b.arrays()
    assert fa[0].tobytes() == fb[0].tobytes() and fa[1].tobytes() == fb[1].tobytes()
    fp = a.fingerprint()
    assert fp == b.fingerprint() and len(fp) == 16 and int(fp, 16) >= 0
    c = MovingFashionMNIST("test", n=4, seed=1)
    assert c.fingerprint() != fp and c.arrays()[0].tobytes() != fa[0].tobytes()
    assert MovingFashionMNIST("train", n=4, seed=0).fingerprint() != fp
    prefix = MovingFashionMNIST("test", n=2, seed=0)  # sequence i depends only on (seed, split, i)
    np.testing.assert_array_equal(prefix.arrays()[1], fa[1][:2])


@needs_fmnist
def test_train_and_test_items_come_from_disjoint_image_files():
    tr, te = MovingFashionMNIST("train", n=150, seed=0), MovingFashionMNIST("test", n=150, seed=0)
    assert tr.source == te.source == "builtin:moving-fashion-mnist(dataset-fashion-mnist)"
    assert tr.images is load_fashion_mnist("train")[0] and te.images is load_fashion_mnist("test")[0]
    assert len(tr.images) == 60000 and len(te.images) == 10000
    assert tr.items.max() < 60000 and te.items.max() < 10000 and tr.items.max() >= 10000
    train_pixels = {tr.images[j].tobytes() for j in tr.items.ravel()}
    test_pixels = {te.images[j].tobytes() for j in te.items.ravel()}
    assert len(train_pixels) > 250 and len(test_pixels) > 250
    assert train_pixels.isdisjoint(test_pixels)


def test_single_item_moves_by_a_constant_vector_and_bounces_off_the_walls():
    ds = MovingFashionMNIST("test", n=24, seed=3, items=1)
    lim, straight, bounced = 64 - ITEM_SIZE, 0, 0
    for i in range(len(ds)):
        com = np.array([_com(f) for f in ds.sequence(i)[:, 0]])
        offset = com - ds.positions[i, :, 0]  # the drawn item sits at the recorded top-left at every frame
        np.testing.assert_allclose(offset, np.broadcast_to(offset[0], offset.shape), atol=1e-9)
        box = com - offset[0]  # top-left of the item's box, read off the frames
        v = ds.velocities[i, 0].astype(np.float64)
        speed = math.hypot(*v)
        assert abs(speed - 0.1 * lim) <= math.sqrt(0.5) + 1e-12 and speed > 0
        for t in range(len(com) - 1):
            step = com[t + 1] - com[t]
            q = box[t] + v
            out = (q < 0) | (q > lim)
            if not out.any():  # no wall reached: the same vector as before
                np.testing.assert_allclose(step, v, atol=1e-9)
                straight += 1
            else:  # reflected about the wall, that component of the velocity flips sign
                np.testing.assert_allclose(box[t + 1], np.where(q < 0, -q, np.where(q > lim, 2 * lim - q, q)),
                                           atol=1e-9)
                v = np.where(out, -v, v)
                bounced += 1
            assert math.hypot(*v) == speed
    assert bounced >= 10 and straight > 5 * bounced


def test_fallback_to_sklearn_digits_when_fashion_mnist_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCHMARK_FASHION_MNIST_DIR", str(tmp_path))
    assert not fashion_mnist_available()
    tr, te = MovingFashionMNIST("train", n=2, seed=0), MovingFashionMNIST("test", n=2, seed=0)
    assert "sklearn:load_digits" in tr.source and "not installed" in tr.source and te.source == tr.source
    assert tr.images.shape[1:] == (28, 28) and tr.images.dtype == np.uint8 and tr.images.max() == 255
    assert len(tr.images) + len(te.images) == 1797  # first / second half of load_digits
    frames, target = tr.arrays()
    assert frames.shape == (2, 10, 1, 64, 64) and 0 <= frames.min() and target.max() <= 1


def test_digits_mode_is_moving_mnist_style():
    ds = MovingFashionMNIST("test", n=2, seed=0, digits=True)
    assert ds.source.startswith("builtin:moving-mnist-style(")
    assert ds.images.shape[1:] == (28, 28)
    border = np.ones((28, 28), bool)
    border[4:24, 4:24] = False
    assert ds.images[:, border].max() == 0  # 20x20 digits centred in 28x28 boxes
    assert set(np.unique(ds.labels)) <= set(range(10))


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        MovingFashionMNIST("val", n=1)
    with pytest.raises(ValueError, match="size"):
        MovingFashionMNIST("test", n=1, size=28)
    with pytest.raises(ValueError):
        MovingFashionMNIST("test", n=1, items=0)


# --------------------------------------------------------------------------- metrics
def test_metrics_exact_values_on_hand_made_frames():
    t = np.zeros((2, 3, 1, 64, 64))
    same = video_metrics(t, t)
    assert same["mse"] == 0 and same["mae"] == 0 and same["psnr"] == math.inf and same["ssim"] == 1.0
    off = video_metrics(t + 0.1, t)
    assert mae_per_frame(t + 0.1, t) == pytest.approx(0.1 * 64 * 64, rel=1e-12) == off["mae"]
    assert mse_per_frame(t + 0.1, t) == pytest.approx(0.01 * 64 * 64, rel=1e-12) == off["mse"]
    assert off["psnr"] == pytest.approx(20.0, abs=1e-9)
    c1 = 0.01 ** 2  # flat frames: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) = C1 / (0.01 + C1)
    assert off["ssim"] == pytest.approx(c1 / (0.01 + c1), rel=1e-9)
    # torch input and a single (T, C, H, W) sequence work the same
    assert mse_per_frame(torch.full((3, 1, 64, 64), 0.1), torch.zeros(3, 1, 64, 64)) == pytest.approx(40.96, rel=1e-6)


def test_mse_sums_pixels_and_psnr_averages_per_frame():
    p = np.zeros((1, 2, 1, 16, 16))
    t = np.zeros_like(p)
    t[0, 0, 0, 3, 4] = 1.0  # one wrong pixel in one of the two frames
    assert mse_per_frame(p, t) == 0.5 and mae_per_frame(p, t) == 0.5  # sum over pixels, mean over frames
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 4, 2, 16, 16)), rng.random((3, 4, 2, 16, 16))
    assert mse_per_frame(a, b) == pytest.approx(np.mean((a - b) ** 2, axis=(0, 1)).sum(), rel=1e-12)  # OpenSTL
    assert mae_per_frame(a, b) == pytest.approx(np.mean(np.abs(a - b), axis=(0, 1)).sum(), rel=1e-12)
    two = np.zeros((1, 2, 1, 16, 16))
    err = two.copy()
    err[0, 0] += 0.1   # 20 dB
    err[0, 1] += 0.01  # 40 dB
    assert video_metrics(err, two)["psnr"] == pytest.approx(30.0, abs=1e-9)  # not 10 log10(1 / pooled MSE)
    with pytest.raises(ValueError, match="shape"):
        mse_per_frame(a, b[:, :3])


# --------------------------------------------------------------------------- copy-last baseline
def test_copy_last_frame_numpy_and_torch():
    x = np.arange(2 * 3 * 1 * 2 * 2, dtype=np.float32).reshape(2, 3, 1, 2, 2)
    y = copy_last_frame(x, 4)
    assert y.shape == (2, 4, 1, 2, 2) and y.dtype == np.float32
    for k in range(4):
        np.testing.assert_array_equal(y[:, k], x[:, -1])
    yt = copy_last_frame(torch.from_numpy(x[0]), 2)
    assert torch.is_tensor(yt) and tuple(yt.shape) == (2, 1, 2, 2)
    np.testing.assert_array_equal(yt.numpy(), np.stack([x[0, -1]] * 2))


def test_copy_last_scores_zero_error_on_a_still_sequence():
    still = np.full((3, 1, 16, 16), 0.4, np.float32)
    still[:, 0, 5:9, 2:12] = 0.9
    data = [{"frames": torch.from_numpy(still), "target": torch.from_numpy(np.concatenate([still, still[:2]]))}] * 2
    s = baseline_scores(data)
    assert s["mse"] == 0 and s["mae"] == 0 and s["psnr"] == math.inf and s["ssim"] == 1.0


def test_baseline_scores_equal_the_metrics_of_copy_last():
    ds = MovingFashionMNIST("test", n=3, seed=0, n_out=3)
    frames, target = ds.arrays()
    expect = video_metrics(copy_last_frame(frames, 3), target)
    got = baseline_scores(ds, batch=2)  # uneven batches accumulate the same means
    assert set(got) == {"mse", "mae", "psnr", "ssim"}
    for k in got:
        assert got[k] == pytest.approx(expect[k], rel=1e-12)
    assert got["mse"] > 0 and 0 < got["ssim"] < 1 and math.isfinite(got["psnr"])
