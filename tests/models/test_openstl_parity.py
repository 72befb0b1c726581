"""OpenSTL Moving-MNIST parity configurations (models/nets/openstl.py, models/cells/predrnn.py):
parameter counts against OpenSTL's published table (built on the meta device), tiny forward/backward of
every new model, the zigzag memory, PredRNN-V2's decoupling loss and reverse scheduled sampling. The FLOP
comparison (``openstl_parity()``) is a report, not a test."""
import pytest
import torch
import torch.nn as nn

from models import create_model, list_models
from models.cells.predrnn import GradientHighwayUnit, PredRNNStack, SpatioTemporalLSTMCell, decoupling_loss
from models.nets.openstl import (OPENSTL_MMNIST, reverse_scheduled_sampling_mask,
                                 reverse_scheduled_sampling_probs)
from models.stacks import count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

# measured (meta device); OpenSTL's published values are OPENSTL_MMNIST's
COUNTS = {"mmnist_convlstm_s": 15_085_568, "mmnist_predrnn": 23_838_720, "mmnist_predrnn_v2": 23_855_104,
          "mmnist_predrnn_pp": 38_584_320, "mmnist_simvp_incepu": 57_946_113, "mmnist_simvp_gsta_s": 46_769_665}
TINY = dict(width_mult=1 / 16, pre_seq_length=4, aft_seq_length=4)  # RNN hidden 8; SimVP hid_S 4, hid_T 32


def _meta(name, **kw):
    with torch.device("meta"):
        return create_model(name, **kw)


@pytest.mark.parametrize("name", sorted(OPENSTL_MMNIST))
def test_parameter_counts_equal_openstl_within_0_1M(name):
    n = count_parameters(_meta(name))
    assert n == COUNTS[name]
    assert abs(n / 1e6 - OPENSTL_MMNIST[name][1]) < 0.1


def test_counts_by_formula_and_without_the_unused_openstl_convs():
    """ST-LSTM layer: k^2 (7 in h + 4 h^2 + 3 h^2 + 2 h * h) + 2 h^2 (conv_last 1x1), bias-free; the
    parity-only convs (never called) are what brings ConvLSTM-S and PredRNN++ to OpenSTL's totals."""
    h, k, c = 128, 25, 16
    st = lambda cin: k * (7 * cin * h + 4 * h * h + 3 * h * h + 2 * h * h) + 2 * h * h
    assert count_parameters(_meta("mmnist_predrnn")) == st(c) + 3 * st(h) + h * c
    assert count_parameters(_meta("mmnist_predrnn_v2")) - count_parameters(_meta("mmnist_predrnn")) == h * h
    assert count_parameters(_meta("mmnist_convlstm_s", openstl_unused=False)) == 11_677_696
    assert count_parameters(_meta("mmnist_predrnn_pp", openstl_unused=False)) == 35_307_520
    m = _meta("mmnist_convlstm_s")
    assert count_parameters(m) - count_parameters(m.openstl_unused) == 11_677_696


def _first_layer_weight(m):
    if hasattr(m, "encoder"):  # SimVP: the encoder's first conv
        return m.encoder.layers[0].conv.weight
    return next(m.rnn.cells[0].parameters())


NEW = sorted(list_models("mmnist_*"))


@pytest.mark.parametrize("name", NEW)
def test_tiny_forward_backward(name):
    torch.manual_seed(0)
    m = create_model(name, **TINY).train()
    x, y = torch.rand(2, 4, 1, 16, 16), torch.rand(2, 4, 1, 16, 16)
    out = m(x)
    assert out.shape == (2, 4, 1, 16, 16)
    loss = m.training_loss(x, y)
    loss.backward()
    assert torch.isfinite(loss)
    first = _first_layer_weight(m)
    assert first.grad is not None and torch.count_nonzero(first.grad) > 0
    unused = {id(p) for p in getattr(m, "openstl_unused", nn.Module()).parameters()}
    missing = [n for n, p in m.named_parameters()
               if id(p) not in unused and (p.grad is None or not torch.isfinite(p.grad).all())]
    assert not missing, missing
    assert all(p.grad is None for p in getattr(m, "openstl_unused", nn.Module()).parameters())


def test_simvp_other_output_lengths():
    torch.manual_seed(0)
    x = torch.rand(1, 4, 1, 16, 16)
    longer = create_model("mmnist_simvp_gsta_s", width_mult=1 / 16, pre_seq_length=4, aft_seq_length=6).eval()
    out = longer(x)
    assert out.shape == (1, 6, 1, 16, 16)
    torch.testing.assert_close(out[:, :4], longer.one_pass(x))  # then a pass on its own output
    torch.testing.assert_close(out[:, 4:], longer.one_pass(longer.one_pass(x))[:, :2])
    with pytest.raises(ValueError, match="SimVP expects"):
        longer(torch.rand(1, 3, 1, 16, 16))


def test_zigzag_memory_flows_from_the_top_layer_to_the_bottom_at_the_next_step():
    torch.manual_seed(0)
    stack = PredRNNStack([SpatioTemporalLSTMCell(3, 4, 3), SpatioTemporalLSTMCell(4, 4, 3),
                          SpatioTemporalLSTMCell(4, 4, 3)])
    seen = []
    for cell in stack.cells:
        cell.register_forward_hook(lambda mod, args, out: seen.append((args[2], out[2])))
    x = torch.randn(2, 3, 5, 5)
    _, state = stack.step(x)
    assert torch.count_nonzero(seen[0][0]) == 0  # M starts at zero
    assert seen[1][0] is seen[0][1] and seen[2][0] is seen[1][1]  # up through the layers
    assert state.memory is seen[2][1]
    stack.step(x, state)
    assert seen[3][0] is seen[2][1]  # the top's M of step t is the bottom's M at t + 1
    with pytest.raises(ValueError, match="equal widths"):
        PredRNNStack([SpatioTemporalLSTMCell(3, 4), SpatioTemporalLSTMCell(4, 5)])


def test_ghu_update():
    torch.manual_seed(0)
    ghu = GradientHighwayUnit(3, 3, 3)
    x, z = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    p, u = (ghu.conv_x(x) + ghu.conv_z(z)).chunk(2, dim=1)
    torch.testing.assert_close(ghu(x, z), torch.sigmoid(u) * torch.tanh(p) + (1 - torch.sigmoid(u)) * z)
    torch.testing.assert_close(ghu(x), ghu(x, torch.zeros_like(z)))


def test_decoupling_loss_exact_values():
    """0 for orthogonal increments, 1 (its maximum) for parallel or anti-parallel ones; the shared
    adapter is applied to both first."""
    a = torch.zeros(2, 3, 4, 4)
    b = torch.zeros(2, 3, 4, 4)
    a[..., :2, :] = torch.rand(2, 3, 2, 4) + 0.1  # disjoint supports: orthogonal over space
    b[..., 2:, :] = torch.rand(2, 3, 2, 4) + 0.1
    assert decoupling_loss(a, b).item() == 0.0
    assert decoupling_loss(a, a).item() == pytest.approx(1.0, abs=1e-6)
    assert decoupling_loss(a, -2.5 * a).item() == pytest.approx(1.0, abs=1e-6)
    mixed = torch.randn(2, 3, 4, 4)
    assert 0.0 < decoupling_loss(a, mixed).item() < 1.0
    adapter = nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        adapter.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    assert decoupling_loss(a, b, adapter).item() == 0.0
    assert decoupling_loss(a, 3 * a, adapter).item() == pytest.approx(1.0, abs=1e-6)
    # the model: one term per layer and step, averaged
    torch.manual_seed(0)
    m = create_model("mmnist_predrnn_v2", **TINY)
    m(torch.rand(1, 4, 1, 16, 16))
    assert 0.0 < m.decouple_loss.item() < 1.0


def test_reverse_scheduled_sampling_endpoints():
    assert reverse_scheduled_sampling_probs(0) == (0.5, 0.5)
    assert reverse_scheduled_sampling_probs(24_999) == (0.5, 0.5)
    assert reverse_scheduled_sampling_probs(25_000) == (0.5, 0.5)  # continuous where the schedule starts
    enc, dec = reverse_scheduled_sampling_probs(37_500)
    assert 0.5 < enc < 1.0 and dec == pytest.approx(0.25)
    assert reverse_scheduled_sampling_probs(50_000) == (1.0, 0.0)
    assert reverse_scheduled_sampling_probs(10 ** 6) == (1.0, 0.0)
    # from step 2 on: the encoder always reads the truth, the decoder never -- the test-time rollout
    mask = reverse_scheduled_sampling_mask(50_000, 3)
    assert mask.shape == (3, 18)
    assert torch.equal(mask, torch.tensor([[1.0] * 9 + [0.0] * 9] * 3))
    start = reverse_scheduled_sampling_mask(0, 4000, generator=torch.Generator().manual_seed(0))
    assert abs(start.mean().item() - 0.5) < 0.01


def test_mask_at_the_end_of_the_schedule_is_the_test_time_forward():
    torch.manual_seed(0)
    m = create_model("mmnist_predrnn_v2", **TINY).eval()
    x, y = torch.rand(2, 4, 1, 16, 16), torch.rand(2, 4, 1, 16, 16)
    end = reverse_scheduled_sampling_mask(10 ** 6, 2, pre_seq_length=4, aft_seq_length=4)
    with torch.no_grad():
        torch.testing.assert_close(m(x, y, end), m(x), rtol=0, atol=0)
        teacher = m(x, y, torch.ones(2, 6), return_all=True)  # every step reads the true frame
        assert not torch.allclose(teacher[:, 3:], m(x))
        assert teacher.shape == (2, 7, 1, 16, 16)
