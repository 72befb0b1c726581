"""Frame prediction: deeprnn Table 4 (video prediction) and scs Table 7 (nowcasting) end to end at smoke,
MCnet's image loss by hand, the per-step metrics and the nowcast scores of a perfect prediction."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from benchmark.catalogue import resolve
from benchmark.catalogue.tasks.prediction import TABLE4_COLUMNS, stsgd_decay
from benchmark.config import RunConfig
from benchmark.reference import load_reference
from benchmark.baselines import trivial_baselines
from benchmark.train import nowcast, prediction


def _run(tmp_path, exp_id, sweep):
    assert sweep.run(exp_id, tmp_path / "out") == 0  # against the session's smoke sweep
    paper, name = exp_id.split(".")
    df = pd.read_csv(tmp_path / "out" / "tables" / paper / f"{name}.csv")
    ref = load_reference(paper, name)
    assert set(zip(ref["row"], ref["column"])) <= set(zip(df["row"], df["column"]))
    assert (tmp_path / "out" / "figures" / paper / f"{name}.png").stat().st_size > 0
    return df


@pytest.mark.e2e
def test_table4_smoke(smoke_sweep, tmp_path):
    df = _run(tmp_path, "deeprnn.table4", smoke_sweep)
    # ConvLSTM, MCnet, Ours x PSNR, SSIM, and copy-last-frame's PSNR and SSIM rows; nothing extra
    assert len(df) == 8 * len(TABLE4_COLUMNS)
    assert df["reproduced"].notna().all() and np.isfinite(df["reproduced"]).all()  # every row is trained
    base = df[df["row"].str.startswith("trivial baseline")].set_index(["row", "column"])["reproduced"]
    want = trivial_baselines(resolve("deeprnn.table4").runs("smoke")[0])
    assert base[("trivial baseline: copy the last observed frame PSNR", "T1")] == round(want["psnr_T1"][0], 4)
    assert base[("trivial baseline: copy the last observed frame SSIM", "Avg")] == round(want["ssim_avg"][0], 4)
    ssim = df[df["row"].str.endswith("SSIM")]["reproduced"]
    assert ((ssim > -1) & (ssim <= 1)).all()


@pytest.mark.e2e
def test_table7_smoke(smoke_sweep, tmp_path):
    df = _run(tmp_path, "scs.table7", smoke_sweep)
    assert len(df) == 5 * 5  # 4 nets and persistence x MSE, CSI, FAR, POD, COR
    assert df["reproduced"].notna().all() and np.isfinite(df["reproduced"]).all()
    base = df[df["row"] == "trivial baseline: persistence: the last observed map"].set_index("column")["reproduced"]
    want = trivial_baselines(resolve("scs.table7").runs("smoke")[0])
    assert base["CSI"] == round(want["test_csi"][0], 4) and base["MSE"] == round(want["test_mse"][0], 4)
    cfgs = resolve("scs.table7").runs("smoke")
    sched = {c.labels["row"]: c.stsgd_schedule for c in cfgs}
    assert sched["ConvLSTM [50]"] == () and sched["SCS p=0.0"] == ((0, 0.0),)
    assert sched["SCS p=0.5"][0] == (0, 0.5)


def test_stsgd_decay_reaches_zero():
    assert stsgd_decay(0.5, 6) == ((0, 0.5), (2, 0.25), (4, 0.0))
    assert stsgd_decay(0.3, 1)[0] == (0, 0.3) and stsgd_decay(0.3, 1)[-1][1] == 0.0


def test_image_loss_by_hand():
    pred = torch.tensor([[0.0, 0.5, -1.0], [1.0, 0.25, 0.0]]).view(1, 1, 1, 2, 3)
    true = torch.tensor([[0.5, 0.5, 0.0], [-1.0, 0.0, 1.0]]).view(1, 1, 1, 2, 3)
    p, t = pred.view(2, 3).tolist(), true.view(2, 3).tolist()
    l2 = sum((p[i][j] - t[i][j]) ** 2 for i in range(2) for j in range(3)) / 6
    gx = [abs(abs(t[i][j + 1] - t[i][j]) - abs(p[i][j + 1] - p[i][j])) for i in range(2) for j in range(2)]
    gy = [abs(abs(t[1][j] - t[0][j]) - abs(p[1][j] - p[0][j])) for j in range(3)]
    gdl = sum(gx) / len(gx) + sum(gy) / len(gy)
    assert prediction.image_loss(pred, true, gdl=0).item() == pytest.approx(l2)
    assert prediction.gdl_loss(pred, true).item() == pytest.approx(gdl)
    assert prediction.image_loss(pred, true, gdl=1.0).item() == pytest.approx(l2 + gdl)
    # through the task's loss: a [0, 1] net answering 0.5 everywhere is 0 in [-1, 1]; targets map 2y - 1
    class Grey(nn.Module):
        def forward(self, frames, n_out):
            return torch.full((frames.shape[0], n_out, *frames.shape[2:]), 0.5)

    batch = {"inputs": torch.rand(1, 2, 1, 2, 3), "targets": (true + 1) / 2}
    cfg = RunConfig(experiment="x", scale="smoke", task="prediction", model="x", scheme_kw={"gdl": 0.0})
    want = sum(v ** 2 for row in t for v in row) / 6
    assert prediction.loss(Grey(), batch, cfg).item() == pytest.approx(want)


class Persistence(nn.Module):
    """Repeats the last observed frame ([0, 1] nets' convention)."""

    def forward(self, frames, n_out=None):
        return frames[:, -1:].expand(-1, n_out, *frames.shape[2:]).clone()


def _static_clips(n, n_in, n_out, size, keys=("inputs", "targets")):
    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(n):
        frame = torch.rand(1, size, size, generator=g)
        items.append({keys[0]: frame.expand(n_in, 1, size, size).clone(),
                      keys[1]: frame.expand(n_out, 1, size, size).clone()})
    return items


def test_per_step_metric_count_equals_n_out():
    n_out = 4
    cfg = RunConfig(experiment="x", scale="smoke", task="prediction", model="x", batch_size=2,
                    data_kw=dict(n_in=3, n_out=n_out, size=16))
    test = _static_clips(3, 3, n_out, 16)
    with torch.no_grad():
        for it in test:  # move the future a little so every step has a finite PSNR
            it["targets"] = (it["targets"] + 0.01 * torch.arange(1, n_out + 1).view(-1, 1, 1, 1)).clamp(0, 1)
    m = prediction.evaluate(Persistence(), test, cfg)
    for metric in ("psnr", "ssim"):
        steps = [k for k in m if k.startswith(f"{metric}_T")]
        assert sorted(steps) == sorted(f"{metric}_T{k}" for k in range(1, n_out + 1))
        assert m[f"{metric}_avg"] == pytest.approx(np.mean([m[k] for k in steps]))
    assert m["psnr_T1"] > m["psnr_T4"]  # the error grows with the step


def test_perfect_nowcast_scores():
    cfg = RunConfig(experiment="x", scale="smoke", task="nowcast", model="x", batch_size=2,
                    data_kw=dict(n_in=5, n_out=5, size=16))
    for keys in (("inputs", "targets"), ("input", "target")):  # built-in and RadarEcho item layouts
        test = _static_clips(3, 5, 5, 16, keys)
        m = nowcast.evaluate(Persistence(), test, cfg)
        assert m["test_csi"] == 1.0 and m["test_far"] == 0.0 and m["test_pod"] == 1.0
        assert m["test_mse"] == 0.0 and m["test_cor"] == pytest.approx(1.0)
    # and a prediction with no rain at all: CSI 0, POD 0, FAR undefined
    m = nowcast.scores(torch.zeros(2, 5, 1, 4, 4), torch.ones(2, 5, 1, 4, 4))
    assert m["test_csi"] == 0.0 and m["test_pod"] == 0.0 and math.isnan(m["test_far"])


def test_scs_subgoal_losses():
    """SCS nets get r_s and r_t terms (and the r_t head); the ConvLSTM baseline only the main MSE."""
    batch = {"inputs": torch.rand(2, 5, 1, 8, 8), "targets": torch.rand(2, 5, 1, 8, 8), "velocity": torch.rand(2, 2)}
    for model, want in (("nowcast_scs15", {"main", "spatial", "temporal"}), ("nowcast_convlstm", {"main"})):
        cfg = RunConfig(experiment="x", scale="smoke", task="nowcast", model=model,
                        model_kw=dict(width=2, depth=2) if model == "nowcast_convlstm" else dict(width=2, depth=2),
                        data_kw=dict(n_in=5, n_out=5, size=8, n_train=2, n_test=2))
        net, *_ = nowcast.build(cfg)
        terms = nowcast.loss_terms(net, batch, cfg)
        assert set(terms) == want and all(torch.isfinite(v) for v in terms.values())
    off = RunConfig(experiment="x", scale="smoke", task="nowcast", model="nowcast_scs15", model_kw=dict(width=2, depth=2),
                    data_kw=dict(n_in=5, n_out=5, size=8, n_train=2, n_test=2), scheme_kw={"sub_goals": False})
    assert not hasattr(nowcast.build(off)[0], "temporal_head")
