import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data.builtin_polygons import BuiltinPolygons, fashion_mnist_available, outer_contour, simplify_polygon
from benchmark.data.cityscapes import CityscapesPolygons, check_layout
from benchmark.data.polygon import (
    CITYSCAPES_CLASSES,
    PolygonDataset,
    collate_polygons,
    quantise_polygon,
    target_to_polygon,
    vertices_to_target,
)


# --------------------------------------------------------------------------- polygon encoding
def test_classes():
    assert CITYSCAPES_CLASSES == ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")


# counter-clockwise on screen, a duplicate cell, last cell == first cell, non-canonical start
RAW = np.array([[5.2, 10.1], [5.9, 10.7], [5.0, 20.5], [20.0, 20.0], [20.0, 5.0], [10.0, 5.0], [5.5, 10.2]])
EXPECTED = [[10, 5], [20, 5], [20, 20], [5, 20], [5, 10]]


def test_quantise_exact():
    v = quantise_polygon(RAW, image_size=28, grid=28, max_vertices=70)
    assert v.dtype == np.int64
    assert v.tolist() == EXPECTED


def test_quantise_scaling_and_clip():
    v = quantise_polygon(RAW * 8, image_size=224, grid=28, max_vertices=70)
    assert v.tolist() == EXPECTED
    sq = np.array([[0, 0], [224, 0], [224, 224], [0, 224]], dtype=float)
    assert quantise_polygon(sq, 224, 28, 70).tolist() == [[0, 0], [27, 0], [27, 27], [0, 27]]


def test_quantise_already_clockwise_start_rotation():
    poly = np.array([[20, 20], [5, 20], [5, 10], [10, 5], [20, 5]], dtype=float)  # clockwise, starts elsewhere
    assert quantise_polygon(poly, 28, 28, 70).tolist() == EXPECTED


def test_quantise_subsample_keeps_order_and_start():
    v = quantise_polygon(RAW, 28, 28, max_vertices=3)
    assert v.tolist() == [[10, 5], [20, 5], [5, 20]]  # indices floor(i * 5 / 3) = 0, 1, 3


def test_quantise_degenerate():
    assert quantise_polygon(np.array([[1.0, 1.0], [5.0, 5.0]]), 28, 28, 70).shape == (0, 2)
    assert quantise_polygon(np.array([[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]]), 28, 28, 70).shape == (0, 2)
    tiny = np.array([[1.1, 1.1], [1.2, 1.3], [1.4, 1.2]]) * 8  # all in one cell
    assert quantise_polygon(tiny, 224, 28, 70).shape == (0, 2)


def test_vertices_to_target_exact():
    t = vertices_to_target(np.array([[10, 5], [20, 5], [20, 20]]), grid=28, max_len=5)
    assert t.dtype == np.int64
    assert t.tolist() == [150, 160, 580, 784, -100, -100]
    assert vertices_to_target(np.array([[1, 2], [3, 4], [5, 6]]), 28, 3).tolist() == [57, 115, 173, 784]
    with pytest.raises(ValueError):
        vertices_to_target(np.array([[1, 2], [3, 4], [5, 6]]), 28, 2)


def test_target_to_polygon_inverse():
    p = target_to_polygon([150, 160, 580, 784, -100, -100], grid=28, image_size=224)
    assert p.tolist() == [[84.0, 44.0], [164.0, 44.0], [164.0, 164.0]]
    assert target_to_polygon(torch.tensor([150, 160, -100, 7]), 28, 224).tolist() == [[84.0, 44.0], [164.0, 44.0]]
    assert target_to_polygon([784, 1, 2], 28, 224).shape == (0, 2)
    v = quantise_polygon(RAW * 8, 224, 28, 70)
    back = target_to_polygon(vertices_to_target(v, 28, 70), 28, 224)
    assert quantise_polygon(back, 224, 28, 70).tolist() == v.tolist()


def test_polygon_dataset_and_collate():
    inst = [
        {"image": np.full((3, 16, 16), 0.5, np.float32), "polygon": RAW.astype(np.float32) / 2,
         "vertices": np.array(EXPECTED, np.int64), "label": 3},
        {"image": np.zeros((3, 16, 16), np.uint8) + 255, "polygon": RAW[:3].astype(np.float32),
         "vertices": np.array(EXPECTED[:3], np.int64), "label": 1},
    ]
    ds = PolygonDataset(inst, image_size=16, grid=28, max_len=6, source="test")
    item = ds[1]
    assert item["image"].dtype == torch.float32 and float(item["image"].max()) == 1.0
    assert item["target"].tolist() == [150, 160, 580, 784, -100, -100, -100]
    assert item["length"] == 3 and item["label"] == 1
    b = collate_polygons([ds[0], ds[1]])
    assert b["image"].shape == (2, 3, 16, 16)
    assert b["target"].shape == (2, 7) and b["target"].dtype == torch.long
    assert b["label"].tolist() == [3, 1] and b["length"].tolist() == [5, 3]
    assert isinstance(b["polygon"], list) and b["polygon"][1].shape == (3, 2)
    fp = ds.fingerprint()
    assert len(fp) == 16 and fp == PolygonDataset(inst, 16, 28, 6).fingerprint()
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_polygons)
    assert next(iter(loader))["image"].shape == (2, 3, 16, 16)


# --------------------------------------------------------------------------- cityscapes fixture
RECT_CAR = [[40, 30], [40, 90], [120, 90], [120, 30]]  # counter-clockwise on screen
# crop box: x 40-12=28 .. 120+12=132, y 30-9=21 .. 90+9=99 -> corners land in cells 3 and 24
RECT_CAR_VERTICES = [[3, 3], [24, 3], [24, 24], [3, 24]]


def _write_city(root, split, city, frame, objects):
    stem = f"{city}_000000_{frame:06d}"
    gdir = root / "gtFine" / split / city
    idir = root / "leftImg8bit" / split / city
    gdir.mkdir(parents=True, exist_ok=True)
    idir.mkdir(parents=True, exist_ok=True)
    with open(gdir / f"{stem}_gtFine_polygons.json", "w") as f:
        json.dump({"imgHeight": 128, "imgWidth": 256, "objects": objects}, f)
    rng = np.random.default_rng(frame)
    Image.fromarray(rng.integers(0, 256, (128, 256, 3), dtype=np.uint8)).save(idir / f"{stem}_leftImg8bit.png")
    return idir / f"{stem}_leftImg8bit.png"


def make_fixture(root, split="val"):
    p1 = _write_city(root, split, "aachen", 19, [
        {"label": "car", "polygon": RECT_CAR},
        {"label": "cargroup", "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]},
        {"label": "person", "polygon": [[200, 20], [230, 60], [220, 120], [190, 120], [180, 60]]},
        {"label": "car", "polygon": [[5, 5], [13, 5], [13, 13], [5, 13]]},  # 8x8: below min_box
        {"label": "bus", "polygon": [[10, 10], [90, 10], [90, 90]], "deleted": 1},
        {"label": "road", "polygon": [[0, 100], [256, 100], [256, 128], [0, 128]]},
    ])
    p2 = _write_city(root, split, "bochum", 7, [
        {"label": "rider", "polygon": [[60, 10], [100, 70], [20, 70]]},
        {"label": "car", "polygon": [[130, 40], [250, 40], [250, 127], [130, 127]]},
    ])
    return p1, p2


def test_cityscapes_fixture(tmp_path):
    make_fixture(tmp_path, "val")
    assert check_layout(tmp_path, "val") == []
    ds = CityscapesPolygons(tmp_path, split="val", image_size=224, grid=28, max_vertices=70)
    assert len(ds) == 4
    names = [CITYSCAPES_CLASSES[i] for i in ds.labels]
    assert names == ["car", "person", "rider", "car"]
    assert ds.source.startswith("cityscapes:")
    assert ds.instances[0]["vertices"].tolist() == RECT_CAR_VERTICES
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (3, 224, 224) and item["image"].dtype == torch.float32
        assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
        v = ds.instances[i]["vertices"]
        assert v.dtype == np.int64 and v.min() >= 0 and v.max() <= 27 and len(v) >= 3
        assert item["length"] == len(v)
        assert item["target"].shape == (71,) and int(item["target"][len(v)]) == 28 * 28
        assert item["polygon"].min() >= 0 and item["polygon"].max() <= 224
    # the rectangle's crop covers the 15%-extended box: polygon corners at 12/104 and 92/104 of the crop
    np.testing.assert_allclose(ds[0]["polygon"][0], [12 / 104 * 224, 9 / 78 * 224], rtol=1e-5)
    lazy = CityscapesPolygons(tmp_path, split="val", lazy=True)
    assert lazy.fingerprint() == ds.fingerprint()
    assert len(CityscapesPolygons(tmp_path, split="val", limit=2)) == 2
    assert len(CityscapesPolygons(tmp_path, split="val", classes=("car",))) == 2


def test_cityscapes_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        CityscapesPolygons(tmp_path / "nowhere", split="val")
    msg = str(e.value)
    assert "gtFine" in msg and "leftImg8bit" in msg and str(tmp_path / "nowhere") in msg
    assert "gtFine_trainvaltest.zip" in msg and "_gtFine_polygons.json" in msg
    assert check_layout(tmp_path / "nowhere", "val")
    make_fixture(tmp_path / "cs", "val")
    with pytest.raises(FileNotFoundError, match="gtFine"):
        CityscapesPolygons(tmp_path / "cs", split="train")


def test_cityscapes_missing_image(tmp_path):
    _, p2 = make_fixture(tmp_path, "val")
    os.remove(p2)
    with pytest.raises(FileNotFoundError) as e:
        CityscapesPolygons(tmp_path, split="val")
    assert str(p2) in str(e.value)
    assert any(str(p2) in p for p in check_layout(tmp_path, "val"))


@pytest.mark.parametrize("lazy", [False, True])
def test_cityscapes_corrupt_image_is_skipped_and_counted(tmp_path, lazy):
    _, p2 = make_fixture(tmp_path, "val")
    p2.write_bytes(b"\x89PNG not really a png")
    with pytest.warns(RuntimeWarning, match="bochum_000000_000007_leftImg8bit.png"):
        ds = CityscapesPolygons(tmp_path, split="val", lazy=lazy)
    assert ds.skipped_count == 1 and ds.skipped == {str(p2)}
    assert [CITYSCAPES_CLASSES[i] for i in ds.labels] == ["car", "person"]  # bochum's rider and car left out
    assert ds[1]["image"].shape == (3, 224, 224)


# --------------------------------------------------------------------------- builtin
def test_contour_and_simplify():
    m = np.zeros((6, 6), bool)
    m[1:4, 2:5] = True
    assert outer_contour(m).tolist() == [[2, 1], [5, 1], [5, 4], [2, 4]]
    m[4, 2] = True  # L shape
    assert outer_contour(m).tolist() == [[2, 1], [5, 1], [5, 4], [3, 4], [3, 5], [2, 5]]
    assert len(simplify_polygon(outer_contour(m), 4)) == 4


@pytest.mark.parametrize("source", ["shapes", "auto"])
def test_builtin_deterministic(source):
    a = BuiltinPolygons("train", n=24, image_size=32, grid=16, max_vertices=10, seed=0, source=source)
    b = BuiltinPolygons("train", n=24, image_size=32, grid=16, max_vertices=10, seed=0, source=source)
    c = BuiltinPolygons("train", n=24, image_size=32, grid=16, max_vertices=10, seed=1, source=source)
    t = BuiltinPolygons("test", n=24, image_size=32, grid=16, max_vertices=10, seed=0, source=source)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert a.fingerprint() != t.fingerprint()
    imgs_a = {a[i]["image"].numpy().tobytes() for i in range(len(a))}
    assert not imgs_a & {t[i]["image"].numpy().tobytes() for i in range(len(t))}
    assert len(a) == 24 and a.image_size == 32 and a.grid == 16 and a.max_len == 10
    for i in range(len(a)):
        item = a[i]
        assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
        assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
        v = a.instances[i]["vertices"]
        assert 3 <= len(v) <= 10 and v.min() >= 0 and v.max() < 16
        assert item["target"].shape == (11,) and int(item["target"][len(v)]) == 256
        assert item["polygon"].min() >= 0 and item["polygon"].max() <= 32
    # prefix property: item i does not depend on n
    small = BuiltinPolygons("train", n=5, image_size=32, grid=16, max_vertices=10, seed=0, source=source)
    assert np.array_equal(small[4]["image"].numpy(), a[4]["image"].numpy())


def test_builtin_source_selection(monkeypatch, tmp_path):
    s = BuiltinPolygons("train", n=8, image_size=32, source="shapes")
    assert s.source == "builtin:shapes" and set(s.labels.tolist()) <= {0, 1, 2, 3}
    auto = BuiltinPolygons("train", n=8, image_size=32, source="auto")
    assert auto.source == ("builtin:fashion-mnist" if fashion_mnist_available() else "builtin:shapes")
    monkeypatch.setenv("BENCHMARK_FASHION_MNIST_DIR", str(tmp_path))
    assert BuiltinPolygons("train", n=8, image_size=32, source="auto").source == "builtin:shapes"
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        BuiltinPolygons("train", n=8, image_size=32, source="fashion-mnist")
    with pytest.raises(ValueError):
        BuiltinPolygons("train", n=8, source="nope")


@pytest.mark.skipif(not fashion_mnist_available(), reason="dataset-fashion-mnist not installed")
def test_builtin_fashion_mnist():
    d = BuiltinPolygons("test", n=16, image_size=64, grid=28, max_vertices=12, source="fashion-mnist")
    assert d.source == "builtin:fashion-mnist" and len(d) == 16
    assert set(d.labels.tolist()) <= set(range(10))
    assert all(3 <= len(i["vertices"]) <= 12 for i in d.instances)
