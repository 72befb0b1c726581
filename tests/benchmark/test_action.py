"""The action task (recognition / anticipation) and its catalogue ids, end to end at the smoke scale."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmark.analysis.action_scores import SCORES_FILE, two_stream_accuracy, two_stream_scores
from benchmark.config import RunConfig
from benchmark.data.action_sets import FLOW_CLIP, stack_flow
from benchmark.reference import load_reference
from benchmark.run import main
from benchmark.train import action

IDS = {  # id -> (paper, table, figures written)
    "deeprnn.table1": ("deeprnn", "table1", ["table1.png"]),
    "deeprnn.table2": ("deeprnn", "table2", []),
    "deeprnn.table3": ("deeprnn", "table3", []),
    "deeprnn.table7": ("deeprnn", "table7", ["table7.png"]),
    "deeprnn.table8": ("deeprnn", "table8", ["table8.png"]),
    "prernn.table5": ("prernn", "table5", ["table5.png"]),
    "prernn.table7": ("prernn", "table7", []),
}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Stand-in pretrained backbones and flow go to a fresh cache, not the user's."""
    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def smoke_runs(smoke_sweep, tmp_path_factory):
    """Every id at smoke against the session's smoke sweep (ids share runs, as they do at the other scales):
    (folder with runs/ and out/, exit code per id)."""
    root = tmp_path_factory.mktemp("action")
    (root / "runs").symlink_to(smoke_sweep.runs)
    return root, {i: smoke_sweep.run(i, root / "out") for i in IDS}


@pytest.mark.e2e
@pytest.mark.parametrize("exp_id", list(IDS))
def test_id_smoke(smoke_runs, exp_id):
    root, codes = smoke_runs
    assert codes[exp_id] == 0
    paper, table, figures = IDS[exp_id]
    df = pd.read_csv(root / "out" / "tables" / paper / f"{table}.csv")
    ref = load_reference(paper, table)
    assert set(zip(ref["row"], ref["column"])) <= set(zip(df["row"], df["column"]))
    trained = df[~df["reference_only"].astype(bool)]
    assert len(trained) and trained["reproduced"].notna().all() and np.isfinite(trained["reproduced"]).all()
    lit = df[df["reference_only"].astype(bool)]
    assert lit["reproduced"].isna().all()  # literature rows stay reference-only
    for f in figures:
        assert (root / "out" / "figures" / paper / f).stat().st_size > 0


@pytest.mark.e2e
def test_shared_runs_train_once(smoke_runs):
    root, _ = smoke_runs
    # Table 2's VGG rows are Table 1's UCF-101 runs; prernn Table 7's split 1 is Table 5's
    assert len(list((root / "runs" / "deeprnn.table2").iterdir())) == 3      # the InceptionV1 rows only
    assert len(list((root / "runs" / "prernn.table7").iterdir())) == 8  # splits 2, 3 x colour, flow x ours, w/o RNN
    for d in (root / "runs" / "prernn.table5").iterdir():
        assert (d / SCORES_FILE).exists()  # per-video test scores beside every result


def _cfg(model, **kw):
    base = dict(experiment="t", scale="smoke", task="action", model=model, model_kw=dict(width=1 / 16),
                data_kw=dict(n_train=4, n_test=4, T=5, size=32), batch_size=2)
    base.update(kw)
    return RunConfig(**base)


@pytest.mark.parametrize("model,kw", [("lrcn_vgg16_lstm", dict(width=1 / 16)),
                                      ("deep15_cbm_vgg16", dict(width=4, backbone_width=1 / 16)),
                                      ("prernn_resnet50_gru", dict(width=1 / 16))])
def test_anticipation_sees_only_the_first_two_frames(model, kw):
    cfg = _cfg(model, model_kw=kw)
    torch.manual_seed(0)
    net, _, test_set, _ = action.build(cfg)
    net.eval()
    frames = torch.stack([test_set[i]["frames"] for i in range(3)])
    changed = frames.clone()
    changed[:, 2:] = torch.rand_like(changed[:, 2:])  # frames 3..T replaced
    with torch.no_grad():
        a = action.scores(action.run_frames(net, frames)[0].numpy())
        b = action.scores(action.run_frames(net, changed)[0].numpy())
        short = action.scores(action.run_frames(net, frames[:, :2])[0].numpy())
    np.testing.assert_array_equal(a["anticipation"], b["anticipation"])
    np.testing.assert_allclose(a["anticipation"], short["recognition"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a["recognition"], b["recognition"])  # recognition does see them


class _Fixed(nn.Module):
    """A 'net' returning the given per-frame logits."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, frames, states=None, return_states=False):
        return (self.logits, None) if return_states else self.logits


def test_loss_is_cross_entropy_of_time_averaged_logits():
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
                           [[0.5, 0.5, 3.0], [1.0, -2.0, 1.0]]])   # (B=2, T=2, K=3)
    label = torch.tensor([1, 2])
    batch = {"frames": torch.zeros(2, 2, 3, 4, 4), "label": label}
    got = action.loss(_Fixed(logits), batch, _cfg("lrcn_vgg16_lstm"))
    avg = [[1.0, 0.5, -0.5], [0.75, -0.75, 2.0]]
    by_hand = np.mean([-(avg[b][label[b]] - np.log(np.exp(avg[b]).sum())) for b in range(2)])
    assert got.item() == pytest.approx(by_hand, rel=1e-6)
    assert got.item() == pytest.approx(F.cross_entropy(torch.tensor(avg), label).item(), rel=1e-6)


def test_overlap_loss_runs_clips_and_matches_backward():
    cfg = _cfg("deep15_cbm_vgg16", model_kw=dict(width=4, backbone_width=1 / 16), scheme="overlap",
               scheme_kw=dict(clip_len=3, lam=0.8), data_kw=dict(n_train=4, n_test=2, T=6, size=32))
    torch.manual_seed(0)
    net, train_set, _, _ = action.build(cfg)
    net.eval()  # no dropout / TD draws: the two ways must agree exactly
    batch = {"frames": torch.stack([train_set[i]["frames"] for i in range(2)]),
             "label": torch.stack([train_set[i]["label"] for i in range(2)])}
    value = action.loss(net, batch, cfg)
    value.backward()
    g1 = [p.grad.clone() for p in net.parameters() if p.grad is not None]
    net.zero_grad()
    v2 = action.loss_backward(net, batch, cfg)
    g2 = [p.grad.clone() for p in net.parameters() if p.grad is not None]
    assert v2 == pytest.approx(value.item(), rel=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g1, g2))


def test_two_stream_average_of_saved_scores(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 1])
    colour, flow = (rng.dirichlet(np.ones(3), size=4) for _ in range(2))
    for name, p in (("c", colour), ("f", flow)):
        np.savez(tmp_path / f"{name}.npz", recognition=p, anticipation=p, labels=labels)
    avg, lab = two_stream_scores([tmp_path / "c.npz", tmp_path / "f.npz"])
    np.testing.assert_allclose(avg, (colour + flow) / 2)
    assert (lab == labels).all()
    by_hand = 100.0 * np.mean(((colour + flow) / 2).argmax(1) == labels)
    assert two_stream_accuracy([tmp_path / "c.npz", tmp_path / "f.npz"]) == pytest.approx(by_hand)
    np.savez(tmp_path / "x.npz", recognition=flow, anticipation=flow, labels=labels[::-1])
    with pytest.raises(ValueError, match="other test videos"):
        two_stream_scores([tmp_path / "c.npz", tmp_path / "x.npz"])


def test_flow_input_and_first_conv():
    cfg = _cfg("tra_resnet50_lstm", data_kw=dict(n_train=2, n_test=2, T=4, size=32, modality="flow",
                                                 flow_iters=5, flow_stack=2))
    net, train_set, _, _ = action.build(cfg)
    x = train_set[0]["frames"]
    assert x.shape == (4, 4, 32, 32) and x.abs().max() <= 1.0  # (T, 2 x stack, H, W), clipped and scaled
    assert net(x[None]).shape == (1, 4, train_set.num_classes)
    flow = np.arange(3 * 2 * 1 * 1, dtype=np.float32).reshape(3, 2, 1, 1)
    st = stack_flow(flow, 4, 2) * FLOW_CLIP
    np.testing.assert_array_equal(st[0, :, 0, 0], [0, 1, 2, 3])     # flows 0 and 1
    np.testing.assert_array_equal(st[3, :, 0, 0], [4, 5, 4, 5])     # past the end: the last flow


def test_standin_pretrained_backbone_is_loaded():
    spec = dict(n=2, T=2, size=32, steps=1, batch=2, lr=1e-3)
    cfg = _cfg("lrcn_vgg16_lstm", model_kw=dict(width=1 / 16, pretrained=spec))
    net, _, _, _ = action.build(cfg)
    path = action.standin_weights("vgg16", 1 / 16, spec)
    state = torch.load(path, weights_only=True)
    conv = [m for m in net.modules() if isinstance(m, nn.Conv2d)][0]
    assert torch.equal(conv.weight, state["features.0.weight"])
