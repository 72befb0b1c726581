"""Real-layout fixtures for the 300VW, NVGesture, comma.ai, LiVi-Set and radar loaders and the data CLI.

Every fixture is written in the data set's real format (PyAV-encoded .avi, h5py HDF5, .pts text,
PNG/JPEG images) and holds one corrupt file (random bytes) that must be skipped with a warning.
"""
from __future__ import annotations

import os
import warnings
from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("av")
h5py = pytest.importorskip("h5py")

from benchmark.data import commaai, livi, nvgesture, radar, vw300  # noqa: E402
from benchmark.data.__main__ import main, readme_section  # noqa: E402
from benchmark.data.video import write_video  # noqa: E402


def _junk(path, n=2048, seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())


def _flat_video(path, levels, h=32, w=32):
    """A real .avi whose frame i is the constant grey ``levels[i]`` (survives mpeg4 within a few levels)."""
    frames = np.stack([np.full((h, w, 3), v, np.uint8) for v in levels])
    write_video(path, frames, fps=25)


def _cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _levels(sample_frames):
    return [round(float(f.mean()) * 255) for f in sample_frames]


# ----------------------------------------------------------------------------------------- 300VW
def _pts_points(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(0, 500, (68, 2)), 3)


def _write_pts(path, pts, n_points=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = "".join(f"{x:.3f} {y:.3f}\n" for x, y in pts)
    with open(path, "w") as f:
        f.write(f"version: 1\nn_points:  {n_points or len(pts)}\n{{\n{body}}}\n")


@pytest.fixture(scope="module")
def vw_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("300vw")
    for vid, n in (("001", 6), ("114", 4), ("203", 3)):
        for k in range(1, n + 1):
            _write_pts(root / vid / "annot" / f"{k:06d}.pts", _pts_points(int(vid) * 100 + k))
        if vid == "203":
            _junk(str(root / vid / "vid.avi"))
        else:
            _flat_video(str(root / vid / "vid.avi"), [40 * k for k in range(n)])
    return root


def test_vw300_split_lists_are_standard():
    assert (len(vw300.TRAIN_IDS), len(vw300.TEST1_IDS), len(vw300.TEST2_IDS), len(vw300.TEST3_IDS)) == (50, 31, 19, 14)
    every = set(vw300.TRAIN_IDS) | set(vw300.SPLITS["test"])
    assert len(every) == 114 and "001" in vw300.TRAIN_IDS and "114" in vw300.TEST1_IDS and "562" in vw300.TEST3_IDS


def test_pts_parse_exact_and_interocular(tmp_path):
    pts = _pts_points(7)
    _write_pts(tmp_path / "a.pts", pts)
    got = vw300.read_pts(tmp_path / "a.pts")
    assert got.shape == (68, 2) and np.array_equal(got, pts)   # exact decimal values
    (tmp_path / "b.pts").write_text("version: 1\nn_points: 2\n{\n1.5 2.25\n-3 4e1\n}\n")
    assert vw300.read_pts(tmp_path / "b.pts").tolist() == [[1.5, 2.25], [-3.0, 40.0]]
    _write_pts(tmp_path / "c.pts", pts, n_points=67)
    with pytest.raises(ValueError, match="c.pts"):
        vw300.read_pts(tmp_path / "c.pts")
    lm = np.zeros((2, 68, 2))
    lm[:, 36] = (10, 20)     # point 37 (1-based): right eye outer corner
    lm[:, 45] = (40, 60)     # point 46 (1-based): left eye outer corner
    assert np.allclose(vw300.interocular_distance(lm), 50.0)
    assert np.allclose(vw300.normalised_mean_error(lm + np.array([3.0, 4.0]), lm), 0.1)


def test_vw300_clips_landmarks_and_corrupt(vw_root):
    ds = vw300.VW300(vw_root, "train", clip_len=3)
    assert len(ds) == 2
    s = ds[1]
    assert s["frames"].shape == (3, 3, 32, 32) and s["video"] == "001"
    assert s["frame_numbers"].tolist() == [4, 5, 6]
    assert all(abs(a - b) <= 4 for a, b in zip(_levels(s["frames"]), [120, 160, 200]))
    expect = np.stack([_pts_points(100 + k) for k in (4, 5, 6)]).astype(np.float32)
    assert np.array_equal(s["landmarks"].numpy(), expect)
    assert np.allclose(s["interocular"].numpy(), vw300.interocular_distance(expect), rtol=1e-5)
    small = vw300.VW300(vw_root, "train", clip_len=2, size=(16, 8))[0]
    assert small["frames"].shape == (2, 3, 16, 8)
    assert np.allclose(small["landmarks"].numpy(), np.stack([_pts_points(101), _pts_points(102)]) * [8 / 32, 16 / 32], rtol=1e-5)

    ds = vw300.VW300(vw_root, ids=["203", "114"])       # 203's vid.avi is random bytes
    with pytest.warns(RuntimeWarning, match=r"203.vid\.avi"):
        s = ds[0]
    assert s["video"] == "114" and s["frames"].shape[0] == 4
    assert ds.skipped_count == 1 and ds.skipped == {os.path.join(str(vw_root), "203", "vid.avi")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds[0]["video"] == "114"                   # passed over silently the second time
    with pytest.raises(FileNotFoundError, match="vid.avi"):
        vw300.VW300(vw_root, "test3")


def test_vw300_cli(vw_root, tmp_path, capsys):
    rc, out, _ = _cli(capsys, "check", "vw300", "--root", str(vw_root))
    assert rc == 0 and "train: 1" in out and "test1: 1" in out and "test2: 1" in out
    (tmp_path / "001" / "annot").mkdir(parents=True)
    rc, out, _ = _cli(capsys, "check", "vw300", "--root", str(tmp_path))
    assert rc == 1 and os.path.join(str(tmp_path), "001", "vid.avi") in out.splitlines()[0]
    assert "ibug.doc.ic.ac.uk" in out


# ----------------------------------------------------------------------------------------- NVGesture
@pytest.fixture(scope="module")
def nv_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("nvgesture")
    _flat_video(str(root / "Video_data/class_01/subject1_r0/sk_color.avi"), [20 * k for k in range(12)])
    _flat_video(str(root / "Video_data/class_13/subject2_r1/sk_color.avi"), [100] * 5)
    _junk(str(root / "Video_data/class_25/subject1_r2/sk_color.avi"), seed=1)
    (root / nvgesture.LIST_FILES["train"]).write_text(
        "path:./Video_data/class_01/subject1_r0 depth:sk_depth:2:6 color:sk_color:3:7 duo_left:duo_left:4:9 label:1\n"
        "path:./Video_data/class_25/subject1_r2 depth:sk_depth:0:3 color:sk_color:0:3 duo_left:duo_left:0:3 label:25\r\n")
    (root / nvgesture.LIST_FILES["test"]).write_text(
        "path:./Video_data/class_13/subject2_r1 depth:sk_depth:1:4 color:sk_color:1:4 duo_left:duo_left:1:4 label:13\n\n")
    return root


def test_nvgesture_list_parse_exact():
    e = nvgesture.parse_list_line("path:./Video_data/class_01/subject13_r0 depth:sk_depth:138:218 "
                                  "color:sk_color:138:218 duo_left:duo_left:161:250 label:1")
    assert e == {"path": "./Video_data/class_01/subject13_r0", "label": 0, "depth": ("sk_depth", 138, 218),
                 "color": ("sk_color", 138, 218), "duo_left": ("duo_left", 161, 250)}
    with pytest.raises(ValueError, match="label 26"):
        nvgesture.parse_list_line("path:./x color:sk_color:1:2 label:26")


def test_nvgesture_frames_labels_and_corrupt(nv_root):
    ds = nvgesture.NVGesture(nv_root, "train")
    assert len(ds) == 2 and ds.labels == [0, 24]
    s = ds[0]
    assert s["label"] == 0 and (s["start"], s["end"]) == (3, 7) and s["frames"].shape == (4, 3, 32, 32)
    assert all(abs(a - b) <= 4 for a, b in zip(_levels(s["frames"]), [60, 80, 100, 120]))   # frames 3..6
    assert nvgesture.NVGesture(nv_root, "train", end_inclusive=True)[0]["frames"].shape[0] == 5
    assert nvgesture.NVGesture(nv_root, "train", max_frames=2, size=(8, 16))[0]["frames"].shape == (2, 3, 8, 16)
    with pytest.warns(RuntimeWarning, match="class_25"):
        s = ds[1]                                       # corrupt -> next valid sample (wraps to 0)
    assert s["index"] == 0 and ds.skipped_count == 1
    t = nvgesture.NVGesture(nv_root, "test")
    assert len(t) == 1 and t[0]["label"] == 12 and t[0]["frames"].shape[0] == 3


def test_nvgesture_cli(nv_root, tmp_path, capsys):
    rc, out, _ = _cli(capsys, "check", "nvgesture", "--root", str(nv_root))
    assert rc == 0 and "train: 2" in out and "test: 1" in out
    (tmp_path / nvgesture.LIST_FILES["train"]).write_text((nv_root / nvgesture.LIST_FILES["train"]).read_text())
    rc, out, _ = _cli(capsys, "check", "nvgesture", "--root", str(tmp_path))
    first = out.splitlines()[0]
    assert rc == 1 and os.path.join(str(tmp_path), "Video_data", "class_01", "subject1_r0", "sk_color.avi") in first
    os.remove(tmp_path / nvgesture.LIST_FILES["train"])
    rc, out, _ = _cli(capsys, "check", "nvgesture", "--root", str(tmp_path))
    assert rc == 1 and os.path.join(str(tmp_path), nvgesture.LIST_FILES["train"]) in out.splitlines()[0]


# ----------------------------------------------------------------------------------------- comma.ai
TRAIN_DRIVE, VAL_DRIVE, BAD_DRIVE = "2016-01-30--11-24-51", "2016-06-02--21-39-29", "2016-02-02--10-16-58"


def _drive(root, name, n, ptr, steer, speed):
    os.makedirs(root / "camera", exist_ok=True)
    os.makedirs(root / "log", exist_ok=True)
    x = np.zeros((n, 3, 160, 320), np.uint8)
    for i in range(n):
        x[i] = 10 * (i + 1)
    with h5py.File(root / "camera" / f"{name}.h5", "w") as f:
        f.create_dataset("X", data=x)
    with h5py.File(root / "log" / f"{name}.h5", "w") as f:
        f.create_dataset("cam1_ptr", data=np.asarray(ptr, np.float64))
        f.create_dataset("steering_angle", data=np.asarray(steer, np.float64))
        f.create_dataset("speed", data=np.asarray(speed, np.float64))
        f.create_dataset("times", data=np.arange(len(ptr), dtype=np.float64) / 100)


@pytest.fixture(scope="module")
def comma_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("commaai")
    # frame 0 <- rows 0,1; frame 1 <- rows 2,3,4; frame 2 <- none; frame 3 <- rows 5,6; frame 4 <- row 7
    _drive(root, TRAIN_DRIVE, 5, [0, 0.0, 1, 1, 1, 3, 3, 4], [1, 3, 2, 4, 6, 10, 20, -5], [5, 7, 1, 1, 1, 2, 4, 9])
    _drive(root, VAL_DRIVE, 3, [0, 1, 2, 2], [0.5, 1.5, 2, 4], [1, 1, 1, 1])
    _drive(root, BAD_DRIVE, 3, [0, 1, 2], [1, 1, 1], [1, 1, 1])
    _junk(str(root / "camera" / f"{BAD_DRIVE}.h5"), seed=2)
    return root


def test_comma_alignment_hand_numbers():
    means, counts = commaai.align_to_frames([0, 0, 1, 1, 1, 3, 3, 7.0], [1, 3, 2, 4, 6, 10, 20, 99], 5)
    assert counts.tolist() == [2, 3, 0, 2, 0]           # the row pointing at frame 7 of 5 is ignored
    assert means[[0, 1, 3]].tolist() == [2.0, 4.0, 15.0] and np.isnan(means[2]) and np.isnan(means[4])


def test_comma_sequences_and_corrupt(comma_root):
    with pytest.warns(RuntimeWarning, match=BAD_DRIVE):
        ds = commaai.CommaAI(comma_root, "train", observed=2)
    assert ds.skipped_count == 1 and ds.names == [TRAIN_DRIVE]
    assert len(ds) == 3                                 # ends 1, 3, 4 (frame 2 has no log row)
    got = [(ds[i]["frame"], float(ds[i]["steering"]), float(ds[i]["speed"])) for i in range(len(ds))]
    assert got == [(1, 4.0, 1.0), (3, 15.0, 3.0), (4, -5.0, 9.0)]
    s = ds[1]
    assert s["frames"].shape == (2, 3, 160, 320)
    assert [round(float(f.mean()) * 255) for f in s["frames"]] == [30, 40]   # frames 2, 3 (oldest first)
    with pytest.warns(RuntimeWarning, match=BAD_DRIVE):
        c = commaai.CommaAI(comma_root, "train", observed=2, crop=(60, 0, 100, 320), size=(64, 192))[0]
    assert c["frames"].shape == (2, 3, 64, 192)
    v = commaai.CommaAI(comma_root, "val", observed=1)
    assert [float(v[i]["steering"]) for i in range(len(v))] == [0.5, 1.5, 3.0]


def test_comma_cli(comma_root, tmp_path, capsys):
    rc, out, _ = _cli(capsys, "check", "commaai", "--root", str(comma_root))
    assert rc == 1 and BAD_DRIVE in out.splitlines()[0]       # the corrupt camera file is reported
    (tmp_path / "camera").mkdir()
    rc, out, _ = _cli(capsys, "check", "commaai", "--root", str(tmp_path))
    assert rc == 1 and os.path.join(str(tmp_path), "log") in out.splitlines()[0]
    good = tmp_path / "good"
    _drive(good, TRAIN_DRIVE, 5, [0, 0.0, 1, 1, 1, 3, 3, 4], [1, 3, 2, 4, 6, 10, 20, -5], [5, 7, 1, 1, 1, 2, 4, 9])
    _drive(good, VAL_DRIVE, 9, list(range(9)), [0.0] * 9, [1.0] * 9)
    rc, out, _ = _cli(capsys, "check", "commaai", "--root", str(good))
    assert rc == 0 and "train: 0" in out and "val: 3" in out    # observed=7 by default


# ----------------------------------------------------------------------------------------- LiVi-Set
def _image(path, value, size=(24, 16)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path, quality=95)


@pytest.fixture()
def livi_root(tmp_path):
    root = tmp_path / "livi"
    a = root / "seq01"
    for fr, v in (("8", 20), ("9", 60), ("10", 100), ("12", 140), ("13", 150), ("14", 160), ("15", 170)):
        # "11" is labelled, its image missing
        _image(str(a / "images" / f"{fr}.jpg"), v)
    (a / "labels.csv").write_text("frame,steering_angle,speed,road_type\n"
                                  "10.jpg,-2.5,30,curve road\n12,4,31,straight\n8,1.25,28,crossroads\n"
                                  "9,0.5,29,T_junction\n11,3,30,\n13,0,30,\n15,0,30,\n14,0,30,\n")
    b = root / "seq02"
    for k in (1, 2, 4):
        _image(str(b / "images" / f"f{k}.png"), 50 * k)
    _junk(str(b / "images" / "f3.png"), seed=3)
    (b / "labels.txt").write_text("f1 0.5 10\nf2 -1 11\nf3 2 12\nf4 3.5 13\n")
    return root


def test_livi_labels_sequences_road_types(livi_root):
    rows = livi.read_labels(livi_root / "seq01" / "labels.csv")
    assert [r["frame"] for r in rows] == ["8", "9", "10", "11", "12", "13", "14", "15"]   # natural order
    assert [r["road_type"] for r in rows] == [0, 1, 2, -1, 3, -1, -1, -1]
    assert livi.split_sequences(livi_root) == {"train": ["seq01"], "val": ["seq02"]}
    ds = livi.LiViSet(livi_root, "train", observed=2)
    assert len(ds) == 5                                  # (8,9) (9,10) | (12,13) (13,14) (14,15): 11 breaks it
    s = ds[1]
    assert s["frame"] == "10" and float(s["steering"]) == -2.5 and float(s["speed"]) == 30 and s["road_type"] == 2
    assert s["frames"].shape == (2, 3, 16, 24) and all(abs(a - b) <= 3 for a, b in zip(_levels(s["frames"]), [60, 100]))
    assert ds.road_types.tolist() == [1, 2, -1, -1, -1]
    assert [ds[i]["frame"] for i in range(2, 5)] == ["13", "14", "15"]
    assert len(livi.LiViSet(livi_root, "train", observed=2, road_types=["curve"])) == 1
    assert livi.LiViSet(livi_root, "train", observed=1, size=(8, 12))[0]["frames"].shape == (1, 3, 8, 12)


def test_livi_corrupt_image_skipped(livi_root):
    ds = livi.LiViSet(livi_root, "val", observed=2)
    assert len(ds) == 3 and ds[0]["road_type"] == -1
    with pytest.warns(RuntimeWarning, match=r"f3\.png"):
        s = ds[1]                                        # (f2, f3) and (f3, f4) use the corrupt f3 -> wrap to 0
    assert s["index"] == 0 and float(s["steering"]) == -1.0
    assert ds.skipped == {os.path.join(str(livi_root), "seq02", "images", "f3.png")} and ds.skipped_count == 1


def test_livi_cli(livi_root, capsys):
    rc, out, _ = _cli(capsys, "check", "livi", "--root", str(livi_root))
    assert rc == 1 and os.path.join(str(livi_root), "seq01", "images", "11.jpg") in out.splitlines()[0]
    _image(str(livi_root / "seq01" / "images" / "11.jpg"), 120)
    rc, out, _ = _cli(capsys, "check", "livi", "--root", str(livi_root))
    assert rc == 0 and "train: 2" in out and "val: 0" in out     # observed=7 by default: seq02 too short
    os.remove(livi_root / "seq02" / "labels.txt")
    rc, out, _ = _cli(capsys, "check", "livi", "--root", str(livi_root))
    assert rc == 1 and os.path.join(str(livi_root), "seq02", "labels.csv") in out.splitlines()[0]


# ----------------------------------------------------------------------------------------- radar
def _echo(path, k, seed=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    z = (50 + 2 * k + np.arange(20 * 30).reshape(20, 30) % 7).astype(np.uint8)   # min 50+2k, max 56+2k
    Image.fromarray(z, mode="L").save(path)


@pytest.fixture(scope="module")
def radar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("radar")
    ev = root / "20180605"
    times = [datetime(2018, 6, 5, 12, 0) + timedelta(minutes=6 * i) for i in range(12)]   # 12:00 .. 13:06
    times += [datetime(2018, 6, 5, 13, 18), datetime(2018, 6, 5, 13, 24)]   # after a 12-minute gap
    order = np.random.default_rng(4).permutation(len(times))
    for j, i in enumerate(order):                        # written shuffled, mtimes anti-chronological
        p = ev / (times[i].strftime("%Y%m%d%H%M") + ".png")
        _echo(str(p), i)
        os.utime(p, (2_000_000_000 - 60 * i, 2_000_000_000 - 60 * i))
    _junk(str(ev / "201806051200.png"), seed=5)          # the first map is corrupt
    for i in range(10):
        _echo(str(root / "20180606" / f"2018060600{6 * i:02d}.png"), i)
    return root


def test_radar_timestamps_gaps_and_order(radar_root):
    assert radar.parse_timestamp("201806051230.png") == datetime(2018, 6, 5, 12, 30)
    assert radar.parse_timestamp("201813051230.png") is None and radar.parse_timestamp("notes.png") is None
    maps = radar.echo_maps(radar_root, "20180605")
    assert [t for t, _ in maps] == sorted(t for t, _ in maps)
    mtimes = [os.path.getmtime(p) for _, p in maps[1:]]
    assert mtimes == sorted(mtimes, reverse=True)        # file times disagree with the order used
    assert [len(r) for r in radar.time_runs(maps, 6)] == [12, 2]
    ds = radar.RadarEcho(radar_root, "train")            # 5 in + 5 out; the 2-map run gives none
    assert len(ds) == 3
    assert len(radar.RadarEcho(radar_root, "train", n_in=2, n_out=1)) == 10
    assert len(radar.RadarEcho(radar_root, "train", interval_minutes=12)) == 0
    s = ds[1]
    assert s["input"].shape == (5, 1, 20, 30) and s["target"].shape == (5, 1, 20, 30)
    assert s["times"] == [f"20180605{12 + (6 * i) // 60:02d}{(6 * i) % 60:02d}" for i in range(1, 11)]
    assert float(s["input"].min()) == 0.0 and float(s["input"].max()) == 1.0        # per-image min-max
    raw = radar.RadarEcho(radar_root, "train", normalise=False, crop=(0, 0, 10, 10), size=(5, 5))[1]
    assert raw["input"].shape == (5, 1, 5, 5) and float(raw["input"][0].min()) >= 50 + 2 * 1


def test_radar_corrupt_map_skipped(radar_root):
    ds = radar.RadarEcho(radar_root, "train")
    with pytest.warns(RuntimeWarning, match="201806051200.png"):
        s = ds[0]
    assert s["index"] == 1 and ds.skipped_count == 1
    v = radar.RadarEcho(radar_root, "val")
    assert len(v) == 1 and v[0]["times"][0] == "201806060000"


def test_radar_cli(radar_root, tmp_path, capsys):
    rc, out, _ = _cli(capsys, "check", "radar", "--root", str(radar_root))
    assert rc == 0 and "train: 3" in out and "val: 1" in out
    rc, out, _ = _cli(capsys, "check", "radar", "--root", str(tmp_path))
    assert rc == 1 and os.path.join(str(tmp_path), "<event>", "<YYYYMMDDHHMM>.png") in out.splitlines()[0]


# ----------------------------------------------------------------------------------------- CLI
def test_cli_unknown_list_and_readme(capsys):
    rc, out, err = _cli(capsys, "check", "no-such-set", "--root", "/nowhere")
    assert rc == 2 and "vw300" in err and "radar" in err
    rc, out, _ = _cli(capsys, "list")
    assert rc == 0
    for name in ("vw300", "nvgesture", "commaai", "livi", "radar"):
        assert f"{name}:" in out
    md = readme_section()
    assert md.startswith("## Data sets") and "### NVGesture" in md and "ROOT/camera/<name>.h5" in md
