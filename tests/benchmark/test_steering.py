"""Steering-angle task (scs 5.7, Tables 5 and 6): eq. 24 through the task's evaluate path, the per-road-type
grouping, label normalisation, windows, and both catalogue ids end to end at smoke."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from benchmark.catalogue import resolve
from benchmark.config import RunConfig, config_hash
from benchmark.data.steering_sets import MIN_SCALE
from benchmark.reference import load_reference
from benchmark.train import steering as st


def _cfg(**scheme_kw) -> RunConfig:
    return RunConfig(experiment="test", scale="smoke", task="steering", model="steer_cnn", batch_size=3,
                     scheme_kw=scheme_kw)


class Fixed(nn.Module):
    """Returns, for every step, the value stored in pixel (0, 0) of channel 0 (main), 1 (T^1), 2 (T^2)."""

    def __init__(self, streams: bool = False):
        super().__init__()
        if streams:
            self.temporal_head = nn.Identity()
            self.out_act = "linear"

    def forward(self, frames, return_streams: bool = False):
        main = frames[:, :, 0, 0, 0]
        if not return_streams:
            return main
        return {"angles": main, "spatial_angles": frames[:, :, 1, 0, 0],
                "temporal": frames[:, :, 2, 0, 0][..., None]}  # (B, T, 1): the identity "head" maps it to (B, T)


def _items(pred_deg, true_deg, roads, scale, t1_deg=None, t2_deg=None, T=2):
    """Hand-made test items whose 'frames' carry the predictions (on the label scale) in pixel (0, 0)."""
    items = []
    for k, (p, a, r) in enumerate(zip(pred_deg, true_deg, roads)):
        f = torch.zeros(T, 3, 2, 2)
        f[:, 0, 0, 0] = 1 / (1 + math.exp(-p / scale))
        if t1_deg is not None:
            f[:, 1, 0, 0] = 1 / (1 + math.exp(-t1_deg[k] / scale))
            f[:, 2, 0, 0] = 1 / (1 + math.exp(-t2_deg[k] / scale))
        items.append({"frames": f.double(), "steering": torch.tensor(float(a)), "road_type": r})
    return st.Labelled(items, scale)


def test_accuracy_at_lambda_6_and_3_equals_hand_computation():
    scale = 10.0
    pred, true = [1.0, 14.0, -20.0, -7.0], [0.0, 10.0, -20.0, 5.0]
    # |errors| = 1, 4, 0, 12 degrees
    out = st.evaluate(Fixed(), _items(pred, true, [-1] * 4, scale), _cfg())
    assert out["test_acc_l6"] == pytest.approx(100 * (1 + 1 + 1 + 6 / 12) / 4, abs=1e-3)        # 87.5
    assert out["test_acc_l3"] == pytest.approx(100 * (1 + 3 / 4 + 1 + 3 / 12) / 4, abs=1e-3)    # 75.0
    sig = lambda x: 1 / (1 + math.exp(-x / scale))  # noqa: E731
    mse = np.mean([(sig(p) - sig(a)) ** 2 for p, a in zip(pred, true)])
    assert out["test_mse"] == pytest.approx(mse, rel=1e-5)
    assert out["test_rmse_deg"] == pytest.approx(math.sqrt((1 + 16 + 0 + 144) / 4), rel=1e-4)
    assert not any(k.startswith("test_acc_l6_") for k in out)  # no road type known: no groups
    floor = st.evaluate(Fixed(), _items(pred, true, [-1] * 4, scale), _cfg(acc_reading="floor"))
    assert floor["test_acc_l6"] == pytest.approx(75.0, abs=1e-3) and floor["test_acc_l3"] == pytest.approx(50.0, abs=1e-3)


def test_per_road_type_grouping_is_exact():
    scale = 5.0
    roads = [0, 0, 1, 2, 2, 2, -1]          # crossroads x2, t-junction, curve x3, one unknown; no straight
    true = [0.0, 0.0, 0.0, 30.0, -30.0, 10.0, 0.0]
    err = [0.0, 12.0, 24.0, 6.0, 3.0, 2.0, 60.0]
    pred = [a + e for a, e in zip(true, err)]
    t1 = [a + 12.0 for a in true]            # T^1 always 12 degrees off, T^2 exact
    out = st.evaluate(Fixed(streams=True), _items(pred, true, roads, scale, t1_deg=t1, t2_deg=true), _cfg())
    acc6 = lambda es: 100 * np.mean([min(6 / e, 1) if e > 0 else 1 for e in es])  # noqa: E731
    assert out["test_n_crossroads"] == 2 and out["test_n_t_junction"] == 1 and out["test_n_curve"] == 3
    assert "test_n_straight" not in out and "test_acc_l6_straight" not in out
    assert out["test_acc_l6_crossroads"] == pytest.approx(acc6([0, 12]), abs=1e-3)     # 75
    assert out["test_acc_l6_t_junction"] == pytest.approx(acc6([24]), abs=1e-3)        # 25
    assert out["test_acc_l6_curve"] == pytest.approx(acc6([6, 3, 2]), abs=1e-3)        # 100
    assert out["test_acc_l3_curve"] == pytest.approx(100 * (0.5 + 1 + 1) / 3, abs=1e-3)
    assert out["test_acc_l6"] == pytest.approx(acc6(err), abs=1e-3)                     # the unknown one counts here
    for key in ("crossroads", "t_junction", "curve"):
        assert out[f"t1_acc_l6_{key}"] == pytest.approx(50.0, abs=1e-3)
        assert out[f"t2_acc_l6_{key}"] == pytest.approx(100.0, abs=1e-3)


def test_labels_scale_and_windows():
    a = torch.tensor([-30.0, 0.0, 12.5])
    assert torch.allclose(st.label_to_angle(st.angle_to_label(a, 7.0), 7.0).float(), a, atol=1e-4)
    assert st.logistic_scale([-4.0, 4.0]) == pytest.approx(4 * math.sqrt(3) / math.pi)
    assert st.logistic_scale([0.0, 0.0]) == MIN_SCALE
    w7 = st.BuiltinWindows("train", 3, observed=7, size=(8, 24), road_types=("curve",))
    w3 = st.BuiltinWindows("train", 3, observed=3, size=(8, 24), road_types=("curve",))
    for i in range(3):
        assert w7[i]["frames"].shape[0] == 7 and w3[i]["frames"].shape[0] == 3
        torch.testing.assert_close(w7[i]["frames"][-3:], w3[i]["frames"])   # same end frame, shorter history
        assert float(w7[i]["steering"]) == float(w3[i]["steering"])
        assert float(w7[i]["steering"]) == pytest.approx(st.STEERING_RATIO * float(w7.base.steering[i, 6]))


def test_stream_evaluation_leaves_running_statistics_alone():
    m = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).eval()
    before = m[1].running_mean.clone()
    with st.batch_statistics(m):
        assert m[1].training
        m(torch.randn(4, 1, 3, 3) + 5)
    assert not m[1].training and m[1].momentum == 0.1
    torch.testing.assert_close(m[1].running_mean, before)


class PerFrameBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)

    def forward(self, frames):
        return self.bn(frames.flatten(0, 1)).mean(dim=(1, 2, 3)).view(frames.shape[0], frames.shape[1])


def test_precise_bn_is_the_plain_average_over_the_windows():
    g = torch.Generator().manual_seed(0)
    items = [{"frames": torch.randn(2, 3, 2, 2, generator=g) * (k + 1) + k, "steering": torch.tensor(0.0)}
             for k in range(4)]
    src = st.Labelled(items, 10.0)
    m = PerFrameBN().eval()
    m.bn.running_mean.fill_(7.0)
    st.precise_bn(m, src, 4, batch_size=2)               # two equal batches: average of the two batch stats
    x = torch.stack([it["frames"] for it in items]).flatten(0, 1)       # (8, 3, 2, 2)
    torch.testing.assert_close(m.bn.running_mean, x.mean(dim=(0, 2, 3)))
    halves = [x[:4], x[4:]]
    var = torch.stack([h.transpose(0, 1).flatten(1).var(dim=1, unbiased=True) for h in halves]).mean(0)
    torch.testing.assert_close(m.bn.running_var, var)
    assert not m.bn.training and m.bn.momentum == 0.1


def test_grids_match_the_reference_and_table6_reuses_table5():
    t5, t6 = resolve("scs.table5").runs("cpu", 1), resolve("scs.table6").runs("cpu", 1)
    assert {c.labels["row"] for c in t5} == set(load_reference("scs", "table5")["row"])
    assert len(t5) == 18 and {c.model for c in t5} == {"steer_scs", "steer_cnn_lstm", "steer_cnn"}
    assert {config_hash(c) for c in t6} <= {config_hash(c) for c in t5}
    assert all(c.labels["p"] == 0.5 and c.labels["length"] == 7 and c.labels["data"] == "LiVi" for c in t6)


def _check_table(out_dir, name):
    tidy = pd.read_csv(out_dir / "tables" / "scs" / f"{name}.csv")
    ref = load_reference("scs", name)
    got = set(zip(tidy["row"], tidy["column"]))
    assert set(zip(ref["row"], ref["column"])) <= got
    vals = tidy.set_index(["row", "column"]).loc[list(zip(ref["row"], ref["column"])), "reproduced"]
    assert vals.notna().all() and np.isfinite(vals.astype(float)).all()
    assert (out_dir / "figures" / "scs" / f"{name}.png").is_file()


@pytest.mark.e2e
def test_table5_and_table6_end_to_end_at_smoke(smoke_sweep, tmp_path):
    assert smoke_sweep.run("scs.table5", tmp_path / "out") == 0
    _check_table(tmp_path / "out", "table5")
    assert smoke_sweep.run("scs.table6", tmp_path / "out") == 0   # reads the table5 SCS run: nothing new trains
    _check_table(tmp_path / "out", "table6")
