"""The feature-map mosaic (deeprnn Fig. 3, scs Fig. 2 / 4a): every tile is its frame on its own range."""
import numpy as np
import torch
from PIL import Image

from benchmark.catalogue.tasks.toys import _tile, feature_map_figure
from benchmark.figures import plt


def test_tile_scales_each_frame_to_its_own_range_and_resizes_nearest():
    ramp = np.array([[2.0, 4.0], [6.0, 10.0]])
    got = _tile(ramp, (4, 4), "gray")
    assert got.shape == (4, 4, 3)
    # 2 -> 0, 10 -> 1 (own range), 4 -> 0.25; each pixel becomes a 2 x 2 block
    np.testing.assert_allclose(got[:2, :2], np.broadcast_to(plt.get_cmap("gray")(0.0)[:3], (2, 2, 3)))
    np.testing.assert_allclose(got[2:, 2:], np.broadcast_to(plt.get_cmap("gray")(1.0)[:3], (2, 2, 3)))
    np.testing.assert_allclose(got[0, 2], plt.get_cmap("gray")(0.25)[:3])
    # a constant frame is the colour map's low end, not a division by zero
    np.testing.assert_allclose(_tile(np.full((3, 3), 7.0), (3, 3), "magma"),
                               np.broadcast_to(plt.get_cmap("magma")(0.0)[:3], (3, 3, 3)))


def test_figure_is_one_axes_with_a_row_per_map(tmp_path, monkeypatch):
    seen = {}
    real = plt.subplots

    def spy(*a, **k):
        fig, ax = real(*a, **k)
        seen["axes"] = len(fig.axes)
        seen["labels"] = lambda: [t.get_text() for t in ax.get_yticklabels()]
        seen["image"] = lambda: ax.get_images()[0].get_array()
        return fig, ax

    monkeypatch.setattr(plt, "subplots", spy)
    frames = torch.zeros(8, 1, 8, 8)
    frames[:, :, 0, 0] = 1.0
    maps = {"h": torch.rand(8, 2, 4, 4)}
    out = feature_map_figure([("a", frames, maps), ("b", frames, maps)], tmp_path / "f.png", "t", max_frames=3)
    assert seen["axes"] == 1 and seen["labels"]() == ["a\ninput", "h", "b\ninput", "h"]
    img = np.asarray(seen["image"]())
    assert img.shape == (4 * 8 + 3 * 1, 3 * 8 + 2 * 1, 3)   # 4 rows, 3 frames of 8 px, 1-px gaps
    np.testing.assert_allclose(img[0, 0], [1.0, 1.0, 1.0])  # the input's bright pixel, on its own range
    np.testing.assert_allclose(img[0, 1], [0.0, 0.0, 0.0])
    assert Image.open(out).size == (round(1.3 * 3 * 110), round(1.3 * 4 * 110))  # 1.3 in a frame and a row, dpi 110
