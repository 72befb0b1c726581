"""Real-data video loaders (UCF-101, HMDB-51, Kinetics-400, KTH) on tiny fixtures in the real layouts,
with real encoded videos written by PyAV, plus decoding and per-video augmentation."""
import os
import time
import warnings

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")

from benchmark.data import hmdb51, kinetics, kth, ucf101  # noqa: E402
from benchmark.data.augment import (  # noqa: E402
    VideoAugment, clip_indices, clip_starts, first_frames, resize_shorter, whole_video,
)
from benchmark.data.registry import get, load_all  # noqa: E402
from benchmark.data.video import (  # noqa: E402
    CorruptVideo, count_frames, read_frames_dir, read_video, write_video,
)

H, W = 24, 32


def frames_for(seed: int, T: int = 8) -> np.ndarray:
    """(T, 24, 32, 3) uint8: a smooth seed-dependent image whose brightness grows with t."""
    y, x = np.mgrid[0:H, 0:W]
    base = (40 + 3 * x + 2 * y + 10 * seed) % 160
    img = np.stack([base, (base + 30) % 160, (base * 2) % 160], axis=-1)
    return np.stack([img + 8 * t for t in range(T)]).astype(np.uint8)


def corrupt(path) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return str(path)


def iterate_all(ds):
    """Every item once, collecting the warnings the skip mechanism emits."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        items = [ds[i] for i in range(len(ds))]
    return items, [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]


# ------------------------------------------------------------------------------ decoding
def test_read_video_round_trip(tmp_path):
    fr = frames_for(1, T=12)
    for name, codec in (("a.avi", "mpeg4"), ("a.mp4", "mpeg4"), ("a.mkv", "ffv1")):
        p = write_video(tmp_path / name, fr, codec=codec)
        v = read_video(p)
        assert v.shape == (12, H, W, 3) and v.dtype == np.uint8
        assert count_frames(p) == 12 and count_frames(p, decode=True) == 12
        if codec == "ffv1":  # lossless
            assert np.array_equal(v, fr)
        else:  # mpeg4 yuv420p is lossy on this busy 32x24 pattern: per-frame brightness, in order
            assert np.abs(v.mean(axis=(1, 2, 3)) - fr.mean(axis=(1, 2, 3))).max() < 3
            assert np.median(np.abs(v.astype(int) - fr.astype(int))) <= 4
    v = read_video(tmp_path / "a.mkv", start=3, stride=2, max_frames=3)
    assert np.array_equal(v, fr[[3, 5, 7]])
    assert read_video(tmp_path / "a.mkv", max_frames=2).shape[0] == 2
    bad = corrupt(tmp_path / "bad.avi")
    with pytest.raises(CorruptVideo, match="bad.avi"):
        read_video(bad)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CorruptVideo, match="empty.mp4"):
        read_video(tmp_path / "empty.mp4")
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "nope.avi")


def test_read_frames_dir_natural_order(tmp_path):
    from PIL import Image

    fr = frames_for(2, T=11)
    d = tmp_path / "vid"
    d.mkdir()
    for t in range(11):
        Image.fromarray(fr[t]).save(d / f"img_{t + 1}.png")
    v = read_frames_dir(d, "*.png")
    assert np.array_equal(v, fr)  # img_2 before img_10
    assert np.array_equal(read_frames_dir(d), fr)  # pattern None: first of jpg / jpeg / png
    assert count_frames(d) == 11
    (d / "img_12.png").write_bytes(b"not a png")
    with pytest.raises(CorruptVideo, match="img_12.png"):
        read_frames_dir(d, "*.png")


# ------------------------------------------------------------------------------ sampling / augmentation
def test_sampling_helpers():
    assert clip_starts(30, 10, 0.25).tolist() == [0, 7, 15, 20]
    assert clip_starts(30, 10, 0.25, cover_end=False).tolist() == [0, 7, 15]
    assert clip_starts(40, 10, 0.5).tolist() == [0, 5, 10, 15, 20, 25, 30]
    assert clip_starts(8, 10).tolist() == [0]
    ci = clip_indices(30, 10, 0.25)
    assert ci.shape == (4, 10) and ci[-1].tolist() == list(range(20, 30))
    assert whole_video(5).tolist() == [0, 1, 2, 3, 4]
    assert first_frames(50).tolist() == [0, 1] and first_frames(1).tolist() == [0, 0]


def test_augment_shares_crop_flip_colour():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 200, (40, 50, 3)).astype(np.uint8)
    T = 6
    frames = np.stack([base + t for t in range(T)])  # frame t = base + t: crop/flip identifiable
    c = 16
    seen_flips = set()
    for seed in range(12):
        aug = VideoAugment(crop=c, colour=False, shorter=None, generator=np.random.default_rng(seed))
        out = aug(frames)
        p = aug.last_params
        seen_flips.add(p["flip"])
        assert out.shape == (T, c, c, 3)
        expect = base[p["y0"]:p["y0"] + c, p["x0"]:p["x0"] + c]
        if p["flip"]:
            expect = expect[:, ::-1]
        for t in range(T):  # every frame: the same window and the same flip
            assert np.array_equal(out[t].astype(int) - t, expect.astype(int))
        # and that window is the only one of base that matches frame 0
        hits = [(y, x, f) for y in range(40 - c + 1) for x in range(50 - c + 1) for f in (False, True)
                if np.array_equal((base[y:y + c, x:x + c][:, ::-1] if f else base[y:y + c, x:x + c]), out[0])]
        assert hits == [(p["y0"], p["x0"], p["flip"])]
    assert seen_flips == {False, True}
    # colour: identical frames stay identical (one brightness/contrast/saturation draw per video)
    same = np.repeat(base[None], 4, axis=0)
    aug = VideoAugment(crop=c, shorter=None, generator=np.random.default_rng(3))
    out = aug(same)
    assert all(aug.last_params[k] != 1.0 for k in ("brightness", "contrast", "saturation"))
    assert all(np.array_equal(out[0], out[t]) for t in range(4))
    # test mode: centre crop, no flip, no colour
    test = VideoAugment(crop=c, train=False, shorter=None)(frames)
    assert np.array_equal(test, frames[:, 12:28, 17:33])
    # resize to shorter side 368, then a 224 crop
    big = resize_shorter(np.zeros((2, 240, 320, 3), np.uint8), 368)
    assert big.shape == (2, 368, 491, 3)
    assert VideoAugment(generator=np.random.default_rng(0))(np.zeros((2, 240, 320, 3), np.uint8)).shape == (2, 224, 224, 3)


# ------------------------------------------------------------------------------ UCF-101
UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "HandstandPushups"]


def make_ucf(root, frames_too=False):
    """3 classes x 2 groups x 2 clips; split s: group 1 of every class is test, group 2 train.
    The official HandstandPushups/v_HandStandPushups_... spelling is kept.  One train video corrupt."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(UCF_CLASSES)))
    train, test = [], []
    k = 0
    for ci, c in enumerate(UCF_CLASSES):
        stem_cls = "HandStandPushups" if c == "HandstandPushups" else c
        for g in (1, 2):
            for clip in (1, 2):
                entry = f"{c}/v_{stem_cls}_g{g:02d}_c{clip:02d}.avi"
                path = root / "UCF-101" / entry
                if (ci, g, clip) == (1, 2, 2):
                    corrupt(path)
                else:
                    write_video(path, frames_for(k, T=8))
                if frames_too:
                    from PIL import Image

                    d = root / "frames" / c / f"v_{stem_cls}_g{g:02d}_c{clip:02d}"
                    d.mkdir(parents=True)
                    for t, f in enumerate(frames_for(k, T=5)):
                        Image.fromarray(f).save(d / f"image_{t + 1:05d}.jpg")
                k += 1
                (train.append(f"{entry} {ci + 1}\r\n") if g == 2 else test.append(f"{entry}\r\n"))
    for s in (1, 2, 3):
        (lists / f"trainlist0{s}.txt").write_text("".join(train))
        (lists / f"testlist0{s}.txt").write_text("".join(test) + "\n")
    return root


def test_ucf101(tmp_path):
    root = make_ucf(tmp_path / "ucf", frames_too=True)
    assert ucf101.check_layout(root) == []
    assert ucf101._counts(root) == {f"{sub}{s}": 6 for s in (1, 2, 3) for sub in ("train", "test")}
    assert ucf101.read_class_index(root) == UCF_CLASSES
    ds = ucf101.UCF101(root, split=1, subset="train")
    assert len(ds) == 6 and ds.labels == [0, 0, 1, 1, 2, 2] and ds.classes == tuple(UCF_CLASSES)
    items, warned = iterate_all(ds)
    assert ds.skipped_count == 1 and ds.skipped == {str(root / "UCF-101/Archery/v_Archery_g02_c02.avi")}
    assert len(warned) == 1 and "v_Archery_g02_c02.avi" in warned[0]
    assert items[3]["video"].endswith("v_HandStandPushups_g02_c01.avi")  # the next valid sample
    assert items[3]["index"] == 4 and items[3]["label"] == 2
    x = items[0]
    assert x["frames"].shape == (8, 3, H, W) and x["frames"].dtype == torch.uint8 and x["label"] == 0
    # a known corrupt path is passed over without a second warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds[3]["index"] == 4
    test = ucf101.UCF101(root, split=2, subset="test", sampling="first", as_float=True,
                         transform=VideoAugment(crop=16, shorter=None, generator=np.random.default_rng(0)))
    y = test[0]
    assert len(test) == 6 and y["frames"].shape == (2, 3, 16, 16) and y["frames"].dtype == torch.float32
    fr = ucf101.UCF101(root, subset="train", frames=True)
    assert len(fr) == 6 and fr[3]["frames"].shape == (5, 3, H, W) and fr.skipped_count == 0
    # the registry sees it
    assert get("ucf101").check(str(root)) == [] and get("ucf101").counts(str(root))["test1"] == 6


def test_ucf101_dataloader_workers(tmp_path):
    """Batches through a 2-worker DataLoader: the corrupt video is replaced inside the worker, and the
    per-worker re-seeded augmentation is reproducible under torch.manual_seed."""
    root = make_ucf(tmp_path / "ucf")
    ds = ucf101.UCF101(root, subset="train", sampling="first",
                       transform=VideoAugment(crop=8, shorter=None, generator=np.random.default_rng(0)))

    def run():
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return list(loader)

    batches = run()
    assert [b["frames"].shape for b in batches] == [(3, 2, 3, 8, 8)] * 2
    assert batches[1]["index"].tolist() == [4, 4, 5]  # 3 is the corrupt one -> 4
    assert all(torch.equal(a["frames"], b["frames"]) for a, b in zip(batches, run()))


def test_ucf101_wrong_layout(tmp_path):
    root = make_ucf(tmp_path / "ucf")
    os.rename(root / "ucfTrainTestlist", root / "lists")
    problems = ucf101.check_layout(root)
    assert len(problems) == 1
    assert str(root / "ucfTrainTestlist" / "classInd.txt") in problems[0] and "crcv.ucf.edu" in problems[0]
    with pytest.raises(FileNotFoundError, match="classInd.txt"):
        ucf101.UCF101(root)
    os.rename(root / "lists", root / "ucfTrainTestlist")
    os.remove(root / "UCF-101/Archery/v_Archery_g01_c01.avi")
    problems = ucf101.check_layout(root)
    assert len(problems) == 1 and problems[0].startswith(
        f"missing video {root / 'UCF-101/Archery/v_Archery_g01_c01.avi'}")
    with pytest.warns(RuntimeWarning, match="1 of 6 listed samples are missing"):
        assert len(ucf101.UCF101(root, subset="test")) == 5


# ------------------------------------------------------------------------------ HMDB-51
def make_hmdb(root):
    """2 classes x 6 videos; split 1 marks 1,1,2,2,0,1 (train 3, test 2, unused 1) per class,
    split 2 / 3 all train but one test.  One marked-train video is corrupt."""
    sdir = root / "testTrainMulti_7030_splits"
    sdir.mkdir(parents=True)
    k = 0
    for cls in ("brush_hair", "cartwheel"):
        names = [f"{cls}_video#{i}_f_nm_np1_fr_med_{i}.avi" for i in range(6)]
        for i, n in enumerate(names):
            if cls == "cartwheel" and i == 1:
                corrupt(root / "hmdb51" / cls / n)
            else:
                write_video(root / "hmdb51" / cls / n, frames_for(k, T=10))
            k += 1
        marks = {1: [1, 1, 2, 2, 0, 1], 2: [1, 1, 1, 1, 1, 2], 3: [2, 1, 1, 1, 1, 1]}
        for s, m in marks.items():
            (sdir / f"{cls}_test_split{s}.txt").write_text("".join(f"{n} {x} \n" for n, x in zip(names, m)))
    return root


def test_hmdb51(tmp_path):
    root = make_hmdb(tmp_path / "hmdb")
    assert hmdb51.check_layout(root) == []
    assert hmdb51._counts(root) == {"train1": 6, "test1": 4, "unused1": 2, "train2": 10, "test2": 2, "unused2": 0,
                                    "train3": 10, "test3": 2, "unused3": 0}
    ds = hmdb51.HMDB51(root, split=1, subset="train")
    assert len(ds) == 6 and ds.labels == [0, 0, 0, 1, 1, 1] and ds.classes == ("brush_hair", "cartwheel")
    items, warned = iterate_all(ds)
    assert ds.skipped_count == 1 and len(warned) == 1 and "cartwheel_video#1" in warned[0]
    assert items[4]["video"].endswith("cartwheel_video#5_f_nm_np1_fr_med_5.avi")
    assert items[0]["frames"].shape == (10, 3, H, W)
    assert len(hmdb51.HMDB51(root, split=1, subset="test")) == 4
    assert len(hmdb51.HMDB51(root, split=1, subset="unused")) == 2
    os.remove(root / "testTrainMulti_7030_splits" / "cartwheel_test_split2.txt")
    problems = hmdb51.check_layout(root)
    assert len(problems) == 1 and str(root / "testTrainMulti_7030_splits" / "cartwheel_test_split2.txt") in problems[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert str(empty / "testTrainMulti_7030_splits") in hmdb51.check_layout(empty)[0]


# ------------------------------------------------------------------------------ Kinetics-400
K_LABELS = ["abseiling", "passing American football (in game)"]


def make_kinetics(root):
    """train: 2 labels x 3 rows (one clip missing, one corrupt); validate: 2 rows.  The second label
    uses the spaces->underscores folder, to check both folder spellings."""
    ann = root / "annotations"
    ann.mkdir(parents=True)
    rows = {"train": [], "val": []}
    k = 0
    for subset, n in (("train", 3), ("val", 1)):
        for li, label in enumerate(K_LABELS):
            folder = label if li == 0 else label.replace(" ", "_")
            for i in range(n):
                yid = f"yt{subset}{li}{i}-_x"
                t0, t1 = 10 * i + 3, 10 * i + 13
                rows[subset].append(f'"{label}",{yid},{t0},{t1},{subset}' + (",0" if subset == "train" else ""))
                path = root / subset / folder / f"{yid}_{t0:06d}_{t1:06d}.mp4"
                if subset == "train" and (li, i) == (0, 1):
                    continue  # missing clip (deleted from YouTube)
                if subset == "train" and (li, i) == (1, 0):
                    corrupt(path)
                else:
                    write_video(path, frames_for(k, T=9))
                k += 1
    (ann / "train.csv").write_text("label,youtube_id,time_start,time_end,split,is_cc\n" + "\n".join(rows["train"]) + "\n")
    (ann / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\n" + "\n".join(rows["val"]) + "\n")
    return root


def test_kinetics(tmp_path):
    root = make_kinetics(tmp_path / "k400")
    assert kinetics.clip_name("abc", 3, 13) == "abc_000003_000013.mp4"
    with pytest.warns(RuntimeWarning, match=r"train: 1 of 6 clips missing"):
        assert kinetics.check_layout(root) == []
    strict = kinetics.check_layout(root, strict=True)
    assert strict == [f"missing clip {root / 'train' / 'abseiling' / 'yttrain01-_x_000013_000023.mp4'}"]
    assert kinetics._counts(root) == {"train": 5, "train_missing": 1, "val": 2, "val_missing": 0}
    with pytest.warns(RuntimeWarning, match="1 of 6 clips missing"):
        ds = kinetics.Kinetics400(root, "train")
    assert len(ds) == 5 and ds.labels == [0, 0, 1, 1, 1] and ds.classes == tuple(K_LABELS)
    assert len(ds.missing) == 1
    items, warned = iterate_all(ds)
    assert ds.skipped_count == 1 and len(warned) == 1 and "yttrain10-_x_000003_000013.mp4" in warned[0]
    assert items[2]["video"].endswith("yttrain11-_x_000013_000023.mp4") and items[2]["frames"].shape == (9, 3, H, W)
    val = kinetics.Kinetics400(root, "val", sampling="first")
    assert len(val) == 2 and val[1]["label"] == 1 and val[1]["frames"].shape == (2, 3, H, W)
    # no clip at all: a problem naming the first expected clip
    for p in (root / "val").rglob("*.mp4"):
        os.remove(p)
    problems = kinetics.check_layout(root, subsets=("val",))
    assert len(problems) == 1 and str(root / "val" / "abseiling" / "ytval00-_x_000003_000013.mp4") in problems[0]
    os.remove(root / "annotations" / "validate.csv")
    assert str(root / "annotations" / "validate.csv") in kinetics.check_layout(root)[0]


# ------------------------------------------------------------------------------ KTH
SEQ_HEADER = "Subdivision of KTH sequences\n\nperson-action-scenario   frames\n-----\n\n"


def make_kth(root):
    """Persons 1, 2 (train under MCnet), 17 (test); boxing d1 / walking d2; 12-16 frames each.
    person02_walking_d2 is corrupt; person17_boxing_d1's second range runs past the video end."""
    lines = []
    k = 0
    for person in (1, 2, 17):
        for action, d in (("boxing", 1), ("walking", 2)):
            name = f"person{person:02d}_{action}_d{d}"
            T = 16 if person != 17 else 12
            ranges = "1-6, 7-16" if person != 17 else "1-5,\t 8-14"
            lines.append(f"{name}\t\tframes\t{ranges}")
            path = root / action / f"{name}_uncomp.avi"
            if name == "person02_walking_d2":
                corrupt(path)
            else:
                write_video(path, frames_for(k, T=T))
            k += 1
    for action in kth.ACTIONS:
        (root / action).mkdir(parents=True, exist_ok=True)
    lines.append("person13_handclapping_d3\t\tframes\t1-100")  # officially absent: not reported
    (root / "00sequences.txt").write_text(SEQ_HEADER + "\n".join(lines) + "\n")
    return root


def test_kth(tmp_path):
    root = make_kth(tmp_path / "kth")
    seqs = kth.parse_sequences(root / "00sequences.txt")
    assert len(seqs) == 7
    assert seqs["person17_boxing_d1"] == {"person": 17, "action": "boxing", "scenario": 1, "ranges": [(1, 5), (8, 14)]}
    assert kth.check_layout(root) == []
    assert kth.PROTOCOLS["mcnet"] == {"train": tuple(range(1, 17)), "test": tuple(range(17, 26))}
    ds = kth.KTH(root, "train", size=16, n_in=2, n_out=3)
    # ranges (1-6, 7-16), window 5, step 5: starts 0 | 6, 11 -> 3 windows per video, 4 videos
    assert len(ds) == 12 and [it["start"] for it in ds.items[:3]] == [0, 6, 11]
    assert len(ds.sequences()) == 4 and ds.sequences()[0][1] == [(1, 6), (7, 16)]
    items, warned = iterate_all(ds)
    assert ds.skipped_count == 1 and len(warned) == 1 and "person02_walking_d2_uncomp.avi" in warned[0]
    x = items[0]
    assert x["frames"].shape == (5, 1, 16, 16) and x["inputs"].shape == (2, 1, 16, 16)
    assert x["targets"].shape == (3, 1, 16, 16) and x["frames"].dtype == torch.float32
    assert 0.0 <= float(x["frames"].min()) and float(x["frames"].max()) <= 1.0
    assert x["label"] == 0 and x["person"] == 1 and x["range"] == (1, 6)
    assert float(x["frames"][4].mean()) > float(x["frames"][0].mean())  # brightness grows with t
    test = kth.KTH(root, "test", size=(12, 16), n_in=2, n_out=3)
    # person17: ranges 1-5 (one window), 8-14 (one window, start 7): 2 per video
    assert len(test) == 4 and [it["start"] for it in test.items[:2]] == [0, 7]
    y = test[1]
    assert y["frames"].shape == (5, 1, 12, 16) and y["start"] == 7  # 12 frames: 7..11 fit
    long = kth.KTH(root, "test", size=8, n_in=3, n_out=4)
    assert [it["range"] for it in long.items] == [(8, 14), (8, 14)]
    assert long[0]["start"] == 5  # 8-14 runs past the 12-frame video: window shifted to end at frame 12
    rnd = kth.KTH(root, "train", size=8, n_in=2, n_out=3, random_start=True, generator=np.random.default_rng(0))
    assert len(rnd) == 8 and 6 <= rnd[1]["start"] <= 11
    assert kth.KTH(root, "val", protocol="schuldt", size=8, n_in=2, n_out=3).items[0]["person"] == 1
    assert kth._counts(root) == {"train": 0, "train_videos": 4, "test": 0, "test_videos": 2}
    os.remove(root / "boxing" / "person01_boxing_d1_uncomp.avi")
    problems = kth.check_layout(root)
    assert len(problems) == 1 and problems[0].startswith(f"missing video {root / 'boxing' / 'person01_boxing_d1_uncomp.avi'}")
    os.rename(root / "00sequences.txt", root / "sequences.txt")
    assert str(root / "00sequences.txt") in kth.check_layout(root)[0]


# ------------------------------------------------------------------------------ registry + throughput
def test_registry_has_video_sets(tmp_path):
    names = set(load_all())
    assert {"ucf101", "hmdb51", "kinetics", "kth"} <= names
    for n in ("ucf101", "hmdb51", "kinetics", "kth"):
        info = get(n)
        problems = info.check(str(tmp_path / "absent"))
        assert len(problems) == 1 and str(tmp_path / "absent") in problems[0]


VTEST = [p for p in ("/usr/share/doc/opencv-doc/examples/data/vtest.avi",
                     "/tmp/ocv/usr/share/doc/opencv-doc/examples/data/vtest.avi") if os.path.isfile(p)]


def test_decode_throughput(tmp_path, capsys):
    """A measurement, not an assertion: PyAV decode + rgb24 conversion frames per second."""
    if VTEST:
        path, n = VTEST[0], 300
    else:
        rng = np.random.default_rng(0)
        path, n = write_video(tmp_path / "bench.avi", rng.integers(0, 255, (120, 240, 320, 3), dtype=np.uint8)), 120
    t0 = time.perf_counter()
    v = read_video(path, max_frames=n)
    dt = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n[decode] {os.path.basename(path)} {v.shape[2]}x{v.shape[1]}: {len(v)} frames in {dt:.2f} s "
              f"= {len(v) / dt:.0f} frames/s (PyAV {av.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})")
    assert len(v) == n
