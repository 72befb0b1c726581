"""The authors' released polygon cell (NOTES.md "CBM as released": ``Auxiliary Annotation/utils/rbm.py``:
R = tanh(conv(x)), T = sigmoid(conv(concat(state, x))), out = T * R, state = T, no BatchNorm,
xavier-normal) is our CBMCell with ``bn=False, init="xavier_normal"``: with its weights copied in (the T
conv's input blocks swapped: ours concatenates (x, state)), the outputs agree to < 1e-5."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from models.cells.cbm import CBMCell
from models.stacks import build_stack


class ReleasedPolygonCell(nn.Module):
    """Written from NOTES.md's description of the released cell (state channels first in T's input)."""

    def __init__(self, cin: int, ch: int, k: int = 3):
        super().__init__()
        self.ch = ch
        self.r = nn.Conv2d(cin, ch, k, padding=k // 2)
        self.t = nn.Conv2d(ch + cin, ch, k, padding=k // 2)
        for conv in (self.r, self.t):
            nn.init.xavier_normal_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x, state):
        t = torch.sigmoid(self.t(torch.cat([state, x], dim=1)))
        return t * torch.tanh(self.r(x)), t


@torch.no_grad()
def _copy(released: ReleasedPolygonCell, ours: CBMCell) -> None:
    for conv in (released.r, released.t):  # non-zero biases, so that they are checked too
        conv.bias.normal_()
    ch = released.ch
    ours.r_conv.weight.copy_(released.r.weight)
    ours.r_conv.bias.copy_(released.r.bias)
    ours.t_conv.weight.copy_(torch.cat([released.t.weight[:, ch:], released.t.weight[:, :ch]], dim=1))
    ours.t_conv.bias.copy_(released.t.bias)


def _run(cells, xs):
    outs, states = [], [None] * len(cells)
    for x in xs:
        h = x
        for i, cell in enumerate(cells):
            s = states[i] if states[i] is not None else x.new_zeros(x.shape[0], cell_ch(cell), *x.shape[2:])
            h, states[i] = cell(h, s)
        outs.append(h)
    return torch.stack(outs)


def cell_ch(cell):
    return cell.ch if isinstance(cell, ReleasedPolygonCell) else cell.hidden_channels


def test_released_polygon_cell_equals_cbm_without_bn():
    torch.manual_seed(0)
    widths, cin = [16, 8, 4], 7
    released = [ReleasedPolygonCell(c_in, w) for c_in, w in zip([cin] + widths[:-1], widths)]
    stack = build_stack("cbm", cin, widths, r_act="tanh", merge="product", bn=False, init="xavier_normal")
    for r, o in zip(released, stack.cells):
        _copy(r, o)
    stack.train()  # training mode: with BN this would differ (batch statistics)
    xs = torch.randn(6, 3, cin, 10, 10)
    ref = _run(released, xs)
    ours, _ = stack(xs.transpose(0, 1))
    assert (ours.transpose(0, 1) - ref).abs().max().item() < 1e-5
    assert ref.abs().mean().item() > 1e-3  # not a trivially zero output


def test_with_bn_the_cell_is_not_the_released_one():
    torch.manual_seed(0)
    released = ReleasedPolygonCell(5, 6)
    ours = CBMCell(5, 6, bn=True)
    _copy(released, ours)
    x, s = torch.randn(4, 5, 8, 8), torch.zeros(4, 6, 8, 8)
    assert (ours(x, s)[0] - released(x, s)[0]).abs().max().item() > 0.1


def test_xavier_normal_init_has_the_xavier_std():
    torch.manual_seed(0)
    cell = CBMCell(64, 64, kernel_size=3, bn=False, init="xavier_normal")
    w = cell.t_conv.weight
    fan_in, fan_out = w.shape[1] * 9, w.shape[0] * 9
    std = math.sqrt(2.0 / (fan_in + fan_out))
    assert abs(w.std().item() / std - 1) < 0.02
    assert abs(w.mean().item()) < 0.02 * std * 10
    # xavier-uniform (the default) has the same std but is bounded by sqrt(3) * std
    u = CBMCell(64, 64, kernel_size=3, bn=False).t_conv.weight
    assert u.abs().max().item() <= math.sqrt(3) * std + 1e-6 < w.abs().max().item()


def test_the_default_polygon_cbm_is_the_released_cell():
    """Issue 15: the polygon nets' CBM (``create_model("polygon_cbm_<d>")`` with no cell options, and the
    Table 6 runs' ``model_kw``) is the released cell: its weights copied in, the same outputs."""
    from benchmark.catalogue.tasks.polygon import polygon_config
    from models import create_model

    torch.manual_seed(0)
    nets = [create_model("polygon_cbm_5", grid=8, image_size=32, encoder="small", feat_channels=8, width_mult=1 / 16)]
    cfg = polygon_config("deeprnn.table6", "cpu", 0, "cbm", 5, "Polyg-CBM 5", None)
    nets.append(create_model(cfg.model, grid=8, image_size=32, **{**cfg.model_kw, "feat_channels": 8}))
    for net in nets:
        stack = net.rnn
        assert not any(isinstance(m, nn.BatchNorm2d) for m in stack.modules())
        released = [ReleasedPolygonCell(c.in_channels, c.hidden_channels) for c in stack.cells]
        for r, o in zip(released, stack.cells):
            _copy(r, o)
        stack.train()
        xs = torch.randn(4, 2, stack.cells[0].in_channels, 8, 8)
        ref = _run(released, xs)
        ours, _ = stack(xs.transpose(0, 1))
        assert (ours.transpose(0, 1) - ref).abs().max().item() < 1e-5
        assert ref.abs().mean().item() > 1e-3
