"""prernn's "Baseline (w/o RNN)" arms (Tables 5-7): the net is the traditional net without its recurrent layer
(per frame / clip, nothing carried over time), its runs are the traditional runs' configs but for that, the
claims' arms select them, and the derived rows (two-stream, late fusion, three splits) average the right runs."""
import dataclasses

import pandas as pd
import pytest
import torch

from benchmark.catalogue import resolve
from benchmark.claims import DERIVED, claims_for
from benchmark.claims.evaluate import arm_problems, arms_of, matches
from models import create_model

B = "Baseline (w/o RNN)"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_baseline_net_has_no_recurrence():
    """The C3D baseline (Table 6); the ResNet50 one (Tables 5, 7) is the same builder (tra_net, num_layers=0)
    on pool5, left out here because building a ResNet50 takes seconds."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 3, 16, 16, 16)                          # (B, clips, C, L, H, W)
    net = create_model("tra_c3d_vrnn_1", num_classes=5, width=1 / 64, num_layers=0).eval()
    assert len(net.rnn) == 0 and net.head.out_features == 5
    with torch.no_grad():
        whole = net(x)
        alone = torch.cat([net(x[:, t:t + 1]) for t in range(x.shape[1])], dim=1)
        reversed_ = net(x.flip(1)).flip(1)
    assert whole.shape == (2, 3, 5)
    assert torch.allclose(whole, alone, atol=1e-5) and torch.allclose(whole, reversed_, atol=1e-5)


def test_table5_and_table7_baseline_runs_are_the_traditional_runs_without_the_rnn():
    t5 = resolve("prernn.table5").runs("cpu", 2)
    t7 = resolve("prernn.table7").runs("cpu", 2)
    base5 = [c for c in t5 if c.labels["row"] == B]
    assert sorted((c.seed, c.labels["modality"]) for c in base5) == [(s, m) for s in (0, 1) for m in ("flow", "rgb")]
    for c in base5:
        tra = next(t for t in t5 if t.labels["row"] == "VRNN" and t.labels["method"] == "Traditional"
                   and t.seed == c.seed and t.labels["modality"] == c.labels["modality"])
        assert c.model == tra.model == "tra_resnet50_vrnn" and c.model_kw == {**tra.model_kw, "num_layers": 0}
        assert dataclasses.replace(c, model_kw=tra.model_kw, labels=tra.labels) == tra
    base7 = [c for c in t7 if c.labels["row"] == B]
    assert sorted((c.labels["split"], c.experiment) for c in base7 if c.seed == 0 and c.labels["modality"] == "rgb") \
        == [(1, "prernn.table5"), (2, "prernn.table7"), (3, "prernn.table7")]
    assert all(c in base5 for c in base7 if c.labels["split"] == 1)  # split 1 is Table 5's run: trains once


def test_table6_baseline_runs_per_stream():
    smoke = resolve("prernn.table6").runs("smoke", 1)
    assert [(c.model, c.model_kw.get("num_layers"), c.labels["row"]) for c in smoke] == [
        ("prernn_c3d_vrnn_fc67", None, "VRNN"), ("tra_c3d_vrnn_1", 0, "Baseline (w/o RNN) Depth")]
    paper = resolve("prernn.table6").runs("paper", 1, "/data/nvgesture")
    base = {c.data_kw["sensor"]: c for c in paper if c.labels.get("method") == "w/o RNN"}
    assert set(base) == {"color", "depth"} and base["depth"].data_kw == paper[0].data_kw


def test_new_claims_select_the_baseline():
    claims = {c.id: c for c in claims_for("prernn.table5") + claims_for("prernn.table6")}
    for scale in ("smoke", "cpu", "paper"):
        for cid in ("prernn.table5.two_stream_gru_gt_baseline", "prernn.table6.depth_gt_baseline"):
            assert not claims[cid].reason_untestable(scale) and arm_problems(claims[cid], scale) == []
    exp = resolve("prernn.table5")
    derived = exp.claim_arms([c for c in exp.runs("cpu", 1)])
    (_, a), (_, b) = arms_of(claims["prernn.table5.two_stream_gru_gt_baseline"].form)
    assert [d["row"] for d in derived if matches(d, b)] == [B] and [d["row"] for d in derived if matches(d, a)] == ["GRU"]
    (_, a), (_, b) = arms_of(claims["prernn.table6.depth_gt_baseline"].form)
    cfgs = resolve("prernn.table6").runs("cpu", 1)
    assert [c.model for c in cfgs if matches(c.labels, a)] == ["prernn_c3d_vrnn_fc67"]
    assert [c.model for c in cfgs if matches(c.labels, b)] == ["tra_c3d_vrnn_1"]


def test_table7_three_split_values_and_table(monkeypatch, tmp_path):
    from benchmark.catalogue.tasks import action
    from benchmark.train import action as task

    cfgs = resolve("prernn.table7").runs("smoke", 2)
    bonus = {"GRU": 2.0, B: 0.0}
    # a run's "scores" name it; the two-stream accuracy of a pair: 90 + split + seed (+2 for PreRNN-GRU)
    monkeypatch.setattr(task, "ensure_scores", lambda runs_root, c: (c.labels["row"], c.labels["split"], c.seed))
    monkeypatch.setattr(task, "two_stream_accuracy", lambda paths: 90.0 + paths[0][1] + paths[0][2] + bonus[paths[0][0]])
    vals = action.table7_claim_values(tmp_path, cfgs)
    got = {(r.row, r.seed): r.test_acc for r in vals.itertuples()}
    assert got == {("Ours", 0): 94.0, ("Ours", 1): 95.0, (B, 0): 92.0, (B, 1): 93.0}  # mean of splits 1-3 = 92
    assert set(vals[DERIVED]) == {"3-split two-stream"}
    arms = action.table7_claim_arms([c for c in cfgs if c.seed == 0])
    assert [a["row"] for a in arms] == ["Ours", B]
    # a seed with a split missing gets no row, and no arm
    part = action.table7_claim_values(tmp_path, [c for c in cfgs if not (c.seed == 1 and c.labels["split"] == 3)])
    assert sorted(zip(part["row"], part["seed"])) == [(B, 0), ("Ours", 0)]
    assert action.table7_claim_arms([c for c in cfgs if c.seed == 0 and c.labels["split"] != 3]) == []
    monkeypatch.setattr(action, "load_results", lambda root, c: pd.DataFrame(
        [{**x.labels, "seed": x.seed, "status": "done", "dataset": "builtin"} for x in c]))
    action.prernn_table7_outputs(tmp_path, cfgs, tmp_path, "smoke")
    tidy = pd.read_csv(tmp_path / "tables" / "prernn" / "table7.csv").set_index("row")
    assert tidy.loc["Ours", "reproduced"] == 94.5 and tidy.loc[B, "reproduced"] == 92.5
    assert not tidy.loc[B, "reference_only"] and tidy.loc[B, "paper"] == 91.7


def test_table6_fusion_pairs_streams_of_one_kind(monkeypatch, tmp_path):
    from benchmark.catalogue.tasks import gestures
    from benchmark.train import gesture as task

    cfgs = resolve("prernn.table6").runs("paper", 2, "/data/nvgesture")
    monkeypatch.setattr(task, "is_done", lambda root, c: True)
    monkeypatch.setattr(task, "fused_accuracy", lambda root, pair: 80.0 + 4.0 * (pair[0].model != "tra_c3d_vrnn_1")
                        + pair[0].seed + 0.5 * (pair[1].seed == pair[0].seed))
    vals = gestures.fusion_claim_values(tmp_path, cfgs)
    got = {(r.row, r.seed): r.test_acc for r in vals.itertuples()}
    assert got == {("Ours Color + Depth", 0): 84.5, ("Ours Color + Depth", 1): 85.5,
                   ("Baseline (w/o RNN) Color + Depth", 0): 80.5, ("Baseline (w/o RNN) Color + Depth", 1): 81.5}
    assert [a["row"] for a in gestures.fusion_claim_arms([c for c in cfgs if c.seed == 0])] == [
        "Ours Color + Depth", "Baseline (w/o RNN) Color + Depth"]
    assert gestures.fusion_claim_arms(resolve("prernn.table6").runs("cpu", 1)) == []  # one stream below paper
