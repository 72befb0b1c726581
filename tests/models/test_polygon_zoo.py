"""Exact checks of the model zoo core that need no data."""
import pytest
import torch
import torch.nn.functional as F

from models import create_model, list_models, set_schedule
from models.cells import CBMCell
from models.nets.polygon_rnn import CELL_DEFAULTS, POLYGON_WIDTHS
from models.stacks import build_stack, count_parameters

# deeprnn Table 6 / NOTES.md: (c_in + h) * 4h * 9 + 4h per ConvLSTM layer; CBM: R conv + T conv, no
# BatchNorm (the released polygon cell; the BN variant's 2 x 2h affine parameters per layer do not move the
# printed 2-decimal value either).
EXPECTED = {
    ("convlstm", 2): 470_304, ("convlstm", 5): 2_939_040, ("convlstm", 10): 7_069_856, ("convlstm", 15): 15_712_288,
    ("cbm", 2): 197_712, ("cbm", 5): 1_127_952, ("cbm", 10): 2_677_264, ("cbm", 15): 5_846_480,
}
PRINTED = {("convlstm", 2): 0.47, ("convlstm", 5): 2.94, ("convlstm", 10): 7.07, ("convlstm", 15): 15.71,
           ("cbm", 2): 0.20, ("cbm", 5): 1.13, ("cbm", 10): 2.68, ("cbm", 15): 5.85}


@pytest.mark.parametrize("cell,depth", sorted(EXPECTED))
def test_polygon_rnn_parameter_counts_match_paper(cell, depth):
    stack = build_stack(cell, 131, POLYGON_WIDTHS[depth], **CELL_DEFAULTS[cell])
    n = count_parameters(stack)
    assert n == EXPECTED[cell, depth]
    assert round(n / 1e6, 2) == PRINTED[cell, depth]


def test_polygon_model_rnn_is_the_counted_stack():
    m = create_model("polygon_cbm_5", encoder="small")
    assert count_parameters(m.rnn) == EXPECTED["cbm", 5]
    assert m.head.out_features == 28 * 28 + 1 and m.head.in_features == 8 * 28 * 28


def test_registry_lists_and_rejects():
    names = list_models("polygon_*")
    assert {f"polygon_{c}_{d}" for c in ("convlstm", "cbm") for d in (2, 5, 10, 15)} <= set(names)
    with pytest.raises(KeyError, match="polygon_cbm_15"):
        create_model("polygon_cbm_16")


@pytest.mark.parametrize("name", list_models("polygon_*"))
def test_every_polygon_model_runs_forward_backward_and_decodes(name):
    torch.manual_seed(0)
    m = create_model(name, encoder="small", image_size=32, grid=8, feat_channels=8, width_mult=1 / 16)
    target = torch.tensor([[3, 10, 20, 64], [5, 6, 64, -100]])
    logits = m(torch.rand(2, 3, 32, 32), target)
    assert logits.shape == (2, 4, 65)
    F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=-100).backward()
    assert all(p.grad is not None for p in m.rnn.parameters())
    m.eval()
    pred = m.decode(torch.rand(2, 3, 32, 32), max_len=5)
    assert pred.shape == (2, 6)
    # every sequence ends with the end token, followed only by -1
    for row in pred.tolist():
        end = row.index(64)
        assert all(v == -1 for v in row[end + 1:])


def _two_layer(td_rate):
    torch.manual_seed(0)
    stack = build_stack("cbm", 3, [4, 4], r_act="tanh", bn=False)
    stack.set_td_rate(td_rate)
    return stack.train()


@pytest.mark.parametrize("td_rate", [0.0, 1.0])
def test_temporal_dropout_cuts_only_the_t_path(td_rate):
    cell = CBMCell(3, 4, bn=False, td_rate=td_rate).train()
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    out, c = cell(x, cell.init_state(x))
    (g_t,) = torch.autograd.grad(c.sum(), x, retain_graph=True, allow_unused=True)
    (g_r,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    if td_rate == 1.0:
        assert g_t is None or torch.count_nonzero(g_t) == 0  # nothing through T
    else:
        assert g_t is not None and torch.count_nonzero(g_t) > 0
    assert g_r is not None and torch.count_nonzero(g_r) > 0  # R always carries the gradient


@pytest.mark.parametrize("td_rate", [0.0, 1.0])
def test_temporal_dropout_isolates_lower_layer_from_upper_temporal_state(td_rate):
    stack = _two_layer(td_rate)
    xs = torch.randn(2, 3, 3, 5, 5)
    _, states = stack(xs)
    states[-1].sum().backward()  # the top layer's T state only
    lower = [p.grad for p in stack.cells[0].parameters()]
    if td_rate == 1.0:
        assert all(g is None or torch.count_nonzero(g) == 0 for g in lower)
    else:
        assert all(g is not None and torch.count_nonzero(g) > 0 for g in lower)
    # the R path still trains the lower layer at TD 1.0
    stack.zero_grad()
    out, _ = stack(xs)
    out.sum().backward()
    assert all(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in stack.cells[0].parameters())


def test_temporal_dropout_draws_once_per_call_at_the_rate():
    cell = CBMCell(1, 1, bn=False, td_rate=0.3).train()
    x = torch.randn(1, 1, 2, 2, requires_grad=True)
    torch.manual_seed(0)
    dropped = sum(not cell.temporal_dropout(x).requires_grad for _ in range(4000))
    assert 0.27 < dropped / 4000 < 0.33
    cell.eval()
    assert cell.temporal_dropout(x).requires_grad  # never in eval mode


def test_td_rate_schedule_reaches_every_cbm_cell():
    m = create_model("polygon_cbm_5", encoder="small", image_size=32, grid=8, width_mult=1 / 16, feat_channels=8)
    set_schedule(m, "td_rate", 0.5)
    assert [c.td_rate for c in m.rnn.cells] == [0.5] * 5


def test_cbm_with_r_fixed_to_one_is_a_stacked_sigmoid_conv_rnn():
    torch.manual_seed(0)
    stack = build_stack("cbm", 3, [4, 5], bn=False, representation=False).eval()
    xs = torch.randn(2, 6, 3, 7, 7)
    out, _ = stack(xs)
    # independent stacked RNN: h_t = sigmoid(conv([x_t, h_{t-1}])) with the T units' weights
    convs = [c.t_conv for c in stack.cells]
    hs = [torch.zeros(2, 4, 7, 7), torch.zeros(2, 5, 7, 7)]
    ref = []
    for t in range(6):
        inp = xs[:, t]
        for i, conv in enumerate(convs):
            hs[i] = torch.sigmoid(F.conv2d(torch.cat([inp, hs[i]], 1), conv.weight, conv.bias, padding=1))
            inp = hs[i]
        ref.append(inp)
    torch.testing.assert_close(out, torch.stack(ref, 1), rtol=0, atol=0)
