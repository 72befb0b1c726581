"""Cells added to the zoo (vector RNN/LSTM/GRU, ConvGRU, CBM-LSTM, SCS) and a sweep of the registry."""
import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model, list_models
from models.cells import (CELLS, CBMCell, CBMLSTMCell, ConvGRUCell, ConvLSTMCell, GRUCell, LSTMCell,
                          SCSCell, VRNNCell)
from models.cells.norm import TimeBatchNorm2d
from models import set_schedule
from models.cells.scs import scs_streams
from models.nets.polygon_rnn import CELL_DEFAULTS, POLYGON_WIDTHS
from models.stacks import build_stack, count_parameters


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# ----------------------------------------------------------------------------- (a) registry sweep
def _run_polygon(m):
    target = torch.tensor([[3, 10, 20, 64], [5, 6, 64, -100]])
    logits = m(torch.rand(2, 3, 32, 32), target)
    assert logits.shape == (2, 4, 65)
    F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=-100).backward()
    return m.rnn


def _run_sequence_net(clips: bool):
    def run(m):
        x = torch.rand(1, 1, 3, 16, 32, 32) if clips else torch.rand(1, 2, 3, 32, 32)
        m(x).sum().backward()
        return m.rnn
    return run


# name prefix -> (tiny kwargs, runner doing forward + backward and returning the recurrent part)
def _run_toy_sequence(m):
    logits, _ = m(torch.rand(2, 4, 1, 16, 16))
    assert logits.shape == (2, 4, 5)
    logits.sum().backward()
    return m.rnn


TINY = {
    "polygon_": (dict(encoder="small", image_size=32, grid=8, feat_channels=8, width_mult=1 / 16), _run_polygon),
    "seq_": (dict(widths=(3, 3), num_classes=5, stem_channels=4), _run_toy_sequence),
    # deep nets (models/deep.py, models/nets/{action,mcnet,nowcast,steering}.py): forward + backward, return the RNN
    "deep15_": (dict(width=4, num_classes=5),
                lambda m: (m(torch.rand(2, 2, 3, 32, 32)).sum().backward(), m.rnn)[1]),
    "standalone17_": (dict(width=2, num_classes=5),
                      lambda m: (m(torch.rand(2, 2, 3, 32, 32)).sum().backward(), m.rnn)[1]),
    "mcnet_": (dict(width=8, n_in=3, n_out=2),
               lambda m: (m(torch.rand(2, 3, 1, 16, 16) * 2 - 1).square().mean().backward(), m.rnn)[1]),
    "nowcast_": (dict(width=4, depth=5, patch=2, n_out=2),
                 lambda m: (m(torch.rand(2, 2, 1, 8, 8)).square().mean().backward(), m.rnn)[1]),
    "steer_": (dict(width=4), lambda m: (m(torch.rand(2, 2, 3, 32, 32)).square().mean().backward(), m.rnn)[1]),
    # PreRNN / traditional RNN / LRCN (models/nets/prernn_nets.py): VGG16 / C3D / ResNet50 at width=1/64
    # (convs of 1-8 channels, fc6/fc7 of 64 units, ResNet50 res5c_branch2c 8 -> 32). The C3D prefixes come
    # first: the first matching prefix wins.
    "prernn_c3d_": (dict(width=1 / 64), _run_sequence_net(clips=True)),
    "prernn_sih_c3d_": (dict(width=1 / 64), _run_sequence_net(clips=True)),
    "tra_c3d_": (dict(width=1 / 64), _run_sequence_net(clips=True)),
    "prernn_": (dict(width=1 / 64), _run_sequence_net(clips=False)),
    "tra_": (dict(width=1 / 64), _run_sequence_net(clips=False)),
    "lrcn_": (dict(width=1 / 64), _run_sequence_net(clips=False)),
    # OpenSTL's Moving-MNIST configurations (models/nets/openstl.py) at 1/16 width, 4 -> 4 frames of 16 px
    "mmnist_": (dict(width_mult=1 / 16, pre_seq_length=4, aft_seq_length=4),
                lambda m: (m(torch.rand(2, 4, 1, 16, 16)).square().mean().backward(), m.rnn)[1]),
}
# Families with no size knob (they would build full-size weights): run only with ZOO_SWEEP_FULL=1.
# Empty: every registered family shrinks (the PreRNN families got ``width`` in models/backbones/).
FULL_ONLY: dict = {}


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_runs_forward_backward_at_tiny_size(name):
    prefix = next((p for p in TINY if name.startswith(p)), None)
    if prefix is None:
        full = next((p for p in FULL_ONLY if name.startswith(p)), None)
        assert full is not None, f"no tiny configuration for {name!r}: add its prefix to TINY in {__file__}"
        if not os.environ.get("ZOO_SWEEP_FULL"):
            pytest.skip(f"{full}* has no tiny size (full backbone weights); set ZOO_SWEEP_FULL=1 to run it")
        prefix, table = full, FULL_ONLY
    else:
        table = TINY
    kwargs, run = table[prefix]
    torch.manual_seed(0)
    model = create_model(name, **kwargs).train()
    rnn = run(model)
    missing = [n for n, p in rnn.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a finite gradient: {missing}"


# ----------------------------------------------------------------------------- (b) parameter counts
def test_convgru_polygon_counts_match_scs_table4():
    for depth, n, printed in [(5, 2_204_280, 2.20), (15, 11_784_216, 11.78)]:
        count = count_parameters(build_stack("convgru", 131, POLYGON_WIDTHS[depth], **CELL_DEFAULTS["convgru"]))
        assert count == n and round(count / 1e6, 2) == printed
        # the formula of NOTES.md, layer by layer
        c_in, formula = 131, 0
        for h in POLYGON_WIDTHS[depth]:
            formula, c_in = formula + (c_in + h) * 3 * h * 9 + 3 * h, h
        assert count == formula


@pytest.mark.parametrize("depth,n,printed", [(2, 197_712, 0.20), (5, 1_127_952, 1.13),
                                             (10, 2_677_264, 2.68), (15, 5_846_480, 5.85)])
def test_scs_polygon_counts_equal_cbm(depth, n, printed):
    scs = count_parameters(build_stack("scs", 131, POLYGON_WIDTHS[depth], **CELL_DEFAULTS["scs"]))
    cbm = count_parameters(build_stack("cbm", 131, POLYGON_WIDTHS[depth], **CELL_DEFAULTS["cbm"]))
    assert scs == cbm == n and round(scs / 1e6, 2) == printed


def test_polygon_scs_model_rnn_is_the_counted_stack():
    m = create_model("polygon_scs_5", encoder="small")
    assert count_parameters(m.rnn) == 1_127_952
    assert all(isinstance(c, SCSCell) and c.r_act == "tanh" for c in m.rnn.cells)


# ----------------------------------------------------------------------------- (c) vector cells
@pytest.mark.parametrize("ours,fused,seq", [(VRNNCell, nn.RNNCell, nn.RNN), (LSTMCell, nn.LSTMCell, nn.LSTM),
                                            (GRUCell, nn.GRUCell, nn.GRU)])
def test_vector_cells_match_torch_fused_cells(ours, fused, seq):
    torch.manual_seed(0)
    cell = ours(5, 7)
    ref = fused(5, 7)
    ref.load_state_dict(cell.cell.state_dict())
    whole = seq(5, 7, batch_first=True)
    whole.load_state_dict({f"{k}_l0": v for k, v in cell.cell.state_dict().items()})
    xs = torch.randn(3, 6, 5)
    state = cell.init_state(xs[:, 0])
    ref_state = state
    outs = []
    for t in range(6):
        out, state = cell(xs[:, t], state)
        ref_state = ref(xs[:, t], ref_state)
        torch.testing.assert_close(out, ref_state[0] if isinstance(ref_state, tuple) else ref_state, rtol=0, atol=0)
        outs.append(out)
    ref_seq, _ = whole(xs)
    torch.testing.assert_close(torch.stack(outs, 1), ref_seq, rtol=1e-5, atol=1e-6)
    # repo convention: Xavier weights, zero biases
    assert all(torch.count_nonzero(p) == 0 for n, p in cell.cell.named_parameters() if n.startswith("bias"))


def test_convgru_matches_its_equations():
    torch.manual_seed(0)
    cell = ConvGRUCell(3, 4)
    nn.init.normal_(cell.gates.bias)
    x, h = torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)
    out, new = cell(x, h)
    rz = torch.sigmoid(F.conv2d(torch.cat([x, h], 1), cell.gates.weight, cell.gates.bias, padding=1))
    r, z = rz[:, :4], rz[:, 4:]
    n = torch.tanh(F.conv2d(torch.cat([x, r * h], 1), cell.candidate.weight, cell.candidate.bias, padding=1))
    torch.testing.assert_close(out, (1 - z) * n + z * h)
    assert new is out


# ----------------------------------------------------------------------------- CBM-LSTM and BN modes
def test_cbm_lstm_is_r_times_convlstm_h_and_sequence_api_agrees():
    torch.manual_seed(0)
    cell = CBMLSTMCell(3, 4, r_act="relu", bn=False)
    xs = torch.randn(2, 5, 3, 6, 6)
    state = cell.init_state(xs[:, 0])
    lstm_state, outs = state, []
    for t in range(5):
        out, state = cell(xs[:, t], state)
        h, lstm_state = cell.t_unit(xs[:, t], lstm_state)
        torch.testing.assert_close(out, torch.relu(cell.r_conv(xs[:, t])) * h)
        outs.append(out)
    seq, final = cell.forward_sequence(xs)
    torch.testing.assert_close(seq, torch.stack(outs, 1))
    torch.testing.assert_close(final[1], state[1])
    add = CBMLSTMCell(3, 4, merge="addition", bn=False)
    out, (h, _) = add(xs[:, 0], add.init_state(xs[:, 0]))
    torch.testing.assert_close(out, torch.tanh(add.r_conv(xs[:, 0])) + h)


def test_bn_modes_per_step_vs_batch_time():
    torch.manual_seed(0)
    xs = torch.randn(4, 3, 2, 5, 5) * torch.arange(1, 4.0).view(1, 3, 1, 1, 1)  # steps differ in scale
    per_step, batch_time = TimeBatchNorm2d(2), TimeBatchNorm2d(2, bn_mode="batch_time")
    ref = nn.BatchNorm2d(2)
    torch.testing.assert_close(per_step(xs), torch.stack([ref(xs[:, t]) for t in range(3)], 1))
    torch.testing.assert_close(batch_time(xs), nn.BatchNorm2d(2)(xs.flatten(0, 1)).unflatten(0, (4, 3)))
    assert not torch.allclose(per_step(xs), batch_time(xs))
    assert isinstance(batch_time, nn.BatchNorm2d) and count_parameters(batch_time) == 4
    # a CBM-LSTM layer run layer-major differs only in the R unit's BN statistics; same in eval mode
    torch.manual_seed(1)
    a = CBMLSTMCell(2, 3, bn_mode="per_step")
    b = CBMLSTMCell(2, 3, bn_mode="batch_time")
    b.load_state_dict(a.state_dict())
    assert b.bn_mode == "batch_time"
    assert not torch.allclose(a.forward_sequence(xs)[0], b.forward_sequence(xs)[0])
    b.load_state_dict(a.state_dict())  # running statistics too: per-step updated them once per step
    a.eval(), b.eval()
    torch.testing.assert_close(a.forward_sequence(xs)[0], b.forward_sequence(xs)[0])
    with pytest.raises(ValueError, match="bn_mode"):
        TimeBatchNorm2d(2, bn_mode="time")


def test_cbm_lstm_temporal_dropout_cuts_only_the_t_path():
    cell = CBMLSTMCell(3, 4, bn=False, td_rate=1.0).train()
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    out, (h, c) = cell(x, cell.init_state(x))
    (g_t,) = torch.autograd.grad(c.sum(), x, retain_graph=True, allow_unused=True)
    (g_r,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    assert g_t is None or torch.count_nonzero(g_t) == 0
    assert g_r is not None and torch.count_nonzero(g_r) > 0


# ----------------------------------------------------------------------------- SCS
def _scs_stack(widths=(4, 5, 3), **kw):
    torch.manual_seed(0)
    return build_stack("scs", 3, list(widths), **kw).train()


def test_scs_main_stream_is_the_cbm_product():
    torch.manual_seed(0)
    scs = SCSCell(3, 4, r_act="relu", bn=False, gate_init="zeros")
    cbm = CBMCell(3, 4, r_act="relu", bn=False)
    cbm.load_state_dict(scs.state_dict())
    xs = torch.randn(2, 4, 3, 5, 5)
    s1, s2 = scs.init_state(xs[:, 0]), cbm.init_state(xs[:, 0])
    for t in range(4):
        u1, s1 = scs(xs[:, t], s1)
        u2, s2 = cbm(xs[:, t], s2)
        torch.testing.assert_close(u1, u2)
    # eq. 5 with c_0 = 0: the T unit sees sigmoid(0) = 0.5 at t = 1 by default
    assert torch.all(SCSCell(3, 4).init_state(xs[:, 0]).gate == 0.5)


def test_scs_sub_goal_streams_follow_eqs_9_and_11():
    stack = _scs_stack((4, 5), r_act="relu", bn=False)
    x = torch.randn(2, 3, 6, 6)
    out, states = stack.step(x)
    c1, c2 = stack.cells
    # T^1: relu(s) in every layer, no recurrence, R weights only (eqs. 9-10)
    sp = torch.relu(c2.r_conv(torch.relu(c1.r_conv(x))))
    torch.testing.assert_close(states[-1].spatial, sp)
    # T^2: relu(c) in every layer, own recurrent state, T weights only (eqs. 5, 11-12)
    half = lambda n: torch.full((2, n, 6, 6), 0.5)
    t1 = c1.t_conv(torch.cat([x, half(4)], 1))
    t2 = c2.t_conv(torch.cat([torch.relu(t1), half(5)], 1))
    torch.testing.assert_close(states[-1].temporal, torch.relu(t2))
    torch.testing.assert_close(states[-1].gate_temporal, torch.sigmoid(t2))
    assert scs_streams(out)[0] is states[-1].spatial and out.shape == (2, 5, 6, 6)


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def _zero(g):
    return g is None or torch.count_nonzero(g) == 0


def test_scs_gradient_rules():
    stack = _scs_stack()  # BN on, training mode
    xs = torch.randn(2, 3, 3, 6, 6, requires_grad=True)
    states, outs, sp, tmp = None, [], [], []
    for t in range(3):
        h, states = stack.step(xs[:, t], states)
        outs.append(h), sp.append(states[-1].spatial), tmp.append(states[-1].temporal)
    psi_s = [p for c in stack.cells for p in c.spatial_parameters()]
    psi_t = [p for c in stack.cells for p in c.temporal_parameters()]
    assert len(psi_s) + len(psi_t) == len(list(stack.parameters()))
    r_s = sum((s ** 2).mean() for s in sp)
    r_t = sum((s ** 2).mean() for s in tmp)
    g = sum((o ** 2).mean() for o in outs)
    # dr_s / dPsi_t = 0 and dr_t / dPsi_s = 0; each sub-goal trains its own Psi in *every* layer
    assert all(_zero(x) for x in _grads(r_s, psi_t))
    assert not any(_zero(x) for x in _grads(r_s, psi_s))
    assert all(_zero(x) for x in _grads(r_t, psi_s))
    assert not any(_zero(x) for x in _grads(r_t, psi_t))
    # the main goal reaches both, and both sub-goals reach the network input
    assert not any(_zero(x) for x in _grads(g, psi_s + psi_t))
    assert not _zero(_grads(r_s, [xs])[0]) and not _zero(_grads(r_t, [xs])[0])


def test_scs_streams_restart_detached_above_a_layer_without_sub_goals():
    torch.manual_seed(0)
    lower, upper = SCSCell(3, 4, sub_goals=False), SCSCell(4, 4)
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    u, s = lower(x, lower.init_state(x))
    assert s.spatial is None and scs_streams(u) is None
    _, s2 = upper(u, upper.init_state(u))
    for loss in (s2.spatial.sum(), s2.temporal.sum()):
        assert all(_zero(g) for g in _grads(loss, [*lower.parameters(), x]))
    assert all(_zero(g) for g in _grads(s2.spatial.sum(), upper.temporal_parameters()))


def test_scs_sub_goal_bn_leaves_running_stats_to_the_main_stream():
    cell = SCSCell(3, 4).train()
    x = torch.randn(2, 3, 5, 5) * 3 + 1
    ref = nn.BatchNorm2d(4)
    cell(x, cell.init_state(x))
    ref(cell.r_conv(x))
    torch.testing.assert_close(cell.r_bn.running_mean, ref.running_mean)
    assert int(cell.r_bn.num_batches_tracked) == 1 and int(cell.t_bn.num_batches_tracked) == 1


# ----------------------------------------------------------------------------- (e) STSGD
def _draws(cell, n):
    return [cell.stsgd_draw() for _ in range(n)]


def test_stsgd_draws_at_q_one_and_zero():
    cell = SCSCell(1, 1, stsgd_q=1.0).train()
    torch.manual_seed(0)
    assert set(_draws(cell, 200)) == {(True, False)}  # every step blocks the T input
    cell.stsgd_q = 0.0
    assert set(_draws(cell, 200)) == {(False, True)}  # every step blocks the R input


@pytest.mark.parametrize("keep,p_t,p_r", [("spatial", 0.5, 0.25), ("temporal", 0.25, 0.5), ("random", 0.375, 0.375)])
def test_stsgd_both_fire_rule(keep, p_t, p_r):
    cell = SCSCell(1, 1, stsgd_q=0.5, stsgd_keep=keep).train()
    torch.manual_seed(0)
    d = _draws(cell, 4000)
    assert (True, True) not in d  # never both blocked
    assert abs(sum(a for a, _ in d) / 4000 - p_t) < 0.03
    assert abs(sum(b for _, b in d) / 4000 - p_r) < 0.03
    torch.manual_seed(0)
    assert _draws(cell, 4000) == d  # torch's global generator: a seeded run repeats


def test_stsgd_off_in_eval_or_when_q_is_none():
    cell = SCSCell(1, 1, stsgd_q=1.0).eval()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    assert set(_draws(cell, 10)) == {(False, False)}
    cell.train().stsgd_q = None
    assert set(_draws(cell, 10)) == {(False, False)}
    assert torch.equal(before, torch.get_rng_state())  # no draw consumed
    m = create_model("polygon_scs_2", encoder="small", image_size=32, grid=8, feat_channels=8, width_mult=1 / 16)
    set_schedule(m, "stsgd_q", 0.3)
    assert [c.stsgd_q for c in m.rnn.cells] == [0.3, 0.3]


@pytest.mark.parametrize("q", [1.0, 0.0])
def test_stsgd_blocks_the_gradient_into_the_drawn_input(q):
    cell = SCSCell(3, 4, bn=False, r_act="relu", stsgd_q=q, sub_goals=False).train()
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    state = cell.init_state(x)
    u, s = cell(x, state)
    assert cell.last_stsgd == ((True, False) if q == 1.0 else (False, True))
    (g,) = torch.autograd.grad(u.sum(), x)
    # reference: the same expression with the blocked input detached by hand
    x_t, x_r = (x.detach(), x) if q == 1.0 else (x, x.detach())
    ref = torch.relu(cell.r_conv(x_r)) * torch.sigmoid(cell.t_conv(torch.cat([x_t, state.gate], 1)))
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(g, g_ref)
    torch.testing.assert_close(u, ref)
    assert all(p.requires_grad for p in cell.parameters())  # only the input is cut, weights still train


# ----------------------------------------------------------------------------- (f) input shapes
VECTOR = {"vrnn", "lstm", "gru"}
NEW = ["vrnn", "lstm", "gru", "convgru", "cbm_lstm", "scs"]
OLD = ["convlstm", "cbm"]


def _shape_cases(name):
    cell = CELLS[name](3, 4).train()
    if name in VECTOR:
        good, expected = torch.randn(2, 3), r"\(B, 3\)"
        bad = [torch.randn(2, 5), torch.randn(2, 3, 4, 4)]
    else:
        good, expected = torch.randn(2, 3, 5, 5), r"\(B, 3, H, W\)"
        bad = [torch.randn(2, 5, 5, 5), torch.randn(3, 5, 5), torch.randn(2, 3)]
    return cell, good, expected, bad


def _check_refuses(name):
    cell, good, expected, bad = _shape_cases(name)
    state = cell.init_state(good)
    cell(good, state)  # the right shape works
    for x in bad:
        with pytest.raises(ValueError, match=expected):
            cell(x, state)


@pytest.mark.parametrize("name", NEW)
def test_new_cells_refuse_wrong_input_shapes(name):
    _check_refuses(name)
    cell, _, expected, bad = _shape_cases(name)
    with pytest.raises(ValueError, match=expected):
        cell.init_state(bad[1])


@pytest.mark.parametrize("name", OLD)
def test_existing_cells_refuse_wrong_input_shapes(name):
    _check_refuses(name)
