"""Claim values an experiment derives from its runs (``Experiment.claim_values`` / ``claim_arms``): a made-up
experiment whose derived rows make a claim reproduced, arm_problems against declared derived labels, and the
derived rows of the catalogue's experiments (scs Fig. 4's q, deeprnn Table 4's 10-frame means, prernn Fig. 4's
mean training loss, prernn Table 5's two-stream accuracy) from made-up finished runs."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark import catalogue
from benchmark.catalogue import Experiment, resolve
from benchmark.claims import DERIVED, Better, Claim, Source
from benchmark.claims import evaluate as E
from benchmark.claims import verdict as V
from benchmark.config import RunConfig
from benchmark.results import run_dir
from benchmark.train.loop import load_finished

EXP = "deeprnn.madeup"
FUSED = "fused"


def _cfgs(scale="cpu", seeds=5, root=None):
    return [RunConfig(experiment=EXP, scale=scale, task="polygon", model=f"m_{net}", seed=s, labels=dict(net=net))
            for net in ("a", "b") for s in range(seeds)]


def _values(runs_root, cfgs):  # "a" fused scores 10 above "b" fused, whatever the runs say
    return pd.DataFrame([{"net": c.labels["net"], DERIVED: FUSED, "seed": c.seed, "status": "done",
                          "fused_acc": (60.0 if c.labels["net"] == "a" else 50.0) + 0.1 * c.seed} for c in cfgs])


def _arms(cfgs):
    return [{**c.labels, DERIVED: FUSED} for c in cfgs]


def _claim(form, metric="fused_acc"):
    return Claim(id="deeprnn.madeup.x", experiment=EXP, statement="s", source=Source("deeprnn", "Table 0"),
                 metric=metric, form=form)


@pytest.fixture
def madeup(monkeypatch):
    exp = Experiment(id=EXP, title="made up", make_runs=lambda scale, seeds, root: _cfgs(scale, seeds, root),
                     make_outputs=lambda *a: [], claim_values=_values, claim_arms=_arms)
    catalogue._load()
    monkeypatch.setitem(catalogue._EXPERIMENTS, EXP, exp)
    return exp


def test_derived_rows_make_a_claim_reproduced(madeup, monkeypatch, tmp_path):
    claim = _claim(Better({"net": "a", DERIVED: FUSED}, {"net": "b", DERIVED: FUSED}))
    monkeypatch.setattr(E, "claims_for", lambda experiment: [claim] if experiment == EXP else [])
    # no run has finished: the numbers are the derived rows' alone
    [path] = E.evaluate_experiment(EXP, tmp_path / "runs", _cfgs(), tmp_path, "cpu")
    row = pd.read_csv(path).iloc[0]
    assert row["verdict"] == V.REPRODUCED and row["n_seeds"] == 5 and row["diff"] == pytest.approx(10.0)
    # the same claim on the runs' own rows (no derived label in the arms) finds no finished run
    runs_only = E.evaluate_claim(_claim(Better({"net": "a"}, {"net": "b"})),
                                 E.with_claim_values(pd.DataFrame(), madeup, tmp_path, _cfgs()), _cfgs(), "cpu",
                                 tmp_path, with_baseline=False)
    assert runs_only["verdict"] == V.NOT_RUN


def test_arm_problems_accepts_declared_derived_arms_only(madeup):
    assert E.arm_problems(_claim(Better({"net": "a", DERIVED: FUSED}, {"net": "b", DERIVED: FUSED})), "cpu") == []
    assert E.arm_problems(_claim(Better({"net": "a"}, {"net": "b"})), "cpu") == []  # the runs themselves
    bad = E.arm_problems(_claim(Better({"net": "a", DERIVED: "other"}, {"net": "c", DERIVED: FUSED})), "cpu")
    assert len(bad) == 2 and all("selects 0 runs" in p for p in bad)
    both = E.arm_problems(_claim(Better({DERIVED: FUSED}, {"net": "b", DERIVED: FUSED})), "cpu")
    assert len(both) == 1 and "selects 2 runs" in both[0]


def test_claim_values_and_arms_go_together():
    with pytest.raises(ValueError, match="go together"):
        Experiment(id=EXP, title="t", make_runs=_cfgs, make_outputs=lambda *a: [], claim_values=_values)


def test_derived_rows_need_their_label(madeup, tmp_path):
    no_label = Experiment(id=EXP, title="t", make_runs=_cfgs, make_outputs=lambda *a: [],
                          claim_values=lambda r, c: _values(r, c).drop(columns=[DERIVED]), claim_arms=_arms)
    with pytest.raises(ValueError, match="lack"):
        E.with_claim_values(pd.DataFrame(), no_label, tmp_path, _cfgs())


# ------------------------------------------------------------------ the catalogue's derived rows
def _finish(runs_root, cfg, curve, final=None):
    """A finished run as the suite writes it: metrics.jsonl (one line an epoch), checkpoint, result.json."""
    d = run_dir(runs_root, cfg)
    d.mkdir(parents=True)
    (d / "metrics.jsonl").write_text("".join(json.dumps({"epoch": i + 1, **m}) + "\n" for i, m in enumerate(curve)))
    torch.save({}, d / "checkpoint.pt")
    (d / "result.json").write_text(json.dumps({"status": "done", "final": {"epoch": len(curve), **(final or {})}}))


def test_scs_fig4_q_start_and_end_make_q_falls_from_1_testable(tmp_path):
    exp = resolve("scs.fig4")
    cfgs = exp.runs("smoke", 2)
    for c in cfgs:
        _finish(tmp_path, c, [{"astsgd_q_start": 1.0, "astsgd_q": 0.9 - 0.01 * c.seed},
                              {"astsgd_q_start": 0.9 - 0.01 * c.seed, "astsgd_q": 0.7 - 0.01 * c.seed}])
    res = E.with_claim_values(pd.DataFrame(), exp, tmp_path, cfgs)
    whole = res[(res["variant"] == "whole") & (res["seed"] == 1)].set_index(DERIVED)["astsgd_q"]
    assert whole.to_dict() == {"q start": 1.0, "q end": pytest.approx(0.69)}
    assert "w/o ASTSGD" not in set(res["variant"])  # no q without ASTSGD
    claim = next(c for c in exp_claims("scs.fig4") if c.id == "scs.fig4.q_falls_from_1")
    assert not claim.reason_untestable("cpu")
    row = E.evaluate_claim(claim, res, cfgs, "smoke", tmp_path, with_baseline=False)
    assert row["n_seeds"] == 2 and row["diff"] == pytest.approx(0.305) and row["verdict"] == V.REPRODUCED


def test_deeprnn_table4_ten_frame_means(tmp_path):
    exp = resolve("deeprnn.table4")
    cfgs = exp.runs("smoke", 1)
    for c in cfgs:
        bonus = 1.0 if c.labels["row"] == "Ours" else 0.0
        _finish(tmp_path, c, [{"train_loss": 1.0}], {**{f"psnr_T{k}": 20.0 + k + bonus for k in range(1, 21)},
                                                    **{f"ssim_T{k}": 0.5 for k in range(1, 21)}})
    res = E.with_claim_values(pd.DataFrame(), exp, tmp_path, cfgs)
    ours = res[res["row"] == "Ours"].iloc[0]
    assert ours[DERIVED] == "T1-T10 mean" and ours["psnr_mean_T1_T10"] == pytest.approx(25.5 + 1.0)
    assert ours["ssim_mean_T1_T10"] == pytest.approx(0.5)
    claim = next(c for c in exp_claims("deeprnn.table4") if c.metric == "psnr_mean_T1_T10")
    assert E.evaluate_claim(claim, res, cfgs, "smoke", tmp_path, with_baseline=False)["diff"] == pytest.approx(1.0)


def test_prernn_fig4_mean_training_loss(tmp_path):
    exp = resolve("prernn.fig4")
    cfgs = exp.runs("smoke", 1)
    _finish(tmp_path, cfgs[0], [{"train_loss": 3.0}, {"train_loss": 1.0}])  # one finished run
    res = E.with_claim_values(pd.DataFrame(), exp, tmp_path, cfgs)
    assert len(res) == 1 and res["train_loss_mean_over_epochs"].iloc[0] == 2.0
    assert res[DERIVED].iloc[0] == "loss curve" and res["column"].iloc[0] == cfgs[0].labels["column"]


def test_prernn_table5_two_stream_rows_keep_their_seed(monkeypatch, tmp_path):
    from benchmark.catalogue.tasks import action
    from benchmark.train import action as task

    exp = resolve("prernn.table5")
    cfgs = [c for c in exp.runs("smoke", 2) if c.labels["row"] == "GRU" and c.labels["method"] == "PreRNN"]
    monkeypatch.setattr(task, "ensure_scores", lambda runs_root, cfg: f"{cfg.labels['modality']}-{cfg.seed}")
    monkeypatch.setattr(task, "two_stream_accuracy", lambda paths: 90.0 + int(paths[0].split("-")[1]))
    res = action.two_stream_claim_values(tmp_path, cfgs)
    assert sorted(res["seed"]) == [0, 1] and dict(zip(res["seed"], res["test_acc"])) == {0: 90.0, 1: 91.0}
    assert set(res[DERIVED]) == {"two-stream"} and set(res["modality"]) == {"comb"}
    assert action.two_stream_cells(tmp_path, cfgs) == {("GRU", "PreRNN", 1): [90.0, 91.0]}
    arms = exp.claim_arms([c for c in cfgs if c.seed == 0])
    assert arms == [{k: res.iloc[0][k] for k in arms[0]}]


def exp_claims(experiment):
    from benchmark.claims import claims_for

    return claims_for(experiment)


def test_the_derived_claims_are_testable_at_every_scale():
    from benchmark.claims import all_claims

    ids = {"prernn.table5.comb_gt_single_stream", "scs.fig4.q_falls_from_1", "deeprnn.t4.ours_gt_mcnet_psnr_10frames",
           "deeprnn.t4.ours_gt_mcnet_ssim_10frames", "prernn.fig2.lstm_layer1_pre_more_saturated",
           "prernn.fig2.gru_layer1_pre_more_saturated", "prernn.fig2.lstm_layer2_rarely_saturated",
           "prernn.fig4.vrnn_pre_converges_faster", "prernn.fig4.lstm_pre_converges_faster"}
    found = [c for c in all_claims() if c.id in ids]
    assert len(found) == len(ids) and not any(c.untestable for c in found)
    assert all(any(DERIVED in arm for _, arm in E.arms_of(c.form)) for c in found)


def test_prernn_fig2_saturation_per_seed_from_checkpoints(tmp_path):
    from benchmark.catalogue.tasks import landmarks
    from benchmark.train import landmarks as task

    exp = resolve("prernn.fig2")
    cfgs = [c for c in exp.runs("smoke", 2) if c.labels["row"] == "LSTM" and c.labels["family"] == "tra"]
    for c in cfgs:
        torch.manual_seed(c.seed)
        _finish(tmp_path, c, [{"train_loss": 1.0}])
        torch.save({"model": task.make_model(c, pretrained=False).state_dict()}, run_dir(tmp_path, c) / "checkpoint.pt")
    res = E.with_claim_values(pd.DataFrame(), exp, tmp_path, cfgs)
    assert sorted(res["seed"]) == [0, 1] and set(res[DERIVED]) == {landmarks.SATURATION}
    model, test_set = load_finished(tmp_path, cfgs[0])
    sat, _, _ = landmarks.saturation_rows("", "lstm", landmarks.collect_gates(model, test_set))
    layer1 = [r["left_saturated"] + r["right_saturated"] for r in sat if r["layer"] == 1]
    first = res[res["seed"] == 0].iloc[0]
    assert first["layer1_saturated"] == pytest.approx(np.mean(layer1))
    assert first["layer1_minus_layer2_saturated"] == pytest.approx(first["layer1_saturated"] - first["layer2_saturated"])
