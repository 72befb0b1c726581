"""Layer-major execution (models/layer_major.py) equals the time-major reference (RecurrentStack.forward):
outputs, final states, input and parameter gradients, BN running statistics and the global RNG state,
fp32, relative error < 1e-5, for ConvLSTM, CBM (Temporal Dropout 0.5) and SCS (STSGD q and p_s, sub-goal
streams) at depths 1, 3, 5 and lengths 1, 4, 9, in training and eval mode."""
import copy

import pytest
import torch
import torch.nn as nn

from models import set_schedule
from models.cells import CBMCell, ConvGRUCell, SCSCell
from models.deep import skip_stack
from models.layer_major import predraw, run_layer_major
from models.stacks import RecurrentStack, build_stack

RTOL = 1e-5


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


CONFIGS = {
    "convlstm": dict(),
    "cbm": dict(td_rate=0.5),
    "cbm_add": dict(td_rate=0.5, merge="addition", r_act="relu"),
    "cbm_norep": dict(td_rate=0.5, representation=False, bn=False),
    "scs": dict(stsgd_q=0.5, stsgd_keep="random"),                 # sub-goal streams on (default)
    "scs_plain": dict(stsgd_q=0.3, sub_goals=False, gate_init="zeros"),
    "convmingru": dict(),  # layer-major = its parallel scan over time
}


def _make(name: str, depth: int, in_ch: int = 3, width: int = 4) -> RecurrentStack:
    cell = name.split("_")[0]
    widths = [width + (i % 2) for i in range(depth)]  # unequal widths: catches a wrong weight split
    stack = build_stack(cell, in_ch, widths, **CONFIGS[name])
    if cell == "scs":
        set_schedule(stack, "stsgd_q", CONFIGS[name]["stsgd_q"], p_s=0.6)  # STSGD eq. 17: both p_t = q and p_s set
    for m in stack.modules():  # non-trivial BN affine parameters and running statistics
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5)
    return stack


def _flat_states(states) -> list[torch.Tensor]:
    out = []
    for s in states:
        items = s if isinstance(s, (tuple, list)) else (s,)
        out += [t for t in items if isinstance(t, torch.Tensor)]
    return out


def _run(stack, xs, execution, seed, states=None):
    """Seeded forward + backward of a loss on the outputs AND every final-state tensor (the SCS sub-goal
    streams included); returns everything to compare."""
    torch.manual_seed(seed)
    x = xs.clone().requires_grad_()
    out, st = stack(x, states, execution=execution)
    g = torch.Generator().manual_seed(123)  # loss weights from a private generator
    loss = (out * torch.randn(out.shape, generator=g)).sum()
    for t in _flat_states(st):
        loss = loss + (t * torch.randn(t.shape, generator=g)).sum()
    loss.backward()
    after = torch.rand(4)  # the global generator must end in the same state
    params = {n: p.grad for n, p in stack.named_parameters()}
    buffers = {n: b.clone() for n, b in stack.named_buffers()}
    stsgd = [c.last_stsgd for c in stack.cells if isinstance(c, SCSCell)]
    return dict(out=out, states=_flat_states(st), xgrad=x.grad, params=params, buffers=buffers, after=after,
                stsgd=stsgd)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).norm() / b.norm().clamp_min(1e-30)) if b.norm() > 0 else float(a.norm())


def _bias_before_train_bn(stack, name: str) -> bool:
    """Conv biases directly followed by a training-mode BN: their exact gradient is 0 (BN removes
    per-channel constants), so both paths hold rounding noise there; checked for being noise instead."""
    if not stack.training or not name.endswith("conv.bias"):
        return False
    bn = stack.get_submodule(name[: -len("conv.bias")] + "bn")
    return isinstance(bn, nn.BatchNorm2d)


def _assert_equal(stack, ref, lm):
    assert lm["out"].shape == ref["out"].shape
    assert _rel(lm["out"], ref["out"]) < RTOL
    assert len(lm["states"]) == len(ref["states"])
    for a, b in zip(lm["states"], ref["states"]):
        assert _rel(a, b) < RTOL
    assert _rel(lm["xgrad"], ref["xgrad"]) < RTOL
    for n, gr in ref["params"].items():
        gl = lm["params"][n]
        assert (gr is None) == (gl is None), n
        if gr is None:
            continue
        if _bias_before_train_bn(stack, n):
            w = ref["params"][n[: -len("bias")] + "weight"].norm()
            assert gr.norm() < 1e-4 * w and gl.norm() < 1e-4 * w, n
        else:
            assert _rel(gl, gr) < RTOL, (n, _rel(gl, gr))
    for n, b in ref["buffers"].items():
        assert torch.equal(lm["buffers"][n], b) if b.dtype == torch.long else _rel(lm["buffers"][n], b) < RTOL, n
    assert torch.equal(lm["after"], ref["after"])
    assert lm["stsgd"] == ref["stsgd"]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("steps", [1, 4, 9])
@pytest.mark.parametrize("depth", [1, 3, 5])
@pytest.mark.parametrize("name", ["convlstm", "cbm", "scs", "convmingru"])
def test_layer_major_equals_time_major(name, depth, steps, train):
    torch.manual_seed(depth * 10 + steps)
    ref_stack = _make(name, depth).train(train)
    lm_stack = copy.deepcopy(ref_stack)
    xs = torch.randn(3, steps, 3, 6, 5)
    ref = _run(ref_stack, xs, "time", seed=7)
    lm = _run(lm_stack, xs, "layer", seed=7)
    _assert_equal(ref_stack, ref, lm)


@pytest.mark.parametrize("name", ["cbm_add", "cbm_norep", "scs_plain", "scs"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_variants_and_given_states(name, train):
    """Other cell options, and a run continued from given (non-zero) states."""
    torch.manual_seed(3)
    ref_stack = _make(name, 3).train(train)
    lm_stack = copy.deepcopy(ref_stack)
    xs0, xs1 = torch.randn(2, 3, 3, 6, 6), torch.randn(2, 5, 3, 6, 6)
    with torch.no_grad():
        torch.manual_seed(0)
        _, st = ref_stack(xs0, execution="time")
    torch.manual_seed(0)
    ref_stack.load_state_dict(lm_stack.state_dict())  # undo the warm-up's running-stat updates
    ref = _run(ref_stack, xs1, "time", seed=11, states=st)
    lm = _run(lm_stack, xs1, "layer", seed=11, states=st)
    _assert_equal(ref_stack, ref, lm)


def test_mixed_stack_and_attribute_dispatch():
    """A stack mixing the three cells (SCS streams restart after a CBM layer), dispatched by the
    ``execution`` attribute."""
    torch.manual_seed(5)
    cells = [SCSCell(3, 4, stsgd_q=0.5), CBMCell(4, 5, td_rate=0.5), SCSCell(5, 4, stsgd_q=0.4),
             SCSCell(4, 4, sub_goals=False, stsgd_q=0.5), SCSCell(4, 3, stsgd_q=0.5)]
    from models.cells import ConvLSTMCell
    cells.insert(2, ConvLSTMCell(5, 5))
    ref_stack = RecurrentStack(cells)
    lm_stack = copy.deepcopy(ref_stack)
    lm_stack.execution = "layer"
    xs = torch.randn(2, 6, 3, 5, 5)
    ref = _run(ref_stack, xs, None, seed=2)
    lm = _run(lm_stack, xs, None, seed=2)
    _assert_equal(ref_stack, ref, lm)


def test_draws_mixed_and_in_time_major_order():
    """The pre-drawn decisions are the reference's: both outcomes occur (so the per-step gradient masks
    are exercised by the tests above), and a hand-written time-outer / layer-inner replay agrees."""
    stack = _make("cbm", 5)
    torch.manual_seed(7)
    flags = predraw(list(stack.cells), 9)
    torch.manual_seed(7)
    replay = [[None] * 9 for _ in range(5)]
    for t in range(9):
        for i in range(5):
            replay[i][t] = bool(torch.rand(()) < 0.5)
    assert [[f[0] for f in layer] for layer in flags] == replay
    blocked = [b for layer in replay for b in layer]
    assert any(blocked) and not all(blocked)


def test_td_rate_one_blocks_temporal_path_gradient():
    """Temporal Dropout at rate 1 in layer-major mode: no gradient reaches the input through any T unit
    (the state of layer 0 and, with R fixed to 1, the whole output), while the T conv still learns."""
    torch.manual_seed(0)
    xs = torch.randn(2, 5, 3, 6, 6, requires_grad=True)
    stack = build_stack("cbm", 3, [4, 4, 4], td_rate=1.0)
    out, st = stack(xs, execution="layer")
    g_state = torch.autograd.grad(st[0].sum(), xs, allow_unused=True, retain_graph=True)[0]
    assert g_state is None or torch.count_nonzero(g_state) == 0
    g_out = torch.autograd.grad(out.sum(), xs)[0]
    assert torch.count_nonzero(g_out) > 0  # the R path still carries gradient

    norep = build_stack("cbm", 3, [4, 4], td_rate=1.0, representation=False)
    out, _ = norep(xs, execution="layer")
    out.square().sum().backward()
    assert xs.grad is None or torch.count_nonzero(xs.grad) == 0
    top, below = norep.cells[-1], norep.cells[0]
    assert top.t_conv.weight.grad.abs().sum() > 0  # the T conv itself still learns (x.detach() semantics)
    assert below.t_conv.weight.grad is None  # ... but nothing reaches the layer below through T inputs

    norep.set_td_rate(0.0)
    xs.grad = None
    out, _ = norep(xs, execution="layer")
    out.square().sum().backward()
    assert torch.count_nonzero(xs.grad) > 0


def test_unsupported_raise():
    xs = torch.randn(1, 2, 3, 4, 4)
    with pytest.raises(NotImplementedError, match="execution='time'"):
        skip_stack("cbm", 3, [4] * 5, every=5)(xs, execution="layer")
    with pytest.raises(NotImplementedError, match="ConvGRUCell"):
        RecurrentStack([ConvGRUCell(3, 4)])(xs, execution="layer")
    with pytest.raises(ValueError, match="execution"):
        build_stack("cbm", 3, [4])(xs, execution="batch")
    with pytest.raises(ValueError, match="shape"):
        run_layer_major(build_stack("cbm", 3, [4]), torch.randn(1, 2, 5, 4, 4))


@pytest.mark.parametrize("name", ["convlstm", "cbm", "scs"])
def test_chunked_batched_convs(name, monkeypatch):
    """The batched convolutions split into chunks of whole time steps (as on large maps) change nothing."""
    import models.layer_major as lm

    monkeypatch.setattr(lm, "CHUNK_BYTES", 2 * 3 * 6 * 6 * 4 * 2)  # chunks of 2 steps at the first layer
    torch.manual_seed(9)
    ref_stack = _make(name, 3)
    lm_stack = copy.deepcopy(ref_stack)
    xs = torch.randn(2, 7, 3, 6, 6)
    assert len(lm._chunks(xs.transpose(0, 1).reshape(14, 3, 6, 6), 7, 2)) == 4
    _assert_equal(ref_stack, _run(ref_stack, xs, "time", seed=4), _run(lm_stack, xs, "layer", seed=4))


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", ["convlstm", "cbm", "scs", "scs_plain", "convmingru"])
def test_cell_forward_sequence_alone(name, train):
    """A cell's own ``forward_sequence`` (its draws made inside) equals its ``forward`` stepped over time:
    outputs, final state, input gradient and the global generator's state."""
    torch.manual_seed(1)
    cell = _make(name, 1).cells[0].train(train)
    twin = copy.deepcopy(cell)
    xs = torch.randn(2, 5, 3, 6, 6)

    torch.manual_seed(3)
    x_ref = xs.clone().requires_grad_()
    state, outs = cell.init_state(x_ref[:, 0]), []
    for t in range(5):
        h, state = cell(x_ref[:, t], state)
        outs.append(h)
    ref_out, ref_state, ref_after = torch.stack(outs, dim=1), _flat_states([state]), torch.rand(3)
    ref_out.square().sum().backward()

    torch.manual_seed(3)
    x_lm = xs.clone().requires_grad_()
    out, st = twin.forward_sequence(x_lm)
    after = torch.rand(3)
    out.square().sum().backward()

    assert out.shape == ref_out.shape and _rel(out, ref_out) < RTOL
    assert len(_flat_states([st])) == len(ref_state)
    assert all(_rel(a, b) < RTOL for a, b in zip(_flat_states([st]), ref_state))
    assert _rel(x_lm.grad, x_ref.grad) < RTOL
    assert torch.equal(after, ref_after)


def test_only_declaring_classes_run_layer_major():
    """Subclasses (the strided cells of models.deep) and CBMLSTMCell (a forward_sequence of its own, with
    batch x time BN) are not covered: they raise instead of running another class's path."""
    from models.cells import CBMLSTMCell
    from models.deep import StridedCBMCell

    xs = torch.randn(1, 2, 3, 8, 8)
    with pytest.raises(NotImplementedError, match="StridedCBMCell"):
        StridedCBMCell(3, 4, stride=2).forward_sequence(xs)
    with pytest.raises(NotImplementedError, match="layer 1 is CBMLSTMCell"):
        RecurrentStack([CBMCell(3, 4), CBMLSTMCell(4, 4)])(xs, execution="layer")
