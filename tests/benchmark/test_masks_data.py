"""A folder of hand-made PNG masks as the polygon test set (--data-root of the polygon experiments)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from benchmark.catalogue import resolve
from benchmark.data import registry
from benchmark.data.masks import MaskPolygons, check_layout
from benchmark.data.polygon import target_to_polygon
from benchmark.metrics_polygon import polygon_iou


def _masks(folder, with_empty=False):
    folder.mkdir()
    shapes = {"a_rectangle": [(10, 20), (50, 20), (50, 40), (10, 40)],
              "b_triangle": [(32, 5), (60, 58), (4, 58)],
              "c_diamond": [(32, 4), (60, 32), (32, 60), (4, 32)]}
    for name, pts in shapes.items():
        im = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(im).polygon(pts, fill=255)
        im.save(folder / f"{name}.png")
    if with_empty:
        Image.new("L", (64, 64), 0).save(folder / "d_empty.png")
    return folder


def test_masks_become_polygons_that_match_their_outlines(tmp_path):
    root = _masks(tmp_path / "masks", with_empty=True)
    with pytest.warns(UserWarning, match="d_empty.png: no object"):
        ds = MaskPolygons(root, image_size=48, grid=12, max_vertices=10)
    assert len(ds) == 3 and ds.skipped_count == 1
    assert [i["file"] for i in ds.instances] == ["a_rectangle.png", "b_triangle.png", "c_diamond.png"]
    # a rectangle's outline simplifies to exactly its 4 corners; a staircase-edged triangle keeps the vertex
    # budget (Visvalingam-Whyatt stops at max_vertices), as the built-in silhouettes do
    assert len(ds.instances[0]["polygon"]) == 4 and len(ds.instances[1]["polygon"]) == 10
    rect = ds.instances[0]["polygon"]
    w, h = rect[:, 0].max() - rect[:, 0].min(), rect[:, 1].max() - rect[:, 1].min()
    # the 40x20 rectangle's box plus margin is resized to a square crop (not aspect-preserving, as the
    # built-in data and Cityscapes crops are): the rectangle fills it about equally in x and y
    assert w / h == pytest.approx(1.0, rel=0.15) and 0.6 * 48 < w < 48
    for i in range(len(ds)):
        inst = ds.instances[i]
        # the ground-truth polygon covers the object as rendered in the crop (alpha = the image's object)
        gt = inst["polygon"]
        on_grid = target_to_polygon(ds.target(i), ds.grid, ds.image_size)
        assert polygon_iou(on_grid, gt, ds.image_size) > 0.7  # the 12x12 grid loses a little, never the shape
        item = ds[i]
        assert item["image"].shape == (3, 48, 48)


def test_check_names_what_is_wrong(tmp_path):
    assert check_layout(_masks(tmp_path / "ok")) == []
    (tmp_path / "none").mkdir()
    assert "no *.png files" in check_layout(tmp_path / "none")[0]
    (tmp_path / "black").mkdir()
    Image.new("L", (32, 32), 0).save(tmp_path / "black" / "x.png")
    assert "none of the 1 PNG masks has an object" in check_layout(tmp_path / "black")[0]
    assert registry.get("masks").counts(str(tmp_path / "ok")) == {"test": 3}


def test_a_polygon_grid_with_a_mask_folder_trains_builtin_and_tests_on_the_masks(tmp_path):
    from benchmark.train.polygon import build

    root = _masks(tmp_path / "masks")
    cfgs = resolve("deeprnn.table6").runs("smoke", 1, str(root))
    assert {c.dataset for c in cfgs} == {"masks"} and {c.data_root for c in cfgs} == {str(root)}
    _, train, test, _ = build(cfgs[0])
    assert train.source.startswith("builtin:") and test.source == f"masks:{root}"
    assert len(test) == 3
    # the paper scale reads Cityscapes from --data-root, never masks
    assert {c.dataset for c in resolve("deeprnn.table6").runs("paper", 1, str(root))} == {"cityscapes"}
