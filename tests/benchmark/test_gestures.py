"""Hand gestures with C3D + CTC (prernn sec. 4.2): prernn.table4 / fig4 / table6 end to end at smoke scale,
the task's CTC loss against a brute-force sum over alignments and torch's CTCLoss, decoding and scoring,
clip cutting, stand-in weight copying, stream fusion."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.analysis.gesture_scores import fused_accuracy
from benchmark.config import RunConfig
from benchmark.data.gesture_clips import clip_sequence
from benchmark.baselines import trivial_baselines
from benchmark.reference import load_reference
from benchmark.tables import BASELINE_ROW
from benchmark.train import gesture

PAPER_ROWS = ("VRNN", "LSTM", "GRU")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))


_SWEEP = {}


def _run(exp_id, tmp_path):
    assert _SWEEP["run"](exp_id, tmp_path / "out") == 0  # against the session's smoke sweep


@pytest.mark.e2e
def test_table4_fig4_table6_smoke(smoke_sweep, tmp_path):
    _SWEEP["run"] = smoke_sweep.run
    (tmp_path / "runs").symlink_to(smoke_sweep.runs)
    from benchmark.catalogue import resolve

    _run("prernn.table4", tmp_path)
    tidy = pd.read_csv(tmp_path / "out/tables/prernn/table4.csv")
    ref = load_reference("prernn", "table4")
    assert set(zip(ref["row"], ref["column"])) <= set(zip(tidy["row"], tidy["column"]))
    # the trivial baseline under every column: benchmark.baselines on the runs' test set
    want = trivial_baselines(resolve("prernn.table4").runs("smoke")[0])["test_acc"]
    base = tidy[tidy["row"].str.startswith(BASELINE_ROW)]
    assert set(base["row"]) == {f"{BASELINE_ROW}: {want[1]}"} and len(base) == tidy["column"].nunique() == 8
    assert (base["reproduced"] == round(want[0], 4)).all() and (base["n_seeds"] == 0).all()
    tidy = tidy.drop(base.index)
    assert len(tidy) == len(ref) == 21                       # no extra cells: every run lands on a paper cell
    assert tidy["reproduced"].notna().all() and np.isfinite(tidy["reproduced"]).all()
    assert tidy["reproduced"].between(0, 100).all()

    runs = sorted((tmp_path / "runs/prernn.table4").iterdir())
    _run("prernn.fig4", tmp_path)                            # the same configs: nothing trains again
    assert sorted((tmp_path / "runs/prernn.table4").iterdir()) == runs
    assert not (tmp_path / "runs/prernn.fig4").exists()
    assert (tmp_path / "out/figures/prernn/fig4.png").stat().st_size > 0
    curves = pd.read_csv(tmp_path / "out/tables/prernn/fig4_curves.csv")
    assert set(curves["row"]) == {"VRNN", "LSTM"} and curves["train_loss"].notna().all()

    _run("prernn.table6", tmp_path)
    assert sorted((tmp_path / "runs/prernn.table4").iterdir()) == runs
    t6 = pd.read_csv(tmp_path / "out/tables/prernn/table6.csv")
    ref6 = load_reference("prernn", "table6")
    assert list(zip(t6["row"], t6["column"])) == list(zip(ref6["row"], ref6["column"])) + [
        ("Baseline (w/o RNN) Depth", "Accuracy"),          # the baseline's own stream: no paper cell
        (f"{BASELINE_ROW}: {want[1]}", "Accuracy")]        # and the trivial baseline's, on the same test set
    filled = t6[t6["reproduced"].notna() & ~t6["row"].str.startswith(BASELINE_ROW)]
    assert list(filled["row"]) == ["Ours Depth", "Baseline (w/o RNN) Depth"]  # builtin: one stream, for depth
    assert not t6.loc[t6["reference_only"], "reproduced"].notna().any()

    # late fusion of a run with itself is the run
    cfg = [c for c in resolve("prernn.table6").runs("smoke") if c.model == "prernn_c3d_vrnn_fc67"][0]
    assert fused_accuracy(tmp_path / "runs", [cfg, cfg]) == pytest.approx(float(filled["reproduced"].iloc[0]),
                                                                         abs=0.05)


def test_paper_scale_configs(monkeypatch):
    from benchmark.catalogue import resolve

    monkeypatch.setenv("BENCHMARK_C3D_WEIGHTS", "/weights/c3d.pth")
    t4 = resolve("prernn.table4").runs("paper", 1, "/data/nvgesture")
    assert len(t4) == 21 and {c.dataset for c in t4} == {"nvgesture"}
    assert {c.data_kw["sensor"] for c in t4} == {"depth"} and {c.model_kw["pretrained"] for c in t4} == {"/weights/c3d.pth"}
    t6 = resolve("prernn.table6").runs("paper", 1, "/data/nvgesture")
    assert sorted(c.data_kw["sensor"] for c in t6) == ["color", "color", "depth", "depth"]  # ours and w/o RNN
    assert {c.model for c in t6} == {"prernn_c3d_vrnn_fc67", "tra_c3d_vrnn_1"} and t6[0] in t4
    assert {c.model_kw.get("num_layers") for c in t6 if c.model == "tra_c3d_vrnn_1"} == {0}
    assert len(resolve("prernn.fig4").runs("cpu", 1)) == 13     # VRNN 5 + LSTM 8 columns of Table 4


# ------------------------------------------------------------------------------------------- CTC loss
def _brute_force_nll(log_probs: torch.Tensor, target: list[int], blank: int = 0) -> float:
    """-log sum over every path of length S whose collapse (merge repeats, drop blanks) is ``target``."""
    S, C = log_probs.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=S):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == target:
            total += math.exp(sum(float(log_probs[t, c]) for t, c in enumerate(path)))
    return -math.log(total)


def test_ctc_loss_equals_hand_computation():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 4, dtype=torch.float64)       # (B, S clips, C = blank + 3 gestures)
    targets = torch.tensor([[2, 2], [3, 0]])                  # a repeated label (needs a blank between), one label
    target_lengths = torch.tensor([2, 1])
    input_lengths = torch.tensor([4, 3])                      # the second video has 3 clips (1 padding)
    lp = logits.log_softmax(-1)
    by_hand = [_brute_force_nll(lp[0, :4], [2, 2]), _brute_force_nll(lp[1, :3], [3])]
    expected = (by_hand[0] / 2 + by_hand[1] / 1) / 2          # reduction "mean": / target length, then batch mean
    ours = gesture.ctc_loss(logits, targets, input_lengths, target_lengths)
    torch_ref = torch.nn.CTCLoss(blank=0)(lp.transpose(0, 1), targets, input_lengths, target_lengths)
    assert float(ours) == pytest.approx(expected, rel=1e-5)
    assert float(ours) == pytest.approx(float(torch_ref), rel=1e-6)

    # the same number through the task's loss() with a model returning these logits
    class Fixed(torch.nn.Module):
        def forward(self, clips):
            return logits.float()

    batch = {"clips": torch.zeros(2, 4, 3, 16, 8, 8), "targets": targets, "input_lengths": input_lengths,
             "target_lengths": target_lengths}
    assert float(gesture.loss(Fixed(), batch)) == pytest.approx(expected, rel=1e-4)


# ------------------------------------------------------------------------------- decoding and scoring
class _Videos(torch.utils.data.Dataset):
    """Item i: clips whose every value is i (so a model can look the video up), targets[i]."""

    def __init__(self, targets, n_clips):
        self.targets, self.n_clips = targets, n_clips

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return {"clips": torch.full((self.n_clips[i], 3, 16, 4, 4), float(i)),
                "targets": torch.tensor(self.targets[i]), "target_length": len(self.targets[i])}


class _Spell(torch.nn.Module):
    """Logits whose per-clip argmax is ``paths[video]`` (padding clips: blank)."""

    def __init__(self, paths, C=5):
        super().__init__()
        self.paths, self.C = paths, C

    def forward(self, clips):
        B, S = clips.shape[:2]
        out = torch.full((B, S, self.C), -5.0)
        for b in range(B):
            path = self.paths[int(clips[b, 0, 0, 0, 0, 0])]
            for s in range(S):
                out[b, s, path[s] if s < len(path) else 0] = 5.0
        return out


def test_perfect_logits_score_100_and_errors_count():
    targets = [[1], [2, 2], [3, 1, 4], [4]]
    n_clips = [3, 5, 6, 2]
    paths = [[0, 1, 0], [2, 0, 2, 2, 0], [3, 3, 1, 0, 4, 4], [4, 4]]   # argmax spells each target
    cfg = RunConfig(experiment="t", scale="smoke", task="gesture", model="x", batch_size=3)
    out = gesture.evaluate(_Spell(paths), _Videos(targets, n_clips), cfg)
    assert out["test_acc"] == 100.0 and np.isfinite(out["test_loss"])
    assert "test_acc_avg" not in out                         # only for one-gesture videos
    # a missing blank merges the repeated 2s; an extra gesture; a wrong label -> 1 of 4 right
    wrong = [[0, 1, 0], [2, 2, 2, 2, 0], [3, 3, 1, 0, 4, 2], [3, 3]]
    assert gesture.evaluate(_Spell(wrong), _Videos(targets, n_clips), cfg)["test_acc"] == 25.0
    single = gesture.evaluate(_Spell([[0, 1, 0], [4, 4]]), _Videos([[1], [4]], [3, 2]), cfg)
    assert single["test_acc"] == 100.0 and single["test_acc_avg"] == 100.0


def test_clip_sequence_cuts_consecutive_clips():
    frames = torch.arange(40.0).view(40, 1, 1, 1).expand(40, 3, 2, 2)
    clips = clip_sequence(frames, 16)
    assert clips.shape == (3, 3, 16, 2, 2)                  # (S, C, L, H, W)
    assert clips[1, 0, :, 0, 0].tolist() == list(range(16, 32))
    assert clips[2, 0, :, 0, 0].tolist() == list(range(32, 40)) + [39] * 8   # tail padded with the last frame
    assert clip_sequence(frames, 16, stride=8).shape[0] == 4        # starts 0, 8, 16, 24
    assert clip_sequence(frames[:5], 16).shape[0] == 1
    assert clip_sequence(frames[:32], 16).shape[0] == 2


def test_standin_weights_reach_every_pretrained_place():
    from models import backbones as bb
    from models import create_model
    from models.prernn import PreRNNLayer, TraRNNLayer

    torch.manual_seed(0)
    src = gesture.add_c3d_batchnorm(bb.c3d(width=1 / 32))
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in src.state_dict().items()}
    pre = gesture.add_c3d_batchnorm(create_model("prernn_c3d_lstm_fc6", num_classes=5, width=1 / 32))
    gesture.load_c3d_weights(pre, state)
    layer = [m for m in pre.modules() if isinstance(m, PreRNNLayer)][0]
    assert len(layer.input_proj) == 4                        # gate-dependent: fc6 and its 3 copies
    for proj in layer.input_proj:
        assert torch.equal(proj.linear.weight, state["fc6.weight"])
    assert torch.equal(pre.head[0].fc.weight, state["fc7.weight"])    # fc7 kept feedforward
    assert torch.equal(pre.backbone.net.conv3a[0].weight, state["conv3a.0.weight"])
    assert torch.equal(pre.backbone.net.conv3a[1].running_var, state["conv3a.1.running_var"])

    tra = gesture.add_c3d_batchnorm(create_model("tra_c3d_gru_1", num_classes=5, width=1 / 32))
    fresh = [p.clone() for m in tra.modules() if isinstance(m, TraRNNLayer) for p in m.parameters()]
    gesture.load_c3d_weights(tra, state)
    assert torch.equal(tra.backbone.model.fc7.weight, state["fc7.weight"])
    after = [p for m in tra.modules() if isinstance(m, TraRNNLayer) for p in m.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(fresh, after))   # the new recurrent layer is left alone
