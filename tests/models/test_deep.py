"""Deep nets with shortcuts (models/deep.py) and the task nets built on them: exact structure, shortcut
sources (forward hooks), strided cells, parameter counts, output shapes, forward + backward."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model
from models.cells import CBMCell, ConvLSTMCell, SCSCell
from models.cells.scs import scs_streams
from models.deep import (DeepRecurrentNet, FrameAverage, StridedCBMCell, StridedSCSCell, backbone15,
                         cbm_parameter_count, skip_stack, standalone17)
from models.stacks import count_parameters


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _trace(net: DeepRecurrentNet):
    """Forward hooks recording, per step, each cell's input/output and each shortcut/post's input/output."""
    rec = {"cell_in": {}, "cell_out": {}, "sc_in": {}, "sc_out": {}, "post_in": {}, "post_out": {}}
    handles = []
    for i, c in enumerate(net.cells):
        def hook(m, args, out, i=i):
            rec["cell_in"][i], rec["cell_out"][i] = args[0], out[0]
        handles.append(c.register_forward_hook(hook))
    for kind, mods in (("sc", net.shortcuts), ("post", net.posts)):
        for k, m in mods.items():
            def hook(m, args, out, k=int(k), kind=kind):
                rec[f"{kind}_in"][k], rec[f"{kind}_out"][k] = args[0], out
            handles.append(m.register_forward_hook(hook))
    return rec, handles


def _check_shortcut_sources(net: DeepRecurrentNet, x: torch.Tensor):
    """Every block's shortcut adds that block's own input; the block output is last cell + shortcut."""
    rec, handles = _trace(net)
    top, _ = net.step(x)
    for h in handles:
        h.remove()
    ranges = net.block_ranges()
    for b, idx in enumerate(ranges):
        first, last = idx[0], idx[-1]
        block_in = x if b == 0 else rec["cell_in"][first]
        assert rec["cell_in"][first] is block_in or b == 0
        if b in rec["sc_in"]:
            assert rec["sc_in"][b] is rec["cell_in"][first], f"block {b}: shortcut source is not the block input"
            out = rec["cell_out"][last] + rec["sc_out"][b]
        else:
            out = rec["cell_out"][last]
        if b in rec["post_in"]:
            torch.testing.assert_close(rec["post_in"][b], out)
            out = rec["post_out"][b]
        nxt = rec["cell_in"][ranges[b + 1][0]] if b + 1 < len(ranges) else top
        torch.testing.assert_close(nxt, out)
    return rec, top


# ------------------------------------------------------------------------------- 17-layer stand-alone
STRIDES17 = [2, 1, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1]


@pytest.mark.parametrize("cell,cls,strided", [("cbm", CBMCell, StridedCBMCell), ("scs", SCSCell, StridedSCSCell)])
def test_standalone17_structure_at_full_size(cell, cls, strided):
    with torch.device("meta"):
        net = standalone17(cell)
    assert net.depth == 17 and all(isinstance(c, cls) and c.r_act == "relu" for c in net.cells)
    assert [type(c) is strided for c in net.cells] == [s == 2 for s in STRIDES17]
    assert net.widths == [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4
    assert net.strides == STRIDES17
    stem = net.cells[0]
    assert stem.r_conv.kernel_size == (7, 7) and stem.r_conv.stride == (2, 2) and stem.r_conv.padding == (3, 3)
    assert all(c.t_conv.kernel_size == (3, 3) and c.t_conv.stride == (1, 1) for c in net.cells)
    assert [c.r_conv.kernel_size for c in net.cells[1:]] == [(3, 3)] * 16
    # T unit over concat(input, state): the state has the layer's width at the *input* resolution
    assert [c.t_conv.in_channels for c in net.cells] == [c.in_channels + c.hidden_channels for c in net.cells]
    assert net.block_sizes == [1] + [2] * 8
    post = net.posts["0"]
    assert isinstance(post, nn.MaxPool2d) and (post.kernel_size, post.stride, post.padding) == (3, 2, 1)
    assert list(net.posts) == ["0"] and list(net.shortcuts) == [str(b) for b in range(1, 9)]
    for b in (1, 2, 4, 6, 8):
        assert isinstance(net.shortcuts[str(b)], nn.Identity)
    for b, (ci, co) in zip((3, 5, 7), ((64, 128), (128, 256), (256, 512))):
        conv, bn, act = net.shortcuts[str(b)]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (ci, co, (1, 1), (2, 2))
        assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == co and isinstance(act, nn.ReLU)


@pytest.mark.parametrize("cell", ["cbm", "scs"])
def test_standalone17_shortcut_sources_and_shapes(cell):
    torch.manual_seed(0)
    net = standalone17(cell, width=2).train()
    x = torch.randn(2, 3, 64, 64)
    rec, top = _check_shortcut_sources(net, x)
    # the block of cells 9-10 adds *its own* input (the released code adds the input of cells 7-8)
    assert rec["sc_in"][5] is rec["cell_in"][9] and rec["sc_in"][5] is not rec["cell_in"][7]
    sizes = [rec["cell_out"][i].shape[-1] for i in range(17)]
    assert sizes == [32] + [16] * 4 + [8] * 4 + [4] * 4 + [2] * 4
    assert [rec["cell_out"][i].shape[1] for i in range(17)] == [2] * 5 + [4] * 4 + [8] * 4 + [16] * 4
    assert top.shape == (2, 16, 2, 2)
    _, states = net.step(x)
    gate = lambda s: s.gate if cell == "scs" else s  # noqa: E731
    # recurrent states stay at the layer's input resolution
    assert [tuple(gate(s).shape[-3:]) for s in (states[0], states[5], states[9], states[13])] == \
        [(2, 64, 64), (4, 16, 16), (8, 8, 8), (16, 4, 4)]
    if cell == "scs":
        assert scs_streams(top) is not None  # the sub-goal streams run through shortcuts and pools


def test_strided_cbm_cell_pools_the_gate_and_keeps_the_state_at_input_size():
    torch.manual_seed(0)
    cell = StridedCBMCell(3, 4, stride=2, r_act="relu", bn=False)
    x, c0 = torch.randn(2, 3, 9, 9), torch.rand(2, 4, 9, 9)
    out, c = cell(x, c0)
    ref_c = torch.sigmoid(cell.t_conv(torch.cat([x, c0], 1)))
    torch.testing.assert_close(c, ref_c)
    torch.testing.assert_close(out, torch.relu(cell.r_conv(x)) * F.max_pool2d(ref_c, 3, 2, 1))
    assert out.shape == (2, 4, 5, 5) and c.shape == (2, 4, 9, 9) and cell.init_state(x).shape == (2, 4, 9, 9)
    # stride 1: exactly the parent cell
    one, plain = StridedCBMCell(3, 4, bn=False), CBMCell(3, 4, bn=False)
    plain.load_state_dict(one.state_dict())
    torch.testing.assert_close(one(x, one.init_state(x))[0], plain(x, plain.init_state(x))[0])


def test_strided_scs_cell_main_stream_streams_and_gradient_rule():
    torch.manual_seed(0)
    cell = StridedSCSCell(3, 4, stride=2, bn=False).train()
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    s0 = cell.init_state(x)
    u, s = cell(x, s0)
    g = torch.sigmoid(cell.t_conv(torch.cat([x, s0.gate], 1)))
    torch.testing.assert_close(u, torch.relu(cell.r_conv(x)) * F.max_pool2d(g, 3, 2, 1))
    assert s.gate.shape == (2, 4, 8, 8) and s.spatial.shape == s.temporal.shape == u.shape == (2, 4, 4, 4)
    gs = torch.autograd.grad(s.spatial.sum(), cell.temporal_parameters(), allow_unused=True)
    assert all(t is None or torch.count_nonzero(t) == 0 for t in gs)
    one, plain = StridedSCSCell(3, 4), SCSCell(3, 4)
    plain.load_state_dict(one.state_dict())
    torch.testing.assert_close(one(x, one.init_state(x))[0], plain(x, plain.init_state(x))[0])


def test_scs_sub_goals_keep_the_gradient_rule_through_the_deep_net():
    torch.manual_seed(0)
    net = standalone17("scs", width=2).train()
    h, states = net.step(torch.randn(2, 3, 32, 32))
    sp, tmp = scs_streams(h)
    psi_s = [p for c in net.cells for p in c.spatial_parameters()]
    psi_t = [p for c in net.cells for p in c.temporal_parameters()]
    zero = lambda gs: all(g is None or torch.count_nonzero(g) == 0 for g in gs)  # noqa: E731
    assert zero(torch.autograd.grad(sp.square().sum(), psi_t, retain_graph=True, allow_unused=True))
    assert zero(torch.autograd.grad(tmp.square().sum(), psi_s, retain_graph=True, allow_unused=True))
    assert not zero(torch.autograd.grad(sp.square().sum(), psi_s[:2], retain_graph=True, allow_unused=True))


# ------------------------------------------------------------------------------- 15-layer backbone net
@pytest.mark.parametrize("cell,cls", [("cbm", CBMCell), ("convlstm", ConvLSTMCell), ("scs", SCSCell)])
def test_backbone15_structure(cell, cls):
    with torch.device("meta"):
        net = backbone15(cell, 512, 512)
    assert net.depth == 15 and net.widths == [512] * 15 and all(type(c) is cls for c in net.cells)
    assert net.block_sizes == [5, 5, 5] and list(net.shortcuts) == list(net.posts) == ["0", "1", "2"]
    for b in range(3):
        conv, bn, act = net.shortcuts[str(b)]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (512, 512, (1, 1), (1, 1))
        assert isinstance(bn, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
        pool = net.posts[str(b)]
        assert isinstance(pool, nn.MaxPool2d) and (pool.kernel_size, pool.stride, pool.ceil_mode) == (2, 2, True)
    if cell != "convlstm":
        assert all(c.r_act == "tanh" for c in net.cells)  # backbone nets as released


@pytest.mark.parametrize("cell", ["cbm", "convlstm", "scs"])
def test_backbone15_shortcuts_and_pools_after_layers_5_10_15(cell):
    torch.manual_seed(0)
    net = backbone15(cell, 6, 4).train()
    rec, top = _check_shortcut_sources(net, torch.randn(2, 6, 14, 14))
    assert [rec["cell_in"][i].shape[-1] for i in (0, 5, 10)] == [14, 7, 4] and top.shape == (2, 4, 2, 2)
    assert set(rec["sc_in"]) == set(rec["post_in"]) == {0, 1, 2}


def test_cbm_backbone15_parameter_count_from_the_formula():
    with torch.device("meta"):
        net = backbone15("cbm", 512, 512)
    # per layer: R conv 512*512*9 + 512, T conv (512 + 512)*512*9 + 512, two BNs 2*512 each
    per_layer = 512 * 512 * 9 + 512 + 1024 * 512 * 9 + 512 + 4 * 512
    assert per_layer == 7_080_960
    assert count_parameters(net.cells) == 15 * per_layer == cbm_parameter_count(512, [512] * 15) == 106_214_400
    shortcut = 512 * 512 + 512 + 2 * 512  # 1x1 conv + BN
    assert count_parameters(net) == 106_214_400 + 3 * shortcut


# ------------------------------------------------------------------------------- MCnet
def test_mcnet_cbm_encoder_is_15_x_256_with_identity_skips_every_5():
    with torch.device("meta"):
        m = create_model("mcnet_cbm15")
        o = create_model("mcnet_convlstm")
    rnn = m.rnn
    assert rnn.widths == [256] * 15 and rnn.block_sizes == [5, 5, 5] and not rnn.posts
    assert all(isinstance(rnn.shortcuts[str(b)], nn.Identity) for b in range(3))
    assert all(type(c) is CBMCell and c.r_act == "relu" and c.in_channels == 256 for c in rnn.cells)
    assert m.motion.convs[-1].out_channels == 256
    assert isinstance(o.rnn, ConvLSTMCell) and o.rnn.hidden_channels == 256
    assert count_parameters(rnn) == 15 * (256 * 256 * 9 + 256 + 512 * 256 * 9 + 256)  # no BN, as released
    torch.manual_seed(0)
    small = create_model("mcnet_cbm15", width=8)
    _check_shortcut_sources(small.rnn, torch.randn(2, 8, 4, 4))


@pytest.mark.parametrize("name", ["mcnet_cbm15", "mcnet_convlstm"])
def test_mcnet_predicts_20_from_10(name):
    torch.manual_seed(0)
    m = create_model(name, width=8).train()
    frames = torch.rand(2, 10, 1, 16, 16) * 2 - 1
    pred = m(frames)
    assert pred.shape == (2, 20, 1, 16, 16) and pred.abs().max() <= 1
    pred.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    assert create_model(name, width=8, channels=3)(torch.rand(1, 3, 3, 8, 8), n_out=2).shape == (1, 2, 3, 8, 8)


# ------------------------------------------------------------------------------- nowcasting, steering, action
@pytest.mark.parametrize("name,cls", [("nowcast_scs15", SCSCell), ("nowcast_convlstm", ConvLSTMCell)])
def test_nowcast_5_in_5_out(name, cls):
    with torch.device("meta"):
        full = create_model(name)
    enc, dec = full.rnn["encoder"], full.rnn["decoder"]
    assert enc.depth == dec.depth == 15
    assert all(type(c) is cls for c in [*enc.cells, *dec.cells])
    assert enc.widths == dec.widths and enc.widths == ([128] * 15 if cls is SCSCell else [64] * 15)
    torch.manual_seed(0)
    m = create_model(name, width=4, patch=2).train()
    pred = m(torch.rand(2, 5, 1, 8, 8))
    assert pred.shape == (2, 5, 1, 8, 8) and ((pred >= 0) & (pred <= 1)).all()
    pred.square().mean().backward()
    assert all(p.grad is not None for p in m.parameters())
    if cls is SCSCell:
        out = m(torch.rand(2, 5, 1, 8, 8), return_streams=True)
        assert out["spatial_prediction"].shape == (2, 5, 1, 8, 8) and out["temporal"].shape == (2, 5, 4, 4, 4)


@pytest.mark.parametrize("name", ["steer_cnn", "steer_cnn_lstm", "steer_scs"])
def test_steering_nets_regress_one_angle_per_step(name):
    torch.manual_seed(0)
    m = create_model(name, width=4).train()
    y = m(torch.rand(2, 3, 3, 32, 96))  # 192 x 64 frames at half size
    assert y.shape == (2, 3)
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_steer_scs_is_the_standalone_17_layer_scs():
    m = create_model("steer_scs", width=2)
    assert m.rnn.depth == 17 and all(isinstance(c, SCSCell) for c in m.rnn.cells)


@pytest.mark.parametrize("name", ["standalone17_cbm", "standalone17_scs"])
def test_standalone_action_nets_forward_backward(name):
    torch.manual_seed(0)
    m = create_model(name, width=2, num_classes=7).train()
    logits = m(torch.rand(2, 4, 3, 32, 32))
    assert logits.shape == (2, 4, 7) and m.video_logits(logits).shape == (2, 7)
    F.cross_entropy(m.video_logits(logits), torch.tensor([1, 2])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_frame_average_second_half_only_in_training():
    x = torch.arange(8.0).view(1, 4, 2)
    avg = FrameAverage("second_half").train()
    torch.testing.assert_close(avg(x), x[:, 2:].mean(1))
    torch.testing.assert_close(avg.eval()(x), x.mean(1))
    torch.testing.assert_close(FrameAverage().train()(x), x.mean(1))


def test_skip_stack_without_skips_is_a_plain_stack():
    net = skip_stack("convlstm", 3, [4, 4], every=None)
    assert net.block_sizes == [2] and not net.shortcuts


class _ReleasedBug(DeepRecurrentNet):
    """The released stand-alone code's step: the block of cells 9-10 adds the input of cells 7-8."""

    def step(self, x, states=None):
        states = [None] * len(self.cells) if states is None else list(states)
        new, h, src = [], x, None
        for b, idx in enumerate(self.block_ranges()):
            if b != 5:
                src = h  # the released code forgets this reset before cells 9-10
            for i in idx:
                s = states[i] if states[i] is not None else self.cells[i].init_state(h)
                h, s = self.cells[i](h, s)
                new.append(s)
            if str(b) in self.shortcuts:
                h = h + self.shortcuts[str(b)](src)
            if str(b) in self.posts:
                h = self.posts[str(b)](h)
        return h, new


def test_the_shortcut_source_check_catches_the_released_bug():
    torch.manual_seed(0)
    good = standalone17("cbm", width=2)
    part = lambda d, b: d[str(b)] if str(b) in d else None  # noqa: E731
    bad = _ReleasedBug(good.cells, [(n, part(good.shortcuts, b), part(good.posts, b))
                                    for b, n in enumerate(good.block_sizes)])
    with pytest.raises(AssertionError, match="block 5"):
        _check_shortcut_sources(bad, torch.randn(2, 3, 64, 64))
