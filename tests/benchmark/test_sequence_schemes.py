"""The sequence task's schemes, checked against the full-sequence forward (no data needed)."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from benchmark.config import RunConfig
from benchmark.train import sequence
from models import create_model


def _setup(scheme, **scheme_kw):
    torch.manual_seed(0)
    model = create_model("seq_cbm", widths=[4, 4], num_classes=5, stem_channels=4).eval()  # eval: no TD, fixed BN
    cfg = RunConfig(experiment="t", scale="smoke", task="sequence", model="seq_cbm",
                    data_kw=dict(generator="gap", max_gap=50), scheme=scheme,
                    scheme_kw=dict(clip_len=6, **scheme_kw))
    frames = torch.randn(2, 20, 1, 8, 8)
    label = torch.randint(0, 5, (2, 20))
    return model, cfg, {"frames": frames, "label": label}


def _clip_ce(logits, label, clips):
    return sum(F.cross_entropy(logits[:, a:b].flatten(0, 1), label[:, a:b].flatten()) for a, b in clips) / len(clips)


def test_overlap_clips_started_from_the_timestamp_state_reproduce_the_full_sequence():
    model, cfg, batch = _setup("overlap", lam=0.0, init="timestamp")
    full, _ = model(batch["frames"])
    clips = sequence.clip_plan(cfg, 20)
    assert len(clips) > 2
    torch.testing.assert_close(sequence.loss(model, batch, cfg), _clip_ce(full, batch["label"], clips),
                               rtol=1e-5, atol=1e-6)


def test_previous_last_state_and_plain_clips_do_not():
    model, cfg, batch = _setup("overlap", lam=0.0, init="previous_last")
    full, _ = model(batch["frames"])
    ref = _clip_ce(full, batch["label"], sequence.clip_plan(cfg, 20))
    assert not torch.allclose(sequence.loss(model, batch, cfg), ref, atol=1e-5)
    plain = dataclasses.replace(cfg, scheme="clips")
    # plain clips start from zero: equal to running each clip on its own
    expected = _clip_ce(torch.cat([model(batch["frames"][:, a:b])[0] for a, b in sequence.clip_plan(plain, 20)], 1),
                        batch["label"], sequence.clip_plan(plain, 20))
    torch.testing.assert_close(sequence.loss(model, batch, plain), expected)


def test_coherence_term_is_zero_when_clips_agree_and_positive_otherwise():
    model, cfg, batch = _setup("overlap", lam=0.8, init="timestamp")
    model0, cfg0, _ = _setup("overlap", lam=0.0, init="timestamp")
    # timestamp init reproduces the full sequence, so overlapping outputs agree: coherence adds ~0
    torch.testing.assert_close(sequence.loss(model, batch, cfg), sequence.loss(model0, batch, cfg0), rtol=1e-5, atol=1e-6)
    # the released init (previous clip's last state) makes overlapping outputs disagree (a large lam makes
    # the small disagreement of an untrained net visible above float32 rounding)
    cfg_last = dataclasses.replace(cfg, scheme_kw=dict(clip_len=6, lam=1e4, init="previous_last"))
    cfg_last0 = dataclasses.replace(cfg, scheme_kw=dict(clip_len=6, lam=0.0, init="previous_last"))
    assert sequence.loss(model, batch, cfg_last) > sequence.loss(model, batch, cfg_last0)


def test_validate_requires_a_clip_length():
    from benchmark.config import validate

    with pytest.raises(ValueError, match="clip_len"):
        validate(RunConfig(experiment="t", scale="smoke", task="sequence", model="seq_cbm", scheme="overlap"))


def test_batch_statistics_bn_leaves_running_stats_and_modes_alone():
    model, cfg, batch = _setup("bptt")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with sequence.batch_statistics_bn(model):
        assert all(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert not any(c.training for c in model.rnn.cells)  # no Temporal Dropout at test
        model(batch["frames"])
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "num_batches" not in k)
    assert not any(m.training for m in model.modules())


def test_batched_overlap_clips_equal_the_sequential_timestamp_scheme():
    model, cfg, batch = _setup("overlap", lam=0.8, init="timestamp")
    cfg = dataclasses.replace(cfg, scheme_kw=dict(clip_len=6, lam=0.8, init="timestamp"))
    batched = dataclasses.replace(cfg, scheme_kw=dict(clip_len=6, lam=0.8, init="timestamp", batched=True))
    clips = sequence.clip_plan(cfg, 20)
    assert len({b - a for a, b in clips}) == 1
    torch.testing.assert_close(sequence.loss(model, batch, batched), sequence.loss(model, batch, cfg),
                               rtol=1e-5, atol=1e-6)
    # and gradients flow into the model from the batched clips
    sequence.loss(model, batch, batched).backward()
    assert all(p.grad is not None for p in model.rnn.parameters())


@pytest.mark.parametrize("scheme,init", [("overlap", "timestamp"), ("overlap", "previous_last"), ("bptt", None)])
def test_clip_by_clip_backward_gives_the_summed_loss_and_its_gradients(scheme, init):
    model, cfg, batch = _setup(scheme, lam=0.8, **({"init": init} if init else {}))
    model.train()  # TD and BN batch statistics on: same draws in both calls thanks to the reseed
    torch.manual_seed(1)
    ref = sequence.loss(model, batch, cfg)
    ref.backward()
    want = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.manual_seed(1)
    value = sequence.loss_backward(model, batch, cfg)
    assert value == pytest.approx(ref.item(), rel=1e-6)
    for g, p in zip(want, model.parameters()):
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)
