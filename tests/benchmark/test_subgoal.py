"""scs action recognition with sub-goals (benchmark/train/subgoal.py, catalogue scs.table2 / table3 / fig4)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from benchmark.config import RunConfig
from benchmark.reference import load_reference
from benchmark.train import subgoal as sg
from models.nets.subgoal_heads import capture_temporal, scs_cells
from benchmark.data.flow import horn_schunck_batch
from benchmark.data.subgoal_sets import BuiltinActions
from models import create_model

T, SIZE = 4, 32


def _cfg(**scheme_kw) -> RunConfig:
    scheme = "ltsc" if "clip_len" in scheme_kw else "bptt"
    return RunConfig(experiment="t.sub", scale="smoke", task="subgoal", model="standalone17_scs",
                     model_kw=dict(width=2), data_kw=dict(variant="ucf101", n_train=4, n_test=4, T=T, size=SIZE,
                                                          flow_size=8),
                     scheme=scheme, scheme_kw=scheme_kw)


def _model_and_batch(cfg: RunConfig, seed: int = 0):
    torch.manual_seed(seed)
    ds = BuiltinActions("train", n=4, T=T, size=SIZE)
    ds.add_flow(8)
    model = create_model("standalone17_scs", num_classes=ds.num_classes, width=2)
    sg.attach_heads(model, sg.options(cfg), ds.num_classes)
    items = [ds[i] for i in range(4)]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    return model, batch


def _tidy(out, name):
    return pd.read_csv(out / "tables" / "scs" / f"{name}.csv")


def _check_table(tidy: pd.DataFrame, table: str) -> None:
    ref = load_reference("scs", table)
    keys = set(zip(tidy["row"], tidy["column"]))
    assert set(zip(ref["row"], ref["column"])) <= keys
    trained = ref[~ref["reference_only"]]
    got = tidy.set_index(["row", "column"])["reproduced"]
    for r, c in zip(trained["row"], trained["column"]):
        assert math.isfinite(got[(r, c)]), (r, c)
    for r, c in zip(ref[ref["reference_only"]]["row"], ref[ref["reference_only"]]["column"]):
        assert not math.isfinite(got[(r, c)])


# ------------------------------------------------------------------------------------- exact behaviour
def test_loss_without_subgoals_is_plain_cross_entropy():
    cfg = _cfg(subgoals=False, astsgd=False)
    model, batch = _model_and_batch(cfg)
    model.eval()
    with torch.no_grad():
        got = sg.loss(model, batch, cfg)
        want = F.cross_entropy(model(batch["frames"]).mean(1), batch["label"])
    assert torch.allclose(got, want, atol=1e-6)


def test_loss_with_subgoals_adds_spatial_ce_and_flow_mse():
    cfg = _cfg(astsgd=False, t2_weight=0.5)
    model, batch = _model_and_batch(cfg)
    model.eval()
    with torch.no_grad():
        got = sg.loss(model, batch, cfg)
        with capture_temporal(model, model.tap_indices) as caps:
            out = model(batch["frames"], return_streams=True)
        main = F.cross_entropy(out["logits"].mean(1), batch["label"])
        t1 = F.cross_entropy(out["spatial_logits"].mean(1), batch["label"])
        t2 = []
        for head, i in zip(model.flow_heads, model.tap_indices):
            maps = torch.stack(caps[i], 1)                              # (B, T, C, h, w)
            target = F.adaptive_avg_pool2d(batch["flow"].flatten(0, 1), maps.shape[-2:]).view(
                *maps.shape[:2], 2, *maps.shape[-2:])
            pred = head(maps.flatten(0, 1)).view_as(target)
            t2.append(((pred - target) ** 2)[:, 1:].mean())               # frame 0 has no flow target
    assert torch.allclose(got, main + t1 + 0.5 * torch.stack(t2).mean(), atol=1e-5)


def test_no_gradient_reaches_the_flow_heads_without_t2():
    cfg = _cfg(t2=False, astsgd=False)
    model, batch = _model_and_batch(cfg)
    sg.loss(model, batch, cfg).backward()
    assert all(p.grad is None or not p.grad.any() for p in model.flow_heads.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.rnn.parameters())
    model.zero_grad(set_to_none=True)
    sg.loss(model, batch, _cfg(astsgd=False)).backward()  # with T^2: every head gets a gradient
    assert all(p.grad is not None and p.grad.any() for p in model.flow_heads.parameters())


def _eq20(ls, lg, init, q0=0.5, alpha=1.0, thresh=1.0):
    q = q0 + (1 - q0) * max(0.0, ls - thresh) / (init - thresh) * (alpha * (lg / ls - 1) + 1)
    return min(1.0, max(0.0, q))


def test_astsgd_q_follows_eq20_on_the_running_losses():
    cfg = _cfg(astsgd=True, astsgd_ema=0.0)  # q from the step's own losses
    model, _ = _model_and_batch(cfg)
    model.train()
    init = math.log(12)
    assert float(model.subgoal_state.q) == 1.0  # L_s = L_g = InitL_g before the first step: q = 1
    for ls, lg in ((2.0, 1.8), (1.6, 1.2), (1.3, 1.5)):
        sg._record(model, [{"main": lg, "t1": ls}], cfg)
        assert float(model.subgoal_state.q) == pytest.approx(_eq20(ls, lg, init), abs=1e-12)
        assert all(c.stsgd_q == pytest.approx(_eq20(ls, lg, init)) and c.stsgd_p_s is None
                   for c in scs_cells(model))
    # running means: exponential with momentum m per step, starting from InitL_g
    cfg = _cfg(astsgd=True, astsgd_ema=0.9)
    model, _ = _model_and_batch(cfg)
    model.train()
    es = eg = init
    for ls, lg in ((2.0, 1.8), (1.6, 1.2)):
        sg._record(model, [{"main": lg, "t1": ls}, {"main": lg + 0.2, "t1": ls - 0.2}], cfg)  # two clips
        es, eg = 0.9 * es + 0.1 * (ls - 0.1), 0.9 * eg + 0.1 * (lg + 0.1)
        assert float(model.subgoal_state.q) == pytest.approx(_eq20(es, eg, init), abs=1e-12)


def test_ltsc_hands_over_the_state_at_the_clip_start(monkeypatch):
    """init='timestamp' in eval mode: a clip started from the state the previous clip had at its first frame
    gives the overlapping frames exactly the previous clip's logits (the overlap term compares equal
    tensors); the released 'previous_last' start does not."""
    seen = []
    monkeypatch.setattr(sg, "coherence_loss", lambda cur, prev, probabilities: seen.append((cur, prev)) or
                        F.mse_loss(cur.softmax(-1), prev.softmax(-1)))
    cfg = _cfg(clip_len=3, overlap=2, astsgd=False)  # T = 4: clips (0, 3) and (1, 4)
    model, batch = _model_and_batch(cfg)
    model.eval()
    with torch.no_grad():
        assert len(list(sg._terms(model, batch, cfg))) == 2
        cur, prev = seen.pop()
        assert cur.shape[1] == 2 and torch.equal(cur, prev)
        list(sg._terms(model, batch, _cfg(clip_len=3, overlap=2, astsgd=False, init="previous_last")))
        cur, prev = seen.pop()
        assert (cur - prev).abs().max() > 1e-6


def test_batched_horn_schunck_equals_flow_module():
    from benchmark.data.flow import horn_schunck

    rng = np.random.default_rng(0)
    f0 = rng.random((12, 10)).astype(np.float32)
    f1 = np.roll(f0, 1, axis=1) + 0.05 * rng.random((12, 10)).astype(np.float32)
    want = horn_schunck(f0, f1, alpha=0.1, iters=30)
    got = horn_schunck_batch(torch.from_numpy(f0)[None], torch.from_numpy(f1)[None], 0.1, 30)[0].numpy()
    assert np.allclose(got, want, atol=1e-4)


def test_stage_taps_of_the_deep_nets():
    sa = create_model("standalone17_scs", num_classes=3, width=2)
    assert sg.tap_cells(sa) == [4, 8, 12, 16]
    bb = create_model("deep15_scs_vgg16", num_classes=3, width=4, backbone_width=1 / 32)
    assert sg.tap_cells(bb) == [4, 9, 14]


def test_pretrained_weights_are_loaded_except_the_classifier(tmp_path):
    from benchmark.results import run_dir
    from benchmark.train.loop import run_training

    pre = RunConfig.from_dict({**_cfg(astsgd=True).to_dict(), "experiment": "t.pre",
                               "data_kw": dict(variant="kinetics", n_train=4, n_test=4, T=T, size=SIZE, flow_size=8)})
    cfg = RunConfig.from_dict({**_cfg(astsgd=True).to_dict(),
                               "data_kw": {**_cfg().data_kw, "pretrain": pre.to_dict()}})
    with pytest.raises(RuntimeError, match="pre-training run .* is not done: launch this run through"):
        sg.build(cfg, run_dir=tmp_path / "t.sub" / "x")  # a trainer never launches a run
    run_training(pre, run_dir(tmp_path, pre), progress=False)
    model, *_ = sg.build(cfg, run_dir=tmp_path / "t.sub" / "x")
    state = torch.load(run_dir(tmp_path, pre) / "checkpoint.pt", weights_only=False)["model"]
    own = model.state_dict()
    fresh = [k for k in own if not torch.equal(own[k], state.get(k, torch.empty(0))) and "subgoal_state" not in k]
    assert sorted(fresh) == ["head.net.3.bias", "head.net.3.weight"]  # 24 Kinetics classes -> 12


# ------------------------------------------------------------------------------------------- catalogue
_SWEEP = {}


@pytest.fixture(scope="module")
def smoke_dirs(smoke_sweep, tmp_path_factory):
    _SWEEP["run"] = smoke_sweep.run  # ids run against the session's smoke sweep
    return tmp_path_factory.mktemp("subgoal")


def _main(exp, root):
    return _SWEEP["run"](exp, root / "out")


@pytest.mark.e2e
def test_table2_smoke(smoke_dirs):
    assert _main("scs.table2", smoke_dirs) == 0
    _check_table(_tidy(smoke_dirs / "out", "table2"), "table2")


@pytest.mark.e2e
def test_table3_and_fig4_smoke(smoke_dirs):
    assert _main("scs.table3", smoke_dirs) == 0
    _check_table(_tidy(smoke_dirs / "out", "table3"), "table3")
    assert _main("scs.fig4", smoke_dirs) == 0  # the Table 3 runs: nothing new is trained
    assert (smoke_dirs / "out" / "figures" / "scs" / "fig4.png").stat().st_size > 0
    q = pd.read_csv(smoke_dirs / "out" / "tables" / "scs" / "fig4_q.csv")
    # one q row per epoch of every ASTSGD run (5 variants x Kinetics and HMDB-51 at smoke: 1 epoch each)
    assert set(q["variant"]) == {"whole", "w/o sub-tasks", "w/o T2", "w/o LTSC", "q network"}
    assert set(q["column"]) == {"Kinetics", "HMDB-51"} and len(q) == 10
    assert q["astsgd_q"].between(0, 1).all() and (q["epoch"] == 1).all()


def test_tables_2_and_3_carry_the_trivial_baseline_of_each_column():
    from benchmark.baselines import trivial_baselines
    from benchmark.catalogue.tasks import subgoal as sg

    cfgs = sg.table3_runs("smoke", 1, None)  # Table 2's rows come from the same function (its LSTM imports timm)
    row = sg._baseline_row(cfgs).set_index("column")
    assert list(row.index) == ["HMDB-51", "Kinetics"] and row["row"].nunique() == 1
    assert row.loc["HMDB-51", "reproduced"] == round(trivial_baselines(cfgs[0])["test_acc"][0], 4)
    assert row.loc["Kinetics", "reproduced"] == round(trivial_baselines(sg.pretrain_of(cfgs[0]))["test_acc"][0], 4)


def test_kinetics_cells_are_derived_from_the_pretraining_runs_for_the_claims(monkeypatch):
    import pandas as pd

    from benchmark.claims import DERIVED
    from benchmark.claims.scs import kinetics, variant
    from benchmark.catalogue.tasks import subgoal as sg

    cfgs = sg.table3_runs("smoke", 2, None)
    assert len({repr(sg.pretrain_of(c)) for c in cfgs}) == len(cfgs)  # each variant and seed: its own pre-training
    acc = {(c.labels["variant"], c.seed): 10.0 * k + c.seed for k, c in enumerate(cfgs)}

    def fake_results(root, runs):
        (cfg,) = runs
        if cfg.data_kw["variant"] != "kinetics":
            return pd.DataFrame({"status": ["done"], "test_acc": [-1.0]})
        owner = next(c for c in cfgs if sg.pretrain_of(c) == cfg)
        done = owner.labels["variant"] != "w/o LTSC"  # one unfinished pre-training run gives no row
        return pd.DataFrame({"status": ["done" if done else "running"],
                             "test_acc": [acc[owner.labels["variant"], owner.seed]]})

    monkeypatch.setattr(sg, "load_results", fake_results)
    rows = sg.kinetics_claim_values(None, cfgs)
    assert set(rows["column"]) == {"Kinetics"} and set(rows[DERIVED]) == {kinetics(variant("whole"))[DERIVED]}
    assert len(rows) == len(cfgs) - 2 and "w/o LTSC" not in set(rows["variant"])
    for r in rows.itertuples():
        assert r.test_acc == acc[r.variant, r.seed]
    arms = sg.kinetics_claim_arms(cfgs)
    assert all(a["column"] == "Kinetics" and a[DERIVED] == sg.KINETICS_RUN for a in arms) and len(arms) == len(cfgs)
