"""Convolutional minGRU (models/cells/minrnn.py): the parallel log-space scan equals the sequential
recurrence (float64 to 1e-12, float32 to 1e-5 relative), the cell's equations, numerical safety of the
scan, layer-major == time-major in a stack, registration, and a tiny learning run."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model, list_models
from models.cells import CELLS, ConvMinGRUCell
from models.cells.minrnn import g, log_g, scan_log
from models.stacks import RecurrentStack, build_stack

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _rel(a, b):
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).norm() / b.norm())


def _cell(dtype=torch.float64, seed=0, **kw):
    torch.manual_seed(seed)
    cell = ConvMinGRUCell(3, 4, **kw).to(dtype)
    nn.init.normal_(cell.gates.bias)  # non-zero biases: the gate and the candidate both matter
    return cell


def _stepped(cell, xs, h):
    outs = []
    for t in range(xs.shape[1]):
        o, h = cell(xs[:, t], h)
        outs.append(o)
    return torch.stack(outs, 1), h


def test_parallel_scan_equals_sequential_float64_with_nonzero_h0():
    cell = _cell()
    xs = (3 * torch.randn(2, 16, 3, 5, 6, dtype=torch.float64)).requires_grad_()
    h0 = torch.randn(2, 4, 5, 6, dtype=torch.float64)  # of both signs: h0 enters the scan linearly
    par, h_par = cell.forward_sequence(xs, h0, mode="parallel")
    seq, h_seq = cell.forward_sequence(xs, h0, mode="sequential")
    ref, h_ref = _stepped(cell, xs, h0)
    for a in (par, seq):
        assert a.shape == (2, 16, 4, 5, 6)
        assert (a - ref).abs().max() < 1e-12 * ref.abs().max()
    assert (h_par - h_ref).abs().max() < 1e-12 and (h_seq - h_ref).abs().max() < 1e-12
    # gradients agree too (input and weights)
    w = torch.randn_like(ref)
    g_par = torch.autograd.grad((par * w).sum(), [xs, cell.gates.weight, cell.gates.bias])
    g_ref = torch.autograd.grad((ref * w).sum(), [xs, cell.gates.weight, cell.gates.bias])
    assert all(_rel(a, b) < 1e-10 for a, b in zip(g_par, g_ref))
    # the fresh start (state None) is the zero state
    torch.testing.assert_close(cell.forward_sequence(xs)[0], _stepped(cell, xs, torch.zeros_like(h0))[0],
                               rtol=1e-12, atol=1e-12)


def test_parallel_scan_float32_within_1e_5():
    """float32: the scan's cumulative sums and the logcumsumexp round differently from the product of
    steps; over 9 steps the relative difference stays below 1e-5 (norm over the sequence)."""
    cell = _cell(torch.float32, seed=1)
    xs, h0 = torch.randn(3, 9, 3, 6, 6), torch.randn(3, 4, 6, 6)
    par, _ = cell.forward_sequence(xs, h0, mode="parallel")
    ref, _ = _stepped(cell, xs, h0)
    assert _rel(par, ref) < 1e-5


def test_one_step_is_the_min_gru_update():
    cell = _cell(torch.float32)
    x, h = torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)
    out, new = cell(x, h)
    k, v = F.conv2d(x, cell.gates.weight, cell.gates.bias, padding=1).chunk(2, dim=1)
    z = torch.sigmoid(k)
    h_tilde = torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
    torch.testing.assert_close(out, (1 - z) * h + z * h_tilde)
    assert new is out
    # minGRU: neither the gate nor the candidate sees h (one conv on the input alone)
    assert cell.gates.in_channels == 3 and sum(p.numel() for p in cell.parameters()) == 3 * 8 * 9 + 8


def test_g_and_the_scan_are_numerically_safe():
    v = torch.tensor([-80.0, -1.0, 0.0, 1e-6, 2.0, 80.0], dtype=torch.float64, requires_grad=True)
    assert torch.all(g(v) > 0)
    torch.testing.assert_close(log_g(v).exp(), g(v))
    (grad,) = torch.autograd.grad(log_g(v).sum(), v)
    assert torch.isfinite(grad).all()
    # 300 steps of gates saturated both ways (a_t ~ e^-30 and ~ 1): no overflow, no NaN, and in float64
    # the sequential values. float32 keeps the values finite but rounds log b_s - A_s with |A| ~ 4500
    # here: relative error ~ eps * |A_T| (documented in models/cells/minrnn.py), so checked loosely.
    torch.manual_seed(0)
    k = torch.cat([torch.full((150, 2, 1), 30.0), torch.full((150, 2, 1), -30.0)]) + torch.randn(300, 2, 1)
    v = torch.randn(300, 2, 1) * 5
    h0 = torch.randn(2, 1)
    ref, s = [], h0.double()
    for t in range(300):
        z = torch.sigmoid(k[t].double())
        s = (1 - z) * s + z * g(v[t].double())
        ref.append(s)
    ref = torch.stack(ref)
    for dtype, rtol in ((torch.float64, 1e-10), (torch.float32, 1e-3)):
        kk, vv = k.to(dtype).requires_grad_(), v.to(dtype).requires_grad_()
        h = scan_log(-F.softplus(kk), -F.softplus(-kk) + log_g(vv), h0.to(dtype))
        assert torch.isfinite(h).all()
        assert ((h.double() - ref).abs() / ref.abs().clamp_min(1e-3)).max() < rtol
        assert all(torch.isfinite(gr).all() for gr in torch.autograd.grad(h.sum(), [kk, vv]))


def _run(stack, xs, execution, states=None):
    x = xs.clone().requires_grad_()
    out, st = stack(x, states, execution=execution)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    loss = (out * w).sum() + sum(s.square().sum() for s in st)
    loss.backward()
    return out, st, x.grad, {n: p.grad for n, p in stack.named_parameters()}


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_stack_layer_major_equals_time_major(mode):
    """A RecurrentStack of ConvMinGRU cells (unequal widths) run layer-major -- each layer's
    forward_sequence, the parallel scan -- equals the time-major reference, from zero and from given
    states: outputs, final states, input and weight gradients, relative 1e-5 (float32)."""
    torch.manual_seed(0)
    ref_stack = build_stack("convmingru", 3, [4, 5, 4], mode=mode)
    for c in ref_stack.cells:
        nn.init.normal_(c.gates.bias)
    lm_stack = copy.deepcopy(ref_stack)
    xs = torch.randn(2, 7, 3, 6, 5)
    given = [torch.rand(2, w, 6, 5) for w in (4, 5, 4)]
    for states in (None, given):
        ref = _run(ref_stack, xs, "time", states)
        lm = _run(lm_stack, xs, "layer", states)
        assert _rel(lm[0], ref[0]) < 1e-5 and _rel(lm[2], ref[2]) < 1e-5
        assert all(_rel(a, b) < 1e-5 for a, b in zip(lm[1], ref[1]))
        assert all(_rel(lm[3][n], gr) < 1e-5 for n, gr in ref[3].items())
        ref_stack.zero_grad(), lm_stack.zero_grad()


def test_registered_and_refuses_wrong_shapes():
    assert CELLS["convmingru"] is ConvMinGRUCell
    assert {"seq_convmingru", "mmnist_convmingru"} <= set(list_models())
    cell = ConvMinGRUCell(3, 4)
    for bad in (torch.randn(2, 5, 5, 5), torch.randn(3, 5, 5), torch.randn(2, 3)):
        with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
            cell(bad, torch.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="mode"):
        ConvMinGRUCell(3, 4, mode="scan")
    # the OpenSTL-frame predictor: observed frames layer-major (scan) == time-major (steps)
    torch.manual_seed(0)
    m = create_model("mmnist_convmingru", width_mult=1 / 16, pre_seq_length=3, aft_seq_length=2)
    assert isinstance(m.rnn, RecurrentStack) and m.execution == "layer"
    x = torch.rand(2, 3, 1, 16, 16)
    lm = m(x)
    m.execution = "time"
    assert lm.shape == (2, 2, 1, 16, 16) and _rel(lm, m(x)) < 1e-5


def _moving_squares(n, steps=6, size=8, side=2, seed=0):
    """2x2 squares moving 1 px a step, left or right at random (wrapping): the next frame depends on the
    direction, which one frame does not show -- the model has to remember the previous one."""
    gen = torch.Generator().manual_seed(seed)
    d = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    row = torch.randint(0, size - side + 1, (n,), generator=gen)
    col = torch.randint(0, size, (n,), generator=gen)
    x = torch.zeros(n, steps, 1, size, size)
    for i in range(n):
        for t in range(steps):
            cols = [(int(col[i] + d[i] * t) + k) % size for k in range(side)]
            x[i, t, 0, int(row[i]):int(row[i]) + side, cols] = 1
    return x


def test_conv_min_gru_learns_moving_squares():
    """Two ConvMinGRU layers (8 channels) + a 1x1 head, trained layer-major (parallel scan) with
    teacher forcing for 60 Adam steps to predict frame t+1 (from the second step on, where the direction
    is visible). The loss ends below 0.3 of its start, and below 0.75 of the best motion-blind per-pixel
    prediction (constant p = 4/64, BCE = H(1/16) = 0.234): the net uses the remembered frame."""
    torch.manual_seed(0)
    data = _moving_squares(32)
    rnn = build_stack("convmingru", 1, [8, 8], kernel_size=3)
    head = nn.Conv2d(8, 1, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.05)
    losses = []
    for _ in range(60):
        out, _ = rnn(data[:, :-1], execution="layer")
        logits = head(out.flatten(0, 1)).unflatten(0, out.shape[:2])
        loss = F.binary_cross_entropy_with_logits(logits[:, 1:], data[:, 2:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    p = 4 / 64
    blind = -(p * torch.log(torch.tensor(p)) + (1 - p) * torch.log(torch.tensor(1 - p))).item()
    final = sum(losses[-5:]) / 5
    assert final < 0.3 * losses[0], (losses[0], final)
    assert final < 0.75 * blind, (blind, final)
