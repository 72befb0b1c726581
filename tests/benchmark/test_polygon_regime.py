"""Issue 15's polygon regime: the pieces the cpu Table 6 / scs Table 4 runs are built from, each on exact
values (lr schedules, TD by step, epochs drawn from a larger set, averaged final metrics, crop jitter,
decoding of at least 3 vertices, overlap coherence on vertex sequences, ConvLSTM with BN)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from benchmark.catalogue.tasks.polygon import POLYGON_SCALES, polygon_config, polygon_runs, polygon_td
from benchmark.config import RunConfig, config_hash, validate
from benchmark.data.builtin_polygons import BuiltinPolygons
from benchmark.train import polygon as task
from benchmark.train.loop import _step_schedules, run_training, train_loader
from benchmark.train.schedules import Plateau, final_metrics, lr_factor
from models import create_model, set_schedule
from models.cells.convlstm import ConvLSTMCell
from models.stacks import build_stack

SMALL = dict(grid=8, image_size=32, encoder="small", feat_channels=8, width_mult=1 / 16)


def _cfg(**kw) -> RunConfig:
    base = dict(experiment="t", scale="smoke", task="polygon", model="polygon_cbm_2", epochs=4)
    return RunConfig(**{**base, **kw})


# ---------------------------------------------------------------------------------------- lr schedules
def test_cosine_factor_is_half_cosine_over_all_steps():
    cfg = _cfg(lr_schedule="cosine")
    assert lr_factor(cfg, 0, 100) == 1.0
    assert lr_factor(cfg, 50, 100) == pytest.approx(0.5)
    assert lr_factor(cfg, 25, 100) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)
    assert lr_factor(cfg, 100, 100) == pytest.approx(0.0)
    assert lr_factor(_cfg(), 50, 100) == 1.0


def test_plateau_divides_by_ten_after_an_epoch_without_1pct_improvement():
    p = Plateau()
    assert [p.update(x) for x in (3.0, 2.5, 2.49, 2.0, 1.999)] == [1.0, 1.0, 0.1, 0.1, pytest.approx(0.01)]
    again = Plateau(p.state)  # what a resumed run restores from its checkpoint
    assert again.state == p.state and again.state is not p.state


def test_loop_sets_the_scheduled_lr_and_td_rate_before_every_step():
    model = create_model("polygon_cbm_2", **SMALL)
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    cfg = _cfg(lr=2e-3, lr_schedule="cosine", td_schedule=((0, 1.0), (0.5, 0.8), (1.25, 0.5)))
    seen = []
    rate = 1.0
    set_schedule(model, "td_rate", rate)  # what the loop does at the start of an epoch
    for epoch in range(2):
        for i in range(4):
            rate = _step_schedules(cfg, model, opt, epoch, i, 4, Plateau(), rate)
            seen.append((rate, model.rnn.cells[0].td_rate, opt.param_groups[0]["lr"]))
    assert [r for r, _, _ in seen] == [1.0, 1.0, 0.8, 0.8, 0.8, 0.5, 0.5, 0.5]
    assert all(r == cell for r, cell, _ in seen)  # the cells got the rate
    assert [lr for _, _, lr in seen] == pytest.approx([2e-3 * (1 + math.cos(math.pi * s / 16)) / 2 for s in range(8)])  # 4 epochs of 4 steps


def test_whole_epoch_schedules_keep_one_rate_per_epoch():
    from benchmark.config import td_rate_at

    sched = ((0, 1.0), (1, 0.8), (2, 0.5))
    for epoch in range(4):
        rates = {td_rate_at(sched, epoch + i / 7) for i in range(7)}
        assert rates == {td_rate_at(sched, epoch)}


# ---------------------------------------------------------------------------------------- epochs, metrics
def test_epoch_items_draws_a_fresh_subset_each_epoch():
    data = list(range(100))
    cfg = _cfg(epoch_items=20, batch_size=5)
    gen = torch.Generator().manual_seed(0)
    loader = train_loader(cfg, data, lambda b: torch.tensor(b), gen)
    epochs = [torch.cat(list(loader)).tolist() for _ in range(3)]
    assert [len(e) for e in epochs] == [20, 20, 20] and len(loader) == 4
    assert all(len(set(e)) == 20 for e in epochs)          # without replacement within an epoch
    assert len(set(epochs[0]) | set(epochs[1]) | set(epochs[2])) > 40   # different items each epoch
    again = train_loader(cfg, data, lambda b: torch.tensor(b), torch.Generator().manual_seed(0))
    assert torch.cat(list(again)).tolist() == epochs[0]  # the seed fixes the draw


def test_whole_set_epochs_are_unchanged():
    data = list(range(10))
    a = torch.cat(list(train_loader(_cfg(batch_size=3), data, lambda b: torch.tensor(b),
                                    torch.Generator().manual_seed(3))))
    b = torch.cat(list(torch.utils.data.DataLoader(data, batch_size=3, shuffle=True, drop_last=True,
                                                   collate_fn=lambda b: torch.tensor(b),
                                                   generator=torch.Generator().manual_seed(3))))
    assert a.tolist() == b.tolist()


def test_final_metrics_average_the_last_epochs():
    hist = [{"epoch": e, "train_loss": float(10 - e), "test_iou": float(10 * e), "seconds": 1.0 + e, "note": "x"}
            for e in (1, 2, 3, 4)]
    f = final_metrics(hist, 2)
    assert f == {"epoch": 4, "train_loss": 6.5, "test_iou": 35.0, "seconds": 5.0, "note": "x",
                 "averaged_over_epochs": 2}
    assert final_metrics(hist, 1) == hist[-1]


def test_new_fields_keep_old_hashes_and_validate():
    cfg = _cfg()
    assert config_hash(cfg) == config_hash(dataclasses.replace(cfg, lr_schedule="constant", average_last=1,
                                                               epoch_items=0, eval_last=0))
    assert config_hash(dataclasses.replace(cfg, lr_schedule="cosine")) != config_hash(cfg)
    for bad in (dict(lr_schedule="linear"), dict(average_last=5), dict(average_last=0), dict(epoch_items=-1),
                dict(eval_last=-1), dict(average_last=2, eval_last=1),
                dict(scheme="clips", scheme_kw={"clip_len": 3})):
        with pytest.raises(ValueError):
            validate(dataclasses.replace(cfg, **bad))
    validate(dataclasses.replace(cfg, scheme="overlap", scheme_kw={"clip_len": 3}))


# ---------------------------------------------------------------------------------------- data, decoding
def test_default_margin_keeps_the_data_and_a_wide_one_moves_and_scales_the_object():
    kw = dict(n=24, image_size=32, grid=8, max_vertices=8, source="shapes")
    a, b = BuiltinPolygons("train", **kw), BuiltinPolygons("train", margin=(0.12, 0.18), **kw)
    assert a.fingerprint() == b.fingerprint() and a.mean_margin == pytest.approx(0.15)
    wide = BuiltinPolygons("train", margin=(0.05, 0.6), **kw)

    def extents(ds):
        lo = np.array([i["polygon"].min(0) for i in ds.instances])
        hi = np.array([i["polygon"].max(0) for i in ds.instances])
        return lo, hi - lo

    lo_a, size_a = extents(a)
    lo_w, size_w = extents(wide)
    assert lo_w.std() > 2 * lo_a.std() and size_w.std() > 2 * size_a.std()
    assert size_w.mean() < size_a.mean()  # wider margins: smaller objects in the crop
    with pytest.raises(ValueError, match="margin"):
        BuiltinPolygons("train", margin=(0.5, 0.1), **kw)


def test_decoding_never_ends_before_the_third_vertex():
    torch.manual_seed(0)
    model = create_model("polygon_cbm_2", **SMALL).eval()
    with torch.no_grad():
        model.head.bias[model.end_token] = 1e4  # the head always prefers the end token
    out = model.decode(torch.rand(3, 3, 32, 32), max_len=6)
    assert (out[:, :3] < model.end_token).all() and (out[:, :3] >= 0).all()
    assert (out[:, 3] == model.end_token).all() and (out[:, 4:] == -1).all()
    out0 = model.decode(torch.rand(3, 3, 32, 32), max_len=6, min_vertices=0)
    assert (out0[:, 0] == model.end_token).all()


# ---------------------------------------------------------------------------------------- overlap coherence
def _batch(n=3, steps=7):
    torch.manual_seed(1)
    target = torch.randint(0, 64, (n, steps + 1))
    length = torch.tensor([steps, steps - 2, steps - 3])
    for i, l in enumerate(length):
        target[i, l] = 64            # the end token
        target[i, l + 1:] = -100     # padding
    return {"image": torch.rand(n, 3, 32, 32), "target": target, "length": length}


def test_overlap_clips_with_timestamp_init_reproduce_the_full_sequence_and_cohere():
    model = create_model("polygon_convlstm_5", **SMALL).eval()
    batch = _batch()
    target = batch["target"][:, :8]
    full = model(batch["image"], target)
    feats = model.encoder(batch["image"])
    cfg = _cfg(model="polygon_convlstm_5", scheme="overlap", scheme_kw={"clip_len": 4, "overlap_rate": 0.25})
    prev_states = None
    for a, b in [(0, 4), (3, 7), (4, 8)]:
        state0 = None if prev_states is None else prev_states[a - pa - 1]
        logits, prev_states = model.run_steps(feats, target, a, b, state0, keep_states=True)
        pa = a
        assert (logits - full[:, a:b]).abs().max().item() < 1e-5
    # the loss: every clip's cross-entropy, the coherence of identical overlaps is 0
    from benchmark.train.sequence import clip_plan

    clips = clip_plan(cfg, 8)
    assert clips == [(0, 4), (3, 7), (4, 8)]
    ce = [torch.nn.functional.cross_entropy(full[:, a:b].flatten(0, 1), target[:, a:b].flatten(), ignore_index=-100)
          for a, b in clips]
    assert task.loss(model, batch, cfg).item() == pytest.approx(sum(c.item() for c in ce) / 3, rel=1e-5)


def test_overlap_loss_truncates_bptt_at_clip_starts_and_feeds_the_encoder_from_every_clip():
    """The overlap loss's gradients equal those of the clip-mean cross-entropy with the handed-over state
    detached (eval mode: the overlaps agree, so the coherence term and its gradient are 0), and differ from
    full BPTT through the same clips: the gradient does not cross a clip start."""
    torch.manual_seed(0)
    model = create_model("polygon_cbm_5", **SMALL).eval()
    batch = _batch()
    cfg = _cfg(model="polygon_cbm_5", scheme="overlap", scheme_kw={"clip_len": 4, "overlap_rate": 0.25})
    target = batch["target"][:, :8]

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    g_overlap = grads(task.loss(model, batch, cfg))
    assert model.encoder.net[0].weight.grad.abs().sum() > 0

    def clip_mean(detach: bool):
        from benchmark.schemes.overlap import detach_state as _detach

        feats, terms, states, pa = model.encoder(batch["image"]), [], None, 0
        for a, b in [(0, 4), (3, 7), (4, 8)]:
            s0 = None if states is None else states[a - pa - 1]
            logits, states = model.run_steps(feats, target, a, b, _detach(s0) if detach else s0, keep_states=True)
            terms.append(torch.nn.functional.cross_entropy(logits.flatten(0, 1), target[:, a:b].flatten(),
                                                           ignore_index=-100))
            pa = a
        return sum(terms) / 3

    assert torch.allclose(g_overlap, grads(clip_mean(detach=True)), atol=1e-6)
    assert not torch.allclose(g_overlap, grads(clip_mean(detach=False)), atol=1e-6)


def test_paper_scale_trains_10_and_15_layers_with_overlap_coherence():
    cfgs = polygon_runs("deeprnn.table6", "paper", 1, "/data/cityscapes")
    scheme = {c.labels["depth"]: c.scheme for c in cfgs}
    assert scheme == {2: "bptt", 5: "bptt", 10: "overlap", 15: "overlap"}
    deep = next(c for c in cfgs if c.labels["depth"] == 15)
    assert deep.scheme_kw == {"clip_len": 10, "overlap_rate": 0.25, "lam": 0.8} and deep.lr_schedule == "plateau"
    assert {c.scheme for c in polygon_runs("deeprnn.table6", "cpu", 1, None)} == {"bptt"}


# ---------------------------------------------------------------------------------------- the grid, BN
def test_cpu_grid_holds_the_bn_ablation_and_the_regime():
    cfgs = polygon_runs("deeprnn.table6", "cpu", 2, None, bn_ablation=True)
    rows = sorted({c.labels["row"] for c in cfgs})
    assert len(cfgs) == 20 and "Polyg-CBM 15 + BN" in rows and "Polyg-LSTM 15 + BN" in rows
    bn = {c.labels["row"]: c.model_kw.get("bn") for c in cfgs}
    assert bn["Polyg-CBM 15 + BN"] is True and bn["Polyg-CBM 15"] is False
    assert bn["Polyg-LSTM 15 + BN"] is True and bn["Polyg-LSTM 15"] is None
    cbm = next(c for c in cfgs if c.labels["row"] == "Polyg-CBM 15")
    assert cbm.model_kw["init"] == "xavier_normal" and cbm.td_schedule == polygon_td("cpu")
    assert polygon_td("cpu") == ((0, 1.0), (0.2, 0.8), (0.4, 0.5))  # 5% and 10% of 4 epochs
    s = POLYGON_SCALES["cpu"]
    assert (cbm.epochs, cbm.epoch_items, cbm.lr_schedule, cbm.average_last, cbm.eval_last) == (4, 1280, "cosine", 2, 2)
    assert cbm.data_kw["n_train"] == 4096 and cbm.data_kw["n_test"] == 512 and s["model_kw"]["width_floor"] == 8
    net = create_model(cbm.model, grid=12, image_size=48, **cbm.model_kw)
    assert [c.hidden_channels for c in net.rnn.cells] == [64, 64] + [32] * 4 + [16] * 6 + [8, 8, 8]
    lstm_bn = next(c for c in cfgs if c.labels["row"] == "Polyg-LSTM 15 + BN")
    assert len({config_hash(c) for c in cfgs}) == len(cfgs) and lstm_bn.labels["cost"] > cbm.labels["cost"]


def test_convlstm_with_bn_normalises_the_gates_and_matches_layer_major():
    torch.manual_seed(0)
    stack = build_stack("convlstm", 5, [6, 4], bn=True)
    assert all(isinstance(c.gates_bn, torch.nn.BatchNorm2d) for c in stack.cells)
    xs = torch.randn(2, 5, 5, 8, 8)
    for mode in ("train", "eval"):
        getattr(stack, mode)()
        a, _ = stack(xs, execution="time")
        b, _ = stack(xs, execution="layer")
        assert (a - b).abs().max().item() < 1e-5
    plain = ConvLSTMCell(5, 6)
    normed = ConvLSTMCell(5, 6, bn=True)
    normed.gates.load_state_dict(plain.gates.state_dict())
    x, s = torch.randn(4, 5, 8, 8), plain.init_state(torch.randn(4, 5, 8, 8))
    assert (plain(x, s)[0] - normed.eval()(x, s)[0]).abs().max().item() < 1e-5  # fresh BN in eval: identity up to its eps
    assert (plain(x, s)[0] - normed.train()(x, s)[0]).abs().max().item() > 1e-2


def test_a_cpu_regime_run_trains_and_averages_its_last_two_evaluations(tmp_path):
    cfg = polygon_config("deeprnn.table6", "smoke", 0, "cbm", 2, "Polyg-CBM 2", None)
    cfg = dataclasses.replace(cfg, epochs=3, epoch_items=8, lr_schedule="cosine", average_last=2,
                              td_schedule=((0, 1.0), (0.5, 0.5)), precision="fp32")
    result = run_training(cfg, tmp_path, progress=False)
    from benchmark.train.loop import read_metrics

    hist = read_metrics(tmp_path)
    assert [h["td_rate"] for h in hist] == [1.0, 0.5, 0.5] and hist[-1]["lr"] < hist[0]["lr"]
    assert result["final"]["test_iou"] == pytest.approx((hist[-1]["test_iou"] + hist[-2]["test_iou"]) / 2)
    assert result["final"]["averaged_over_epochs"] == 2


def test_evaluating_only_the_last_epochs_trains_the_same_model(tmp_path):
    """``eval_last``: the skipped evaluations change nothing in training (evaluation draws no random numbers,
    TD included), so the evaluated epochs and the final metrics equal those of a run evaluating every epoch."""
    base = polygon_config("deeprnn.table6", "smoke", 0, "cbm", 2, "Polyg-CBM 2", None)
    base = dataclasses.replace(base, epochs=3, td_schedule=((0, 1.0), (0.5, 0.5)), average_last=2)
    full = run_training(base, tmp_path / "full", progress=False)
    last = run_training(dataclasses.replace(base, eval_last=2), tmp_path / "last", progress=False)
    from benchmark.train.loop import read_metrics

    h_full, h_last = read_metrics(tmp_path / "full"), read_metrics(tmp_path / "last")
    assert "test_iou" not in h_last[0] and "test_iou" in h_full[0]
    for a, b in zip(h_full, h_last):
        assert a["train_loss"] == b["train_loss"]
    for a, b in zip(h_full[1:], h_last[1:]):
        assert (a["test_loss"], a["test_iou"]) == (b["test_loss"], b["test_iou"])
    drop = ("seconds",)
    assert {k: v for k, v in full["final"].items() if k not in drop} == \
        {k: v for k, v in last["final"].items() if k not in drop}
