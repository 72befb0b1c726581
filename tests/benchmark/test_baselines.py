"""Trivial baselines (benchmark/baselines.py): at smoke scale every task's baseline keys are keys its evaluate
returns (checked against the real evaluate of the real net, built without pre-training), the test sets do
not depend on the run seed, nothing is pre-trained; on hand-built data sets the exact values."""
from __future__ import annotations

import dataclasses
import importlib
import hashlib
import math

import numpy as np
import pytest
import torch

from benchmark import baselines as bl
from benchmark.catalogue import resolve
from benchmark.config import RunConfig
from benchmark.data.builtin_sequences import _Frames
from benchmark.metrics import ced_auc
from benchmark.train import action, gesture, landmarks, nowcast, polygon, prediction, sequence, steering, subgoal

# one smoke experiment per task (two for sequence: per-sequence labels and per-frame gap distances)
SMOKE = ("deeprnn.table6", "deeprnn.fig3", "deeprnn.fig5", "deeprnn.table1", "scs.table3", "deeprnn.table4",
         "scs.table7", "prernn.table2", "scs.table5", "prernn.table4")


@pytest.fixture(autouse=True)
def fresh_cache():
    bl.clear_cache()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the training loop runs a config (threads=1); more only spin on a busy machine
    yield
    torch.set_num_threads(threads)
    bl.clear_cache()


def _smoke(exp: str) -> RunConfig:
    return resolve(exp).runs("smoke", 1, None)[0]


def _without_pretraining(cfg: RunConfig) -> RunConfig:
    """The same run with a randomly initialised net: no stand-in or pre-training run to build first."""
    return dataclasses.replace(cfg, model_kw={k: v for k, v in cfg.model_kw.items() if k != "pretrained"},
                               data_kw={k: v for k, v in cfg.data_kw.items() if k != "pretrain"})


def _digest(ds) -> str:
    """Hash of every value of every item of a data set."""
    h = hashlib.sha256()

    def add(v):
        if isinstance(v, dict):
            for k in sorted(v):
                h.update(str(k).encode())
                add(v[k])
        elif isinstance(v, torch.Tensor):
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(v, np.ndarray):
            h.update(np.ascontiguousarray(v).tobytes())
        else:
            h.update(repr(v).encode())

    for i in range(len(ds)):
        add(ds[i])
    return h.hexdigest()


def _not_a_baseline(task: str, key: str) -> bool:
    """evaluate keys that get no baseline (documented in the module): ASTSGD's q, the steering counts and
    scale, the gesture CTC loss."""
    return (key.startswith("astsgd_") or key == "angle_scale" or "_n_" in key
            or (task == "gesture" and key == "test_loss"))


# ------------------------------------------------------------------------------------------- smoke scale
@pytest.mark.parametrize("exp", SMOKE)
def test_smoke_baselines_cover_the_keys_evaluate_returns(exp, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))
    cfg = _smoke(exp)
    base = bl.trivial_baselines(cfg)
    assert not (tmp_path / "cache").exists()  # no stand-in pre-training, no flow cache
    for value, what in base.values():
        assert isinstance(value, float) and isinstance(what, str) and what

    # the keys of the real evaluate of the real net on the same test set
    task = importlib.import_module(f"benchmark.train.{cfg.task}")  # the task's module: its datasets too
    run = _without_pretraining(cfg)
    torch.manual_seed(0)
    model, _, test_set, _ = task.build(run)
    keys = set(task.evaluate(model, test_set, run))
    assert set(base) == {k for k in keys if not _not_a_baseline(cfg.task, k)}

    # the run seed changes neither the test set nor the result (cached: one entry for both seeds)
    assert _digest(task.datasets(dataclasses.replace(cfg, seed=7))[1]) == _digest(task.datasets(cfg)[1])
    assert bl.trivial_baselines(dataclasses.replace(cfg, seed=7)) == base
    assert len(bl._CACHE) == 1


def test_unknown_task_is_refused():
    cfg = dataclasses.replace(_smoke("deeprnn.fig3"), task="nope")
    with pytest.raises(ValueError, match="no trivial baseline for task 'nope'"):
        bl.trivial_baselines(cfg)


def test_pick_takes_the_best_in_each_metrics_direction():
    cands = {"a": {"acc": 10.0, "err": 3.0, "x": float("nan")}, "b": {"acc": 20.0, "err": 5.0, "x": 1.0},
             "c": {"acc": 20.0}}
    out = bl._pick(cands, lambda k: k == "err")
    assert out == {"acc": (20.0, "b"), "err": (3.0, "a"), "x": (1.0, "b")}


# ------------------------------------------------------------------------------------------- polygon
def _polygon_set(polys, size=32, grid=8, max_len=6):
    from benchmark.data.polygon import PolygonDataset, quantise_polygon

    inst = [{"image": np.zeros((3, size, size), np.float32), "polygon": np.asarray(p, np.float32),
             "vertices": quantise_polygon(np.asarray(p), size, grid, max_len), "label": 0} for p in polys]
    return PolygonDataset(inst, size, grid, max_len)


def _polygon_cfg(name):
    return RunConfig(experiment="test", scale="smoke", task="polygon", model="x", batch_size=2,
                     data_kw={"case": name})


def test_polygon_every_mask_the_same_rectangle_gives_iou_100(monkeypatch):
    # a rectangle whose 4x raster (PIL fills its boundary: pixels 32..95 x 32..79) is whole 16-pixel cells
    # of the 8 x 8 grid: the mean training mask is exactly it
    rect = [(8, 8), (23.75, 8), (23.75, 19.75), (8, 19.75)]
    train, test = _polygon_set([rect] * 3), _polygon_set([rect] * 5)
    monkeypatch.setattr(polygon, "datasets", lambda cfg: (train, test))
    out = bl.trivial_baselines(_polygon_cfg("same rectangle"))
    assert out["test_iou"] == (100.0, "mean training mask on the 8x8 grid (thresholded at 0.5)")
    # test_loss: every training target equals every test target, so at every step (vertices and end
    # token) the add-one frequency of the right token is (3 + 1) / (3 + 65): loss = log(68 / 4)
    value, what = out["test_loss"]
    assert value == pytest.approx(math.log(17.0), rel=1e-6)
    assert what == "per-step training token frequencies (add-one smoothed)"


def test_polygon_objects_filling_the_crop_frame_give_iou_100_for_the_fixed_rectangle(monkeypatch):
    from benchmark.data.cityscapes import EXTEND

    size = 32
    lo, hi = size * EXTEND / (1 + 2 * EXTEND), size * (1 + EXTEND) / (1 + 2 * EXTEND)
    box = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)]
    corner = [(0, 0), (8, 0), (8, 8), (0, 8)]  # training objects elsewhere: the mean masks miss the test boxes
    monkeypatch.setattr(polygon, "datasets", lambda cfg: (_polygon_set([corner] * 2), _polygon_set([box] * 3)))
    value, what = bl.trivial_baselines(_polygon_cfg("box"))["test_iou"]
    assert value == 100.0 and what.startswith("fixed rectangle")


# ------------------------------------------------------------------------------------------- sequence
class _Seq(_Frames):
    def __init__(self, labels, num_classes, max_gap=None):
        labels = np.asarray(labels, np.int64)
        T = labels.shape[1] if labels.ndim == 2 else 3
        self.frames = np.zeros((len(labels), T, 1, 4, 4), np.float32)
        self.labels, self.num_classes, self.source = labels, num_classes, "hand-built"
        if max_gap is not None:
            self.max_gap = max_gap


def _seq_cfg(name):
    return RunConfig(experiment="test", scale="smoke", task="sequence", model="x", data_kw={"case": name})


def test_sequence_majority_class_and_chance(monkeypatch):
    monkeypatch.setattr(sequence, "datasets", lambda cfg: (_Seq([1, 1, 2, 0], 3), _Seq([1, 0, 1, 1, 2], 3)))
    out = bl.trivial_baselines(_seq_cfg("majority"))
    assert out["test_acc"] == (100.0 * float(np.float32(3 / 5)), "majority training class (1)")
    assert out["test_acc_bn_running"] == out["test_acc"]
    # the majority class never occurs at test: chance (1/3) is the better trivial score
    monkeypatch.setattr(sequence, "datasets", lambda cfg: (_Seq([2, 2, 0], 3), _Seq([0, 1, 1], 3)))
    assert bl.trivial_baselines(_seq_cfg("chance"))["test_acc"] == (100.0 / 3, "chance (1 / 3 classes)")


def test_sequence_gap_distances(monkeypatch):
    # classes: 0 = odd frame not seen yet (distance -1), d + 1 = distance d; max_gap 3 (5 classes)
    # training distances -1 0 1 2 -1 -1 0 1: most common -1, median 0; after the odd frame 0 1 2 0 1:
    # most common 0, median 1. Test distances -1 0 1 2.
    train = _Seq([[0, 1, 2, 3], [0, 0, 1, 2]], 5, max_gap=3)
    test = _Seq([[0, 1, 2, 3]], 5, max_gap=3)
    monkeypatch.setattr(sequence, "datasets", lambda cfg: (train, test))
    out = bl.trivial_baselines(_seq_cfg("gap"))
    # exact distance: every constant hits one frame of four (25%) > chance 20%; ties go to the first listed
    assert out["test_acc"] == (25.0, "constant distance = most common over the training frames (-1)")
    # distances 0..9 (0, 1, 2): constant -1 errs 2, constant 0 errs 1, constant 1 errs 2/3
    value, what = out["err_gap_0_9"]
    assert value == pytest.approx(2 / 3, rel=1e-6)
    assert what == "constant distance = median over the training frames after the odd one (1)"
    assert set(out) == {"test_acc", "err_gap_0_9", "test_acc_bn_running", "err_gap_0_9_bn_running"}


# ------------------------------------------------------------------------------------------- action / subgoal
class _Labels:
    def __init__(self, labels, num_classes):
        self.base = type("Base", (), {"labels": list(labels)})()
        self.num_classes = num_classes


def test_action_majority_class_and_class_prior(monkeypatch):
    seen = []

    def fake(cfg):
        seen.append(cfg.data_kw["modality"])
        return _Labels([2, 2, 2, 0, 1], 4), _Labels([2, 0, 2, 2], 4)

    monkeypatch.setattr(action, "datasets", fake)
    cfg = RunConfig(experiment="test", scale="smoke", task="action", model="x", data_kw={"modality": "flow"})
    out = bl.trivial_baselines(cfg)
    assert seen == ["rgb"]  # the labels without computing any flow
    assert out["test_acc"] == (75.0, "majority training class (2)")
    assert out["test_atcp"] == (75.0, "majority training class (2)")
    # add-one class frequencies (1+1, 1+1, 3+1, 0+1) / 9; test labels 2 0 2 2
    value, what = out["test_loss"]
    assert value == pytest.approx(-(3 * math.log(4 / 9) + math.log(2 / 9)) / 4, rel=1e-6)
    assert what == "training class frequencies (add-one smoothed)"


def test_subgoal_chance_when_the_majority_class_is_absent(monkeypatch):
    monkeypatch.setattr(subgoal, "datasets", lambda cfg: (_Labels([1, 1, 0], 4), _Labels([0, 2, 3, 3], 4)))
    cfg = RunConfig(experiment="test", scale="smoke", task="subgoal", model="standalone17_cbm",
                    model_kw={"width": 2}, data_kw={"case": "chance"})
    out = bl.trivial_baselines(cfg)
    assert out["test_acc"] == (25.0, "chance (1 / 4 classes)")
    assert out["test_acc_bn_batch"] == (25.0, "chance (1 / 4 classes)")
    assert "test_acc_spatial" not in out  # not an SCS net: evaluate reports no spatial stream
    assert out["test_loss"] == (pytest.approx(math.log(4), rel=1e-6), "uniform over the 4 classes")


# ------------------------------------------------------------------------------------------- frames
def _pred_cfg(name):
    return RunConfig(experiment="test", scale="smoke", task="prediction", model="x", data_kw={"case": name})


def test_prediction_copy_last_frame_on_a_static_video_is_perfect(monkeypatch):
    frame = torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0))
    items = [{"inputs": frame.expand(3, 1, 16, 16), "targets": frame.expand(4, 1, 16, 16)} for _ in range(2)]
    monkeypatch.setattr(prediction, "datasets", lambda cfg: (None, items))
    out = bl.trivial_baselines(_pred_cfg("static"))
    steps = {f"{m}_T{k}" for m in ("psnr", "ssim") for k in range(1, 5)}
    assert set(out) == {"test_mse", "psnr_avg", "ssim_avg"} | steps
    assert out["test_mse"] == (0.0, "copy the last observed frame")
    for k in range(1, 5):
        assert out[f"psnr_T{k}"][0] == math.inf and out[f"ssim_T{k}"][0] == 1.0
    assert out["psnr_avg"][0] == math.inf and out["ssim_avg"][0] == 1.0


def test_prediction_copy_last_frame_when_the_scene_changes(monkeypatch):
    x = torch.cat([torch.zeros(2, 1, 16, 16), torch.full((1, 1, 16, 16), 0.25)])   # last observed: 0.25
    items = [{"inputs": x, "targets": torch.full((2, 1, 16, 16), 0.75)}]
    monkeypatch.setattr(prediction, "datasets", lambda cfg: (None, items))
    out = bl.trivial_baselines(_pred_cfg("change"))
    assert out["test_mse"][0] == 0.25
    assert out["psnr_avg"][0] == pytest.approx(10 * math.log10(4.0), rel=1e-12)
    c1, c2 = 0.01 ** 2, 0.03 ** 2   # flat images: SSIM = (2 mu_x mu_y + C1) C2 / ((mu_x^2 + mu_y^2 + C1) C2)
    assert out["ssim_T1"][0] == pytest.approx((2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1), rel=1e-9)


def test_nowcast_persistence_scores_by_hand(monkeypatch):
    last = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])   # hit 1, miss 1, false alarm 1
    items = [{"inputs": torch.stack([torch.zeros(2, 2), last])[:, None], "targets": target[None, None]}]
    monkeypatch.setattr(nowcast, "datasets", lambda cfg: (None, items))
    cfg = RunConfig(experiment="test", scale="smoke", task="nowcast", model="x", data_kw={"case": 1})
    out = bl.trivial_baselines(cfg)
    assert {k: v for k, (v, _) in out.items()} == pytest.approx(
        {"test_mse": 0.5, "test_csi": 1 / 3, "test_far": 0.5, "test_pod": 0.5, "test_cor": 0.5}, rel=1e-8)
    assert {w for _, w in out.values()} == {"persistence: the last observed map"}


# ------------------------------------------------------------------------------------------- landmarks
class _Faces:
    """Built-in-like landmark set: ``landmarks`` (N, T, 68, 2) px and ``frames`` (N, T, 1, S, S) arrays."""

    def __init__(self, shapes, T=2, size=64):
        self.landmarks = np.stack([np.repeat(s[None], T, 0) for s in shapes]).astype(np.float32)
        self.frames = np.zeros((len(shapes), T, 1, size, size), np.float32)

    def __len__(self):
        return len(self.landmarks)

    def __getitem__(self, i):
        lm = torch.from_numpy(self.landmarks[i])
        return {"frames": torch.from_numpy(self.frames[i]), "landmarks": lm,
                "interocular": (lm[:, 36] - lm[:, 45]).norm(dim=-1)}


def test_landmarks_mean_training_shape(monkeypatch):
    a = np.stack([np.arange(68) % 17 + 20, np.arange(68) // 17 + 10], 1).astype(np.float64)
    a[36], a[45] = (20, 32), (40, 32)                  # outer eye corners 20 px apart
    b = a + (2, 0)                                       # the same face 2 px to the right
    monkeypatch.setattr(landmarks, "datasets", lambda cfg: (_Faces([a, b]), _Faces([a, a, a])))
    cfg = RunConfig(experiment="test", scale="smoke", task="landmarks", model="x", batch_size=2,
                    data_kw={"case": 1})
    out = bl.trivial_baselines(cfg)
    # the mean shape is a + (1, 0): every point 1 px off, 1/20 of the inter-ocular distance
    assert out["test_nme"] == (pytest.approx(0.05, rel=1e-12), "the mean training shape in every frame")
    assert out["test_failure"][0] == 0.0
    assert out["test_auc"][0] == ced_auc(np.full(6, 0.05), landmarks.MAX_ERROR)
    # l2 objective on normalised coordinates (2 x / 64 - 1): 68 x-errors of 2/64 per frame
    assert out["test_loss"][0] == pytest.approx(68 * (2 / 64) ** 2, rel=1e-6)


# ------------------------------------------------------------------------------------------- steering
class _Windows:
    def __init__(self, angles, road=3):
        self._angles, self.road = list(angles), road

    def __len__(self):
        return len(self._angles)

    def angles(self):
        return np.asarray(self._angles, np.float64)

    def __getitem__(self, i):
        return {"frames": torch.zeros(2, 1, 2, 2), "steering": torch.tensor(float(self._angles[i])),
                "road_type": self.road}


def test_steering_constant_angle(monkeypatch):
    scale = 5.0
    # training angles 0 0 12: mean 4, median 0; every test angle is 4
    monkeypatch.setattr(steering, "datasets", lambda cfg: (steering.Labelled(_Windows([0, 0, 12]), scale),
                                                          steering.Labelled(_Windows([4, 4, 4, 4]), scale)))
    cfg = RunConfig(experiment="test", scale="smoke", task="steering", model="steer_cnn", data_kw={"case": 1})
    out = bl.trivial_baselines(cfg)
    assert out["test_acc_l3"] == (100.0, "mean training angle (4 deg)")
    assert out["test_acc_l3_straight"] == (100.0, "mean training angle (4 deg)")
    assert out["test_mse"] == (0.0, "mean training angle (4 deg)")
    assert out["test_rmse_deg"][0] == pytest.approx(0.0, abs=1e-5)
    assert not any(k.startswith(("t1_", "t2_")) or "_n_" in k for k in out)   # steer_cnn: no streams


# ------------------------------------------------------------------------------------------- gesture
class _Gestures:
    def __init__(self, targets):
        k = max(len(t) for t in targets)
        self.base = type("Base", (), {"targets": np.array([list(t) + [0] * (k - len(t)) for t in targets])})()


def test_gesture_most_common_training_sequence(monkeypatch):
    cfg = RunConfig(experiment="test", scale="smoke", task="gesture", model="x", data_kw={"case": 1})
    monkeypatch.setattr(gesture, "datasets", lambda cfg: (_Gestures([[1, 2], [1, 2], [3]]),
                                                         _Gestures([[1, 2], [3], [1, 2], [2]])))
    assert bl.trivial_baselines(cfg) == {"test_acc": (50.0, "the most common training label sequence [1, 2]")}
    bl.clear_cache()
    monkeypatch.setattr(gesture, "datasets",
                        lambda cfg: (_Gestures([[2], [2], [1]]), _Gestures([[2], [1], [2], [2]])))
    out = bl.trivial_baselines(cfg)
    assert out == {"test_acc": (75.0, "the most common training label sequence [2]"),
                   "test_acc_avg": (75.0, "the most common training gesture (2)")}


def test_gesture_targets_are_the_ones_the_clips_carry():
    cfg = _smoke("prernn.table4")
    train, test = gesture.datasets(cfg)
    for ds in (train, test):
        assert bl._gesture_targets(ds) == [ds[i]["targets"].tolist() for i in range(len(ds))]


def test_action_tables_get_one_baseline_row_per_data_set():
    """deeprnn Table 1's trivial-baseline rows (catalogue/tasks/action.py data_baselines): one per data set, named
    for it, each equal to ``trivial_baselines`` of a run of that data set under that data set's columns only."""
    from benchmark.catalogue.tasks.action import DATA_NAMES, METRICS, data_baselines

    cfgs = resolve("deeprnn.table1").runs("smoke", 1)
    rows = data_baselines(cfgs, lambda d: {f"{DATA_NAMES[d]} / {k}": m for k, m in METRICS.items()})
    assert len(rows) == 4 and (rows["n_seeds"] == 0).all()
    for data in ("ucf101", "hmdb51"):
        want = bl.trivial_baselines(next(c for c in cfgs if c.labels["data"] == data))
        mine = rows[rows["row"].str.startswith(f"trivial baseline {DATA_NAMES[data]}: ")]
        assert sorted(mine["column"]) == [f"{DATA_NAMES[data]} / Atcp", f"{DATA_NAMES[data]} / Recg"]
        assert set(mine["row"]) == {f"trivial baseline {DATA_NAMES[data]}: {want['test_acc'][1]}"}
        assert mine.set_index("column")["reproduced"].to_dict() == {
            f"{DATA_NAMES[data]} / Recg": round(want["test_acc"][0], 4),
            f"{DATA_NAMES[data]} / Atcp": round(want["test_atcp"][0], 4)}
