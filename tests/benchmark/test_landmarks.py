"""prernn section 4.1 (face alignment): the landmarks task and the ids prernn.table2 / fig2 / fig3."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from benchmark.analysis.landmark_errors import run_errors
from benchmark.analysis.landmark_gates import gate_activations, saturation
from benchmark.config import RunConfig
from benchmark.reference import load_reference
from benchmark.train import landmarks as lm

SMOKE_ARGS = ["--scale", "smoke", "--cluster", "debug"]


# ---------------------------------------------------------------- the three ids at smoke
@pytest.fixture(scope="module")
def smoke_dirs(smoke_sweep, tmp_path_factory):
    """prernn.table2 at smoke against the session's smoke sweep; fig3 and fig2 reuse its runs (same configs)."""
    root = tmp_path_factory.mktemp("landmarks")
    (root / "runs").symlink_to(smoke_sweep.runs)

    def main(argv):
        assert argv[1:len(SMOKE_ARGS) + 1] == SMOKE_ARGS
        return smoke_sweep.run(argv[0], root / "out")

    assert main(["prernn.table2", *SMOKE_ARGS]) == 0
    return root, [], main


@pytest.mark.e2e
def test_table2_smoke(smoke_dirs):
    root, _, _ = smoke_dirs
    out = pd.read_csv(root / "out" / "tables" / "prernn" / "table2.csv")
    ref = load_reference("prernn", "table2")
    got = set(zip(out["row"], out["column"]))
    assert set(zip(ref["row"], ref["column"])) <= got
    assert len(ref) == 21 and len(out) == 21  # no cell beyond the paper's
    assert out["reproduced"].notna().all() and np.isfinite(out["reproduced"]).all()
    assert ((out["reproduced"] >= 0) & (out["reproduced"] <= 1)).all()
    runs = pd.read_csv(root / "out" / "tables" / "prernn" / "table2_runs.csv")
    assert (runs["status"] == "done").all() and len(runs) == 21
    assert (root / "out" / "tables" / "prernn" / "table2.md").exists()
    # the per-frame errors saved for the figures give back the table's AUC exactly
    from benchmark.catalogue import resolve

    cfg = resolve("prernn.table2").runs("smoke")[7]
    row = runs[(runs["row"] == cfg.labels["row"]) & (runs["column"] == cfg.labels["column"])].iloc[0]
    errors = run_errors(root / "runs", cfg)
    assert errors.shape == (2 * 3,)                                   # n_test x T frames
    assert lm.summarise(errors, 0.25)["test_auc"] == pytest.approx(row["test_auc"], abs=1e-12)


def _run_id(smoke_dirs, exp_id):
    """``exp_id`` at smoke against the shared runs; the folder of its runs/ and out/."""
    root, dirs, main = smoke_dirs
    assert main([exp_id, *SMOKE_ARGS, *dirs]) == 0
    return root


@pytest.mark.e2e
def test_fig3_smoke_reuses_table2_runs(smoke_dirs):
    root = _run_id(smoke_dirs, "prernn.fig3")
    assert (root / "out" / "figures" / "prernn" / "fig3.png").exists()
    ced = pd.read_csv(root / "out" / "tables" / "prernn" / "fig3_ced.csv")
    assert len(ced.groupby(["row", "column"])) == 21
    assert ced["fraction"].between(0, 1).all()
    assert len(list((root / "runs" / "prernn.table2").glob("*/errors.npy"))) == 21  # cached per run
    assert not (root / "runs" / "prernn.fig3").exists()  # nothing trained twice


@pytest.mark.e2e
def test_fig2_smoke(smoke_dirs):
    root = _run_id(smoke_dirs, "prernn.fig2")
    assert (root / "out" / "figures" / "prernn" / "fig2.png").exists()
    sat = pd.read_csv(root / "out" / "tables" / "prernn" / "fig2_saturation.csv")
    assert set(sat["model"]) == {"TraLSTM", "PreLSTM", "TraGRU", "PreGRU"}
    assert set(sat["layer"]) == {1, 2}
    assert np.allclose(sat["left_saturated"] + sat["right_saturated"] + sat["unsaturated"], 1.0)
    hist = pd.read_csv(root / "out" / "tables" / "prernn" / "fig2_histograms.csv")
    sums = hist.groupby(["model", "layer", "gate"])["fraction"].sum()
    assert np.allclose(sums, 1.0, atol=1e-3)
    assert len(sums) == 2 * 2 * (2 + 3)  # Tra/Pre x 2 layers x (GRU r, z + LSTM i, f, o)


def test_grid_shape():
    from benchmark.catalogue import resolve

    t2 = resolve("prernn.table2").runs("cpu", 1)
    assert len(t2) == 21
    assert len(resolve("prernn.table2").runs("cpu")) == 21 * 5  # the cpu default: 5 seeds
    names = {c.model for c in t2}
    assert {"tra_vgg16_vrnn_1", "prernn_vgg16_gru_fc67", "prernn_sih_vgg16_lstm_fc7"} <= names
    assert not any(n.startswith("prernn_sih_vgg16_vrnn") for n in names)
    assert resolve("prernn.fig3").runs("cpu", 1) == t2
    f2 = resolve("prernn.fig2").runs("cpu", 1)
    assert {c.model for c in f2} == {"tra_vgg16_lstm_2", "prernn_vgg16_lstm_fc67", "tra_vgg16_gru_2",
                                     "prernn_vgg16_gru_fc67"}
    assert all(c in t2 for c in f2)
    paper = resolve("prernn.table2").runs("paper", data_root="/nonexistent")
    assert all(c.dataset == "vw300" and c.model_kw["pretrained"] is True and c.model_kw["width"] == 1.0
               for c in paper)


# ---------------------------------------------------------------- exact checks of the task
def _face(size: float = 40.0) -> torch.Tensor:
    """68 points; outer eye corners (36, 45) at (10, 12) and (26, 24): inter-ocular distance 20."""
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(68, 2, generator=g) * size
    pts[36] = torch.tensor([10.0, 12.0])
    pts[45] = torch.tensor([26.0, 24.0])
    return pts


def test_normalised_error_of_a_shifted_prediction():
    gt = _face()
    iod = math.hypot(26 - 10, 24 - 12)
    assert iod == 20.0
    dx, dy = 0.9, -1.2                       # |offset| = 1.5 px
    pred = gt + torch.tensor([dx, dy])
    e = lm.frame_errors(pred[None, None], gt[None, None])
    assert e.shape == (1,) and e[0] == pytest.approx(1.5 / 20.0, abs=1e-6)

    # the whole evaluate() path: a model that always answers the shifted face on 32 x 32 frames
    size, T = 32, 3
    target = lm.normalise(pred, (size, size)).reshape(-1)

    class Constant(nn.Module):
        def forward(self, x):
            return target.expand(x.shape[0], x.shape[1], -1)

    item = {"frames": torch.zeros(T, 1, size, size), "landmarks": gt.expand(T, 68, 2).clone(),
            "interocular": torch.full((T,), iod)}
    cfg = RunConfig(experiment="t", scale="smoke", task="landmarks", model="x", batch_size=2,
                    data_kw=dict(max_error=0.08))
    m = lm.evaluate(Constant(), [item, item], cfg)
    assert m["test_nme"] == pytest.approx(0.075, abs=1e-6)
    assert m["test_failure"] == 0.0
    assert m["test_auc"] == pytest.approx(1 - 0.075 / 0.08, abs=2e-3)   # CED: a step at 0.075
    # l2 objective: per frame the squared norm of the 136 normalised coordinate errors
    per_frame = ((2 * dx / size) ** 2 + (2 * dy / size) ** 2) * 68
    assert m["test_loss"] == pytest.approx(per_frame, rel=1e-5)


def test_l2_loss_by_hand():
    pred = torch.tensor([[[[1.0, 2.0]] * 68]])          # (1, 1, 68, 2)
    target = torch.zeros_like(pred)
    assert lm.l2_loss(pred, target).item() == pytest.approx(68 * 5.0)
    two = torch.stack([pred[0, 0], torch.zeros(68, 2)])[None]
    assert lm.l2_loss(two, torch.zeros_like(two)).item() == pytest.approx(68 * 5.0 / 2)


def test_saturation_fractions_exact():
    # (N=2, T=2, H=3) gates; unit 0: 0.05, 0.5, 0.95, 0.99; unit 1: 0.1, 0.9, 0.0, 1.0 (0.1 and 0.9 are
    # not saturated: strict < and >); unit 2: always 0.5
    g = torch.tensor([[[0.05, 0.1, 0.5], [0.5, 0.9, 0.5]], [[0.95, 0.0, 0.5], [0.99, 1.0, 0.5]]])
    left, right = saturation(g)
    assert left.tolist() == [0.25, 0.25, 0.0]
    assert right.tolist() == [0.5, 0.25, 0.0]
    from benchmark.catalogue.tasks.landmarks import saturation_rows

    rows, hist, units = saturation_rows("TraGRU", "gru", [{"r": g, "z": 1 - g}])
    r = next(x for x in rows if x["gate"] == "r")
    assert r["left_saturated"] == pytest.approx(2 / 12) and r["right_saturated"] == pytest.approx(3 / 12)
    assert r["unsaturated"] == pytest.approx(7 / 12)
    z = next(x for x in rows if x["gate"] == "z")                      # 1 - g mirrors the fractions
    assert z["left_saturated"] == pytest.approx(3 / 12) and z["right_saturated"] == pytest.approx(2 / 12)
    rh = [x for x in hist if x["gate"] == "r"]
    assert len(rh) == 10 and sum(x["fraction"] for x in rh) == pytest.approx(1.0)
    assert rh[5]["fraction"] == pytest.approx(5 / 12)                  # the five 0.5s in [0.5, 0.6)
    assert rh[0]["fraction"] == pytest.approx(2 / 12)                  # 0.05 and 0.0 in [0, 0.1)


@pytest.mark.parametrize("name", ["prernn_vgg16_lstm_fc67", "tra_vgg16_gru_2", "prernn_sih_vgg16_gru_fc6"])
def test_gate_replay_matches_forward(name):
    from models import create_model

    torch.manual_seed(0)
    model = create_model(name, num_classes=136, width=1 / 32, drop_rate=0.0).eval()
    frames = torch.rand(2, 3, 1, 32, 32)
    out, layers = gate_activations(model, frames)
    assert torch.allclose(out, lm.forward(model, frames), atol=1e-6)
    n_layers = 2 if name.endswith(("fc67", "_2")) else 1
    assert len(layers) == n_layers
    gates = {"i", "f", "o", "c"} if "lstm" in name else {"r", "z", "h"}
    assert all(set(lay) == gates and lay[next(iter(gates))].shape[:2] == (2, 3) for lay in layers)


def test_standin_weights_reach_every_pretrained_place():
    from models import backbones as bb, create_model
    from models.prernn import PreRNNLayer, TraRNNLayer

    torch.manual_seed(1)
    state = bb.vgg16(width=1 / 32, drop_rate=0.0).state_dict()
    pre = create_model("prernn_vgg16_lstm_fc6", num_classes=136, width=1 / 32)
    lm.load_vgg_weights(pre, state)
    layer = next(m for m in pre.modules() if isinstance(m, PreRNNLayer))
    assert len(layer.input_proj) == 4  # every gate's copy of fc6 holds the pretrained values
    assert all(torch.equal(p.linear.weight, state["fc6.weight"]) for p in layer.input_proj)
    fc7 = [m for m in pre.head.modules() if isinstance(m, nn.Linear)][0]
    assert torch.equal(fc7.weight, state["fc7.weight"])
    tra = create_model("tra_vgg16_lstm_1", num_classes=136, width=1 / 32)
    before = [p.clone() for t in tra.modules() if isinstance(t, TraRNNLayer) for p in t.parameters()]
    lm.load_vgg_weights(tra, state)
    after = [p for t in tra.modules() if isinstance(t, TraRNNLayer) for p in t.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after))        # new layers untouched
    vgg = tra.backbone.model
    assert torch.equal(vgg.fc6.weight, state["fc6.weight"]) and torch.equal(vgg.fc7.weight, state["fc7.weight"])
    assert torch.equal(vgg.features[0].weight, state["features.0.weight"])


def test_face_crop_geometry():
    """A ramp frame (value = x / W at pixel centres) sampled by the crop equals the crop's own mapping,
    and the landmarks map back exactly."""
    W, H, size = 100, 80, 16
    ramp = ((torch.arange(W) + 0.5) / W).expand(H, W)
    frames = ramp.expand(2, 3, H, W).clone()
    pts = torch.stack([_face(30.0) + 20.0, _face(30.0) + torch.tensor([35.0, 25.0])])
    crops = lm.FaceCrops(None, size=size, margin=0.3)
    out, lm2 = crops.crop(frames, pts)
    assert out.shape == (2, 3, size, size)
    box = crops.boxes(pts)
    for t in range(2):
        x0, side = box[t, 0].item(), box[t, 2].item()
        expect = (x0 + (torch.arange(size) + 0.5) / size * side) / W
        assert torch.allclose(out[t, 0, size // 2], expect, atol=1e-5)
        assert torch.allclose(box[t, :2] + lm2[t] * side / size, pts[t], atol=1e-4)
        assert side == pytest.approx(1.3 * (pts[t].max(0).values - pts[t].min(0).values).max().item(), rel=1e-6)


def test_vw300_branch_on_a_tiny_fake_copy(tmp_path):
    """The real-data branch: 300VW layout (.avi + .pts), 80/20 split by video, face crops, one loss step."""
    from benchmark.data.video import write_video

    rng = np.random.default_rng(0)
    for v in range(1, 6):
        vid = f"{v:03d}"
        (tmp_path / vid / "annot").mkdir(parents=True)
        write_video(str(tmp_path / vid / "vid.avi"), np.full((6, 48, 64, 3), 40 * v, np.uint8), fps=25)
        for k in range(1, 7):
            pts = _face(20.0).numpy() + rng.uniform(10, 20, 2)
            body = "".join(f"{x:.3f} {y:.3f}\n" for x, y in pts)
            (tmp_path / vid / "annot" / f"{k:06d}.pts").write_text(f"version: 1\nn_points:  68\n{{\n{body}}}\n")
    cfg = RunConfig(experiment="t", scale="smoke", task="landmarks", model="prernn_vgg16_gru_fc6",
                    dataset="vw300", data_root=str(tmp_path), batch_size=2,
                    model_kw=dict(width=1 / 32, drop_rate=0.0),
                    data_kw=dict(T=3, size=32, n_train=3, max_error=0.08))
    train, test = lm.datasets(cfg)
    assert len(train) == 3 and len(test) == 2           # 4 train videos x 2 clips, capped at 3; 1 test video
    item = train[0]
    assert item["frames"].shape == (3, 3, 32, 32) and item["landmarks"].shape == (3, 68, 2)
    assert torch.allclose(item["interocular"], (item["landmarks"][:, 36] - item["landmarks"][:, 45]).norm(dim=-1))
    model, *_ = lm.build(cfg)
    batch = {k: torch.stack([train[i][k] for i in range(2)]) for k in ("frames", "landmarks")}
    assert torch.isfinite(lm.loss(model, batch, cfg))
    assert set(lm.evaluate(model, test, cfg)) == {"test_auc", "test_nme", "test_failure", "test_loss"}
