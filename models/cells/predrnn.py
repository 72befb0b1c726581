"""The PredRNN family's cells: the spatio-temporal LSTM (ST-LSTM) of PredRNN (Wang et al., NeurIPS 2017),
its memory-decoupling loss of PredRNN-V2 (Wang et al., TPAMI 2022), and the causal LSTM and gradient
highway unit (GHU) of PredRNN++ (Wang et al., ICML 2018). Written from the papers, laid out as OpenSTL's
Moving-MNIST configurations build them (bias-free convolutions, forget bias +1, no layer norm) so the
parameter counts of ``models.nets.openstl`` are OpenSTL's.

These cells carry two memories: the temporal memory C (per layer, across time, like an LSTM) and the
spatio-temporal memory M, which runs *zigzag*: up through the layers within a time step, and from the top
layer at t-1 to the bottom layer at t. M is neither the cell's own state nor its input, so the cells take
it as a third argument and return it (the common one-state interface of ``models.cells`` has no slot for
it); ``PredRNNStack`` runs the zigzag:

    h, (h, c), m, (delta_c, delta_m) = cell(x, (h, c), m)

ST-LSTM (PredRNN eqs. 3; x, h, m through kernel-k convolutions, sigma = sigmoid):

    g, i, f    = tanh, sigma, sigma (W_x x + W_h h_{t-1})         f with +1 (forget bias)
    c_t        = f * c_{t-1} + i * g                              delta_c = i * g
    g', i', f' = tanh, sigma, sigma (W'_x x + W_m m)              (m: the layer below, or the top at t-1)
    m_t        = f' * m + i' * g'                                 delta_m = i' * g'
    o          = sigma(W_ox x + W_oh h_{t-1} + W_o [c_t, m_t])
    h_t        = o * tanh(W_1x1 [c_t, m_t])

PredRNN-V2 keeps the cell and adds a decoupling loss on the memory increments: a shared 1x1 conv (the
"adapter", bias-free) maps delta_c and delta_m, and the loss is the mean over (batch, channel) of the
absolute cosine similarity of the two adapted maps over space -- 0 when they are orthogonal, 1 (its
maximum) when one is a multiple of the other (``decoupling_loss``).

Causal LSTM (PredRNN++ eqs. 1; the two memories cascaded, c_t feeding the m update):

    g, i, f    = tanh, sigma, sigma (W_x x + W_h h_{t-1} + W_c c_{t-1})       f with +1
    c_t        = f * c_{t-1} + i * g
    g', i', f' = tanh, sigma, sigma (W'_x x + W_c2m c_t + W_m m)              f' with +1, g' no m term
    m_t        = f' * tanh(W_mm m) + i' * g'
    o          = tanh(W_ox x + W_oh h_{t-1} + W_oc c_t + W_om m_t)
    h_t        = o * tanh(W_1x1 [c_t, m_t])

GHU (PredRNN++ eq. 2), between the bottom and the second layer: z_t = u * p + (1 - u) * z_{t-1} with
p = tanh(W_px x + W_pz z_{t-1}), u = sigma(W_ux x + W_uz z_{t-1}), x the bottom layer's h_t.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..stacks import RecurrentStack
from .vrnn import check_input


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)


class SpatioTemporalLSTMCell(nn.Module):
    """PredRNN's ST-LSTM. ``forward(x, (h, c), m) -> (h, (h, c), m, (delta_c, delta_m))``; the deltas
    are the increments i * g and i' * g' of c and m (PredRNN-V2's decoupling loss reads them).

    Parameters: k^2 * (7 in hid + 4 hid^2 + 3 hid^2 + 2 hid^2) + 2 hid^2 (all convs bias-free)."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 5, forget_bias: float = 1.0):
        super().__init__()
        self.in_channels, self.hidden_channels, self.forget_bias = in_channels, hidden_channels, forget_bias
        hid, k = hidden_channels, kernel_size
        self.conv_x = _conv(in_channels, 7 * hid, k)  # i, f, g, i', f', g', o from the input
        self.conv_h = _conv(hid, 4 * hid, k)          # i, f, g, o from h_{t-1}
        self.conv_m = _conv(hid, 3 * hid, k)          # i', f', g' from m
        self.conv_o = _conv(2 * hid, hid, k)          # o from [c_t, m_t]
        self.conv_last = _conv(2 * hid, hid, 1)       # [c_t, m_t] -> the state squashed into h

    def init_state(self, x: torch.Tensor):
        check_input(self, x, spatial=True)
        z = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])
        return (z, z)

    def input_terms(self, x: torch.Tensor, state) -> tuple:
        """(c_{t-1}, the 7 chunks of conv_x(x), the 4 of conv_h(h)): the start both cells share."""
        check_input(self, x, spatial=True)
        h, c = state
        return c, self.conv_x(x).chunk(7, dim=1), self.conv_h(h).chunk(4, dim=1)

    def forward(self, x: torch.Tensor, state, memory: torch.Tensor):
        c, (i_x, f_x, g_x, i_xm, f_xm, g_xm, o_x), (i_h, f_h, g_h, o_h) = self.input_terms(x, state)
        i_m, f_m, g_m = self.conv_m(memory).chunk(3, dim=1)
        delta_c = torch.sigmoid(i_x + i_h) * torch.tanh(g_x + g_h)
        c = torch.sigmoid(f_x + f_h + self.forget_bias) * c + delta_c
        delta_m = torch.sigmoid(i_xm + i_m) * torch.tanh(g_xm + g_m)
        m = torch.sigmoid(f_xm + f_m + self.forget_bias) * memory + delta_m
        cm = torch.cat([c, m], dim=1)
        h = torch.sigmoid(o_x + o_h + self.conv_o(cm)) * torch.tanh(self.conv_last(cm))
        return h, (h, c), m, (delta_c, delta_m)


class CausalLSTMCell(nn.Module):
    """PredRNN++'s causal LSTM; same call as ``SpatioTemporalLSTMCell`` (deltas: i * g and i' * g')."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 5, forget_bias: float = 1.0):
        super().__init__()
        self.in_channels, self.hidden_channels, self.forget_bias = in_channels, hidden_channels, forget_bias
        hid, k = hidden_channels, kernel_size
        self.conv_x = _conv(in_channels, 7 * hid, k)  # i, f, g, i', f', g', o
        self.conv_h = _conv(hid, 4 * hid, k)          # i, f, g, o
        self.conv_c = _conv(hid, 3 * hid, k)          # i, f, g from c_{t-1}
        self.conv_m = _conv(hid, 3 * hid, k)          # i', f', and W_mm m (the m carried through tanh)
        self.conv_c2m = _conv(hid, 4 * hid, k)        # i', f', g', o from c_t
        self.conv_om = _conv(hid, hid, k)             # o from m_t
        self.conv_last = _conv(2 * hid, hid, 1)

    init_state = SpatioTemporalLSTMCell.init_state

    input_terms = SpatioTemporalLSTMCell.input_terms

    def forward(self, x: torch.Tensor, state, memory: torch.Tensor):
        c, (i_x, f_x, g_x, i_xm, f_xm, g_xm, o_x), (i_h, f_h, g_h, o_h) = self.input_terms(x, state)
        i_c, f_c, g_c = self.conv_c(c).chunk(3, dim=1)
        i_m, f_m, m_m = self.conv_m(memory).chunk(3, dim=1)
        delta_c = torch.sigmoid(i_x + i_h + i_c) * torch.tanh(g_x + g_h + g_c)
        c = torch.sigmoid(f_x + f_h + f_c + self.forget_bias) * c + delta_c
        i_cm, g_cm, f_cm, o_c = self.conv_c2m(c).chunk(4, dim=1)
        delta_m = torch.sigmoid(i_xm + i_m + i_cm) * torch.tanh(g_xm + g_cm)
        m = torch.sigmoid(f_xm + f_m + f_cm + self.forget_bias) * torch.tanh(m_m) + delta_m
        o = torch.tanh(o_x + o_h + o_c + self.conv_om(m))
        h = o * torch.tanh(self.conv_last(torch.cat([c, m], dim=1)))
        return h, (h, c), m, (delta_c, delta_m)


class GradientHighwayUnit(nn.Module):
    """PredRNN++'s GHU: ``forward(x, z) -> z_new`` (z None: zeros). Weights uniform in +-``init_range``
    (PredRNN++'s released initialiser, 0.001: the highway starts near z = 0)."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 5, init_range: float = 1e-3):
        super().__init__()
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.conv_x = _conv(in_channels, 2 * hidden_channels, kernel_size)      # p, u from the input
        self.conv_z = _conv(hidden_channels, 2 * hidden_channels, kernel_size)  # p, u from z_{t-1}
        for conv in (self.conv_x, self.conv_z):
            nn.init.uniform_(conv.weight, -init_range, init_range)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        check_input(self, x, spatial=True)
        if z is None:
            z = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])
        p, u = (self.conv_x(x) + self.conv_z(z)).chunk(2, dim=1)
        u = torch.sigmoid(u)
        return u * torch.tanh(p) + (1 - u) * z


def decoupling_loss(delta_c: torch.Tensor, delta_m: torch.Tensor, adapter: nn.Module | None = None) -> torch.Tensor:
    """PredRNN-V2's memory-decoupling loss of one layer and step: mean over (batch, channel) of
    |cos(adapter(delta_c), adapter(delta_m))|, the cosine taken over the spatial positions. In [0, 1]:
    0 for orthogonal maps, 1 for parallel (or anti-parallel) ones. ``adapter``: the shared 1x1 conv
    (None: identity)."""
    if adapter is not None:
        delta_c, delta_m = adapter(delta_c), adapter(delta_m)
    return F.cosine_similarity(delta_c.flatten(2), delta_m.flatten(2), dim=2).abs().mean()


class PredRNNState(NamedTuple):
    layers: list          # per layer (h, c)
    memory: torch.Tensor  # M after the top layer: the bottom layer's M at the next step (zigzag)
    highway: torch.Tensor | None  # the GHU's z (PredRNN++), None without a GHU
    deltas: list          # per layer (delta_c, delta_m) of the last step ([] before the first)


class PredRNNStack(nn.Module):
    """A stack of ST-LSTM or causal LSTM cells with the zigzag memory flow, and an optional GHU between
    the bottom and the second layer (PredRNN++). ``step(x, state) -> (top h, state)``, as
    ``models.stacks.RecurrentStack.step``; every layer has the same width (M flows through all)."""

    def __init__(self, cells: Sequence[nn.Module], highway: nn.Module | None = None):
        super().__init__()
        widths = {c.hidden_channels for c in cells}
        if len(widths) != 1:
            raise ValueError(f"the zigzag memory needs equal widths, got {[c.hidden_channels for c in cells]}")
        if highway is not None and len(cells) < 2:
            raise ValueError("a gradient highway sits between the first two layers: needs >= 2 layers")
        self.cells = nn.ModuleList(cells)
        self.highway = highway

    widths = RecurrentStack.widths  # hidden channels per layer, as the common stacks report them

    def init_state(self, x: torch.Tensor) -> PredRNNState:
        layers, h = [], x
        for cell in self.cells:
            layers.append(cell.init_state(h))
            h = layers[-1][0]
        return PredRNNState(layers, h.new_zeros(h.shape), None, [])

    def step(self, x: torch.Tensor, state: PredRNNState | None = None):
        if state is None:
            state = self.init_state(x)
        m, z, layers, deltas, h = state.memory, state.highway, [], [], x
        for i, cell in enumerate(self.cells):
            if i == 1 and self.highway is not None:
                z = self.highway(h, z)
                h = z
            h, s, m, d = cell(h, state.layers[i], m)
            layers.append(s)
            deltas.append(d)
        return h, PredRNNState(layers, m, z, deltas)

    def forward(self, xs: torch.Tensor, state: PredRNNState | None = None):
        """xs (B, T, C, H, W) -> (top outputs (B, T, hidden, H, W), final state)."""
        outs = []
        for t in range(xs.shape[1]):
            h, state = self.step(xs[:, t], state)
            outs.append(h)
        return torch.stack(outs, dim=1), state


def build_predrnn_stack(cell: str, in_channels: int, widths: Sequence[int], kernel_size: int = 5,
                        highway: bool = False) -> PredRNNStack:
    """``cell``: "stlstm" (PredRNN, PredRNN-V2) or "causal" (PredRNN++; ``highway=True`` adds the GHU)."""
    cls = {"stlstm": SpatioTemporalLSTMCell, "causal": CausalLSTMCell}[cell]
    cells, c_in = [], in_channels
    for w in widths:
        cells.append(cls(c_in, w, kernel_size))
        c_in = w
    ghu = GradientHighwayUnit(widths[0], widths[0], kernel_size) if highway else None
    return PredRNNStack(cells, ghu)


__all__ = ["SpatioTemporalLSTMCell", "CausalLSTMCell", "GradientHighwayUnit", "PredRNNStack", "PredRNNState",
           "decoupling_loss", "build_predrnn_stack"]
