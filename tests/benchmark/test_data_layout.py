"""The pieces the real-data loaders share: layout checks (``benchmark.data.layout``), the skip-corrupt rule
(``video.SkipCorrupt`` / ``SkipCorruptFiles``), ``open_video`` / ``open_image`` and ``register_dataset``."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from benchmark.data import registry
from benchmark.data.layout import (
    Need, Report, first_missing, listed_but_absent, missing_lines, name_first, pick_names, raise_not_found,
    split_train_val,
)
from benchmark.data.video import CorruptVideo, SampleFolders, SkipCorrupt, SkipCorruptFiles, open_image


# ------------------------------------------------------------------------------ first problem of a copy
def test_first_missing_order_hint_fix_and_laziness(tmp_path):
    root = str(tmp_path)
    absent = os.path.join(root, "nope")

    def never():
        raise AssertionError("needs must not be read when ROOT is absent")
        yield  # pragma: no cover

    assert first_missing("Set", absent, "Get it.", never()) == f"Set root directory {absent} does not exist. Get it."
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "deep" / "x").mkdir(parents=True)
    (tmp_path / "deep" / "x" / "lists").mkdir()
    needs = [Need(os.path.join(root, "a.txt")), Need(os.path.join(root, "lists"), folder=True, expected=" (expected L)")]
    assert first_missing("Set", root, "Get it.", needs) == (
        f"missing folder {os.path.join(root, 'lists')} (expected L) (a lists was found at "
        f"{os.path.join(root, 'deep', 'x', 'lists')}: move it to the expected place or fix ROOT). Get it.")
    b = os.path.join(root, "b.txt")
    assert first_missing("Set", root, "Get it.", [Need(b, hint=False, fix="Fix: other")]) == f"missing {b}. Fix: other"
    assert first_missing("Set", root, "Get it.", needs[:1]) is None
    raise_not_found("Set", root, None)
    with pytest.raises(FileNotFoundError, match=r"^Set not found: gone\n  root: /r$"):
        raise_not_found("Set", "/r", "gone")


def test_sample_folders(tmp_path):
    f = SampleFolders("VIDS", "<c>/<v>.avi", "<c>/<v>/*.jpg")
    root = str(tmp_path)
    n = f.need(root, False, "Get it.")
    assert n == Need(os.path.join(root, "VIDS"), folder=True,
                     expected=f" (expected {os.path.join(root, 'VIDS', '<c>/<v>.avi')})", fix="Fix: Get it.")
    assert f.need(root, True, "Get it.").fix == "Fix: extract the frames of every video into it"
    assert not f.only_frames(root)
    (tmp_path / "frames").mkdir()
    assert f.only_frames(root)
    (tmp_path / "VIDS").mkdir()
    assert not f.only_frames(root)


# ------------------------------------------------------------------------------ reports and listings
def test_report_messages_and_run(tmp_path):
    report = Report("Set", "/r", "/r/<x>.png", "somewhere")
    where = "  root: /r\n  expected: /r/<x>.png\n  get: somewhere"
    assert report.message("bad") == f"Set: bad\n{where}"
    assert str(report.not_found("gone")) == f"Set: gone\n{where}"
    absent = str(tmp_path / "absent")
    assert Report("Set", absent, "e", "g").run(absent, lambda root, rep: 1 / 0) == [
        f"Set: folder {absent} not found\n  root: {absent}\n  expected: e\n  get: g"]
    got = Report("Set", "/r", "e", "g").run(str(tmp_path), lambda root, rep: rep.add_all(["one", "two"]))
    assert [p.splitlines()[0] for p in got] == ["Set: one", "Set: two"]


def test_name_first_and_missing_lines():
    assert name_first(list("abc"), str.upper, lambda n: f"+{n}", limit=2) == ["A", "B", "+1"]
    assert name_first(list("ab"), str.upper, lambda n: f"+{n}", limit=2) == ["A", "B"]
    lines = missing_lines([f"p{i}" for i in range(22)], 30, "video", "LISTS", "Get it.")
    assert len(lines) == 21 and lines[0] == "missing video p0 (listed in LISTS); Get it."
    assert lines[-1] == "... and 2 more missing videos (22 of 30)"


def test_split_lists_and_fraction(tmp_path):
    root = str(tmp_path)
    assert split_train_val(root, ["a"], 0.2) == {"train": ["a"], "val": []}
    assert split_train_val(root, ["a", "b"], 0.2) == {"train": ["a"], "val": ["b"]}
    names = [f"s{i}" for i in range(10)]
    assert split_train_val(root, names, 0.2) == {"train": names[:8], "val": names[8:]}
    (tmp_path / "val.txt").write_text("s3\n\n  s9 \nghost\n")
    splits = split_train_val(root, names, 0.2)
    assert splits == {"train": [], "val": ["s3", "s9", "ghost"]}
    assert listed_but_absent(root, splits, names) == [("ghost", os.path.join(root, "val.txt"))]
    assert pick_names("Set", splits, "val", None) == ["s3", "s9", "ghost"]
    assert pick_names("Set", splits, "nope", ("x",)) == ["x"]
    with pytest.raises(ValueError, match=r"^Set split must be one of \['train', 'val'\], got 'test'$"):
        pick_names("Set", splits, "test", None)


# ------------------------------------------------------------------------------ skip-corrupt rule
class _Videos(SkipCorrupt):
    def __init__(self, bad):
        SkipCorrupt.__init__(self)
        self.bad = set(bad)

    def __len__(self):
        return 4

    def _path(self, i):
        return f"v{i}.avi"

    def _load(self, i):
        if i in self.bad:
            raise CorruptVideo(self._path(i), "broken")
        return {"index": i}


class _Windows(SkipCorruptFiles):
    """Sample i reads frames i and i + 1; frame 2 is broken."""

    def __init__(self):
        SkipCorruptFiles.__init__(self)

    def __len__(self):
        return 4

    def _paths(self, i):
        return [f"f{i}.png", f"f{i + 1}.png"]

    def _path(self, i):
        return f"f{i}.png"

    def _load(self, i):
        if 2 in (i, i + 1):
            raise CorruptVideo("f2.png", "unreadable image: junk")
        return {"index": i}


def test_skip_corrupt_video_rule():
    ds = _Videos({1, 2})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert ds[1]["index"] == 3 and ds[-3]["index"] == 3
    assert [str(x.message) for x in w] == ["skipping corrupt video v1.avi: broken", "skipping corrupt video v2.avi: broken"]
    assert all(os.path.basename(x.filename) == "test_data_layout.py" for x in w)   # points at the caller
    assert ds.skipped == {"v1.avi", "v2.avi"} and ds.skipped_count == 2
    with pytest.raises(IndexError, match="index 4 out of range for 4 samples"):
        ds[4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"^all 4 samples are corrupt \(e\.g\. \['v0\.avi', 'v1\.avi', 'v2\.avi'\]\)$"):
            _Videos(range(4))[0]
    with pytest.warns(RuntimeWarning, match="^skipping corrupt video v9.avi: gone$") as w:
        ds._skip("v9.avi", "gone", stacklevel=1)    # 1: the caller of _skip itself (default 2: its caller's caller)
    assert os.path.basename(w[0].filename) == "test_data_layout.py" and ds.skipped_count == 3


def test_skip_corrupt_files_rule():
    ds = _Windows()
    with pytest.warns(RuntimeWarning, match="^skipping corrupt image f2.png: unreadable image: junk$"):
        assert ds[1]["index"] == 3          # 1 and 2 read f2.png
    assert ds.skipped == {"f2.png"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds[2]["index"] == 3          # passed over without loading it again


# ------------------------------------------------------------------------------ readers
def test_open_image_and_open_video(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 512, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptVideo, match=r"junk\.png: unreadable image: UnidentifiedImageError"):
        with open_image(str(junk)):
            pass
    pytest.importorskip("av")
    from benchmark.data.video import open_video, write_video

    bad = tmp_path / "bad.avi"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptVideo, match=r"bad\.avi: InvalidDataError"):
        with open_video(str(bad)):
            pass
    path = write_video(tmp_path / "a.mkv", np.zeros((3, 8, 8, 3), np.uint8), codec="ffv1")
    with open_video(path, threads=True) as (container, stream):
        assert "AUTO" in str(stream.thread_type) and sum(1 for _ in container.decode(stream)) == 3
    with pytest.raises(CorruptVideo, match="IndexError: out"):
        with open_video(path):
            raise IndexError("out")
    with pytest.raises(IndexError):
        with open_video(path, catch_index_error=False):
            raise IndexError("out")


def test_register_dataset():
    info = registry.register_dataset("test-only", "Test", "get", "layout", check=lambda root: [], counts=dict)
    try:
        assert registry.DATASETS["test-only"] is info
        assert (info.name, info.title, info.get, info.layout, info.check("x")) == ("test-only", "Test", "get", "layout", [])
    finally:
        del registry.DATASETS["test-only"]
