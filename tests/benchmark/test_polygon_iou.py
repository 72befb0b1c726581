import numpy as np
import pytest

from benchmark.metrics_polygon import polygon_iou, rasterise


def square(x0, y0, w):
    return np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + w], [x0, y0 + w]], dtype=np.float64)


def test_identical_squares():
    assert polygon_iou(square(10, 10, 100), square(10, 10, 100), 224) == 1.0
    assert polygon_iou(square(10.3, 20.7, 57.1), square(10.3, 20.7, 57.1), 224) == 1.0


def test_offset_squares_one_third():
    assert polygon_iou(square(10, 10, 100), square(60, 10, 100), 224) == pytest.approx(1 / 3, abs=0.01)


def test_disjoint():
    assert polygon_iou(square(0, 0, 100), square(120, 0, 100), 224) == 0.0


def test_quarter_area_contained():
    assert polygon_iou(square(0, 0, 100), square(25, 25, 50), 224) == pytest.approx(0.25, abs=0.01)
    assert polygon_iou(square(25, 25, 50), square(0, 0, 100), 224) == pytest.approx(0.25, abs=0.01)


def test_order_and_orientation_do_not_matter():
    sq = square(10, 10, 100)
    assert polygon_iou(sq[::-1], sq, 224) == 1.0


def test_degenerate():
    sq = square(0, 0, 100)
    assert polygon_iou(sq[:2], sq, 224) == 0.0
    assert polygon_iou(np.zeros((0, 2)), sq, 224) == 0.0
    assert polygon_iou([], [], 224) == 0.0
    assert polygon_iou(sq[:2], sq[:2], 224) == 0.0


def test_rasterise_shape_and_area():
    m = rasterise(square(0, 0, 100), 224, scale=4)
    assert m.shape == (896, 896) and m.dtype == bool
    assert m.sum() / 16 == pytest.approx(100 * 100, rel=0.01)
    tri = np.array([[0, 0], [100, 0], [0, 100]])
    assert rasterise(tri, 224).sum() / 16 == pytest.approx(5000, rel=0.01)
    assert not rasterise(tri[:2], 224).any()
    assert rasterise(square(0, 0, 10), 16, scale=1).shape == (16, 16)
