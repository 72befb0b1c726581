"""PreRNN (Yang, Molchanov & Kautz, CVPR 2018): make a pretrained fc or conv layer recurrent.

Reading of the paper's equations (prernn section 3):

- Eq. 4: the last fc/conv layer is y = H(W_xy o x). Its bias (omitted "for brevity" in eq. 1) belongs to
  the affine term W_xy o x; for a conv layer the BN (B) and its beta play that role.
- Eq. 5 (VRNN, fc): y_t = H(W_xy x_t + W_hh y_{t-1}): the pretrained layer (weight *and* bias) is the
  input-to-hidden term, H is the pretrained layer's own activation (ReLU for VGG/C3D fc6/fc7 and
  ResNet), and the only new weight is W_hh (no new bias).
- Eq. 6 (VRNN, conv): y_t = H(P(B(W_xy * x_t) + gamma_t) + W_hh y_{t-1}): conv, BN with the pretrained
  ("pre-computed mini-batch") statistics, the optional residual shortcut gamma_t (res5b's output for
  ResNet50's res5c), global average pooling P, *then* the recurrent term and H. The hidden state is the
  pooled vector, so W_hh is a 1x1 recurrent kernel (H x H matrix). Taken literally, H sits after P (ResNet
  applies its ReLU before pooling); ``pre_pool_activation="relu"`` offers ResNet's order as an option.
- Eq. 7 (PreRNN, gate-dependent): u_t(g) = W^p_ig x_t (fc) or P(B(W^p_ig * x_t) + gamma_t) (conv), one
  input-to-hidden projection per gate g (LSTM i, f, o, c; GRU r, z, h). W_xy *becomes* the projection of
  one gate and its values initialise the others' (copies: conv/linear weight, its bias / BN).
- Eqs. 8-9: the LSTM / GRU gates with u_t(g) in place of W_ig y_t; sigm/tanh as in eqs. 2-3 (H of eq. 4 is
  not used); c_t, h_t updated as in eqs. 2-3 (GRU: h~ = tanh(u(h) + W_hh (r * h_{t-1})),
  h_t = (1 - z) h_{t-1} + z h~). Only the hidden-to-hidden W_h are new random weights.
- Eq. 10 (PreRNN-SIH): one input-to-hidden state v_t = the pretrained layer itself, and eqs. 11-12 feed
  the same v_t to every gate; new weights: the per-gate W_h only. For VRNN, PreRNN and PreRNN-SIH coincide
  (one gate), as the paper's "-" entries say.

Counting (Table 3, ``new_recurrent_parameters``): the *newly introduced* recurrent weights are the
gate copies of the pretrained weight (G - 1 of them; zero for SIH) plus the G hidden-to-hidden matrices;
biases and BN affine copies are left out (the paper omits biases throughout; ``include_bias=True`` adds
them, which does not move any printed digit). A traditional RNN layer (eqs. 1-3) is all new.
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

GATES: dict[str, tuple[str, ...]] = {"vrnn": ("h",), "lstm": ("i", "f", "o", "c"), "gru": ("r", "z", "h")}
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda x: x}


class FCProjection(nn.Module):
    """W x + b of a (pretrained) fc layer: eq. 7/10, fc case."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.linear = linear
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x, shortcut=None):
        if shortcut is not None:
            raise ValueError("an fc PreRNN layer takes no shortcut")
        return self.linear(x.flatten(1))


class ConvBNProjection(nn.Module):
    """P(B(W * x) + gamma): eq. 6/7/10, conv case (B uses the pretrained running statistics)."""

    def __init__(self, conv: nn.Module, bn: nn.Module | None, frozen_stats: bool = True,
                 pre_pool_activation: str | None = None):
        super().__init__()
        self.conv, self.bn = conv, bn
        self.frozen_stats = frozen_stats
        self.pre_pool_activation = pre_pool_activation
        self.out_features = conv.out_channels

    def forward(self, x, shortcut=None):
        y = self.conv(x)
        bn = self.bn
        if bn is not None:
            use_batch = self.training and not self.frozen_stats
            y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                             training=use_batch, momentum=bn.momentum or 0.0, eps=bn.eps)
        if shortcut is not None:
            y = y + shortcut
        if self.pre_pool_activation:
            y = ACTIVATIONS[self.pre_pool_activation](y)
        return y.flatten(2).mean(-1)  # P: global average pooling


def _projection(pretrained, bn=None, **conv_kw) -> nn.Module:
    if isinstance(pretrained, (FCProjection, ConvBNProjection)):
        return pretrained
    if isinstance(pretrained, nn.Linear):
        return FCProjection(pretrained)
    if isinstance(pretrained, nn.Sequential) and len(pretrained) == 2:
        pretrained = tuple(pretrained)
    if isinstance(pretrained, tuple):
        pretrained, bn = pretrained
    if isinstance(pretrained, nn.modules.conv._ConvNd):
        return ConvBNProjection(pretrained, bn, **conv_kw)
    raise TypeError(f"PreRNN needs an nn.Linear, a conv, or (conv, bn); got {type(pretrained).__name__}")


def _weights(module: nn.Module, include_bias: bool) -> int:
    return sum(p.numel() for p in module.parameters() if include_bias or p.dim() >= 2)


class RecurrentLayer(nn.Module):
    """VRNN / LSTM / GRU over per-gate input projections and a new hidden-to-hidden matrix.

    ``projections``: one module per gate (gate-dependent input-to-hidden) or a single module shared by all
    gates (single input-to-hidden); each maps x_t (and an optional shortcut) to (B, hidden).
    ``pretrained_inputs``: how many of the projections hold pretrained weights (not counted as new).
    ``forward(xs, shortcut=None, state=None)``: xs (B, T, ...) -> ((B, T, hidden), final state).
    """

    def __init__(self, projections: Sequence[nn.Module], hidden_size: int, kind: str = "lstm",
                 activation: str = "tanh", hh_init: str = "uniform", pretrained_inputs: int = 0):
        super().__init__()
        if kind not in GATES:
            raise ValueError(f"unknown recurrent kind {kind!r}; known: {sorted(GATES)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
        self.kind, self.gates, self.hidden_size = kind, GATES[kind], hidden_size
        n = len(self.gates)
        if len(projections) not in (1, n):
            raise ValueError(f"{kind} needs 1 (shared) or {n} input projections, got {len(projections)}")
        self.input_proj = nn.ModuleList(projections)
        self.activation = activation
        self.pretrained_inputs = pretrained_inputs
        ref = next(self.input_proj[0].parameters())
        # Hidden-to-hidden W_h of all gates stacked in gate order; no hidden bias (eqs. 5, 8-12).
        self.weight_hh = nn.Parameter(torch.empty(n * hidden_size, hidden_size, device=ref.device, dtype=ref.dtype))
        self.hh_init = hh_init
        self.reset_recurrent_parameters()

    # ------------------------------------------------------------------ bookkeeping
    @property
    def shared_input(self) -> bool:
        return len(self.input_proj) == 1

    def reset_recurrent_parameters(self) -> None:
        w = self.weight_hh
        if w.is_meta:
            return
        with torch.no_grad():
            if self.hh_init == "uniform":  # PyTorch's RNN default
                bound = 1.0 / math.sqrt(self.hidden_size)
                w.uniform_(-bound, bound)
            elif self.hh_init == "orthogonal":
                for blk in w.split(self.hidden_size):
                    nn.init.orthogonal_(blk)
            elif self.hh_init == "zeros":
                w.zero_()
            else:
                raise ValueError(f"unknown hh_init {self.hh_init!r}")

    def new_parameters(self, include_bias: bool = False) -> int:
        """Newly introduced recurrent parameters (Table 3's count): non-pretrained projections + W_h."""
        extra = sum(_weights(p, include_bias) for p in self.input_proj[self.pretrained_inputs:])
        return extra + self.weight_hh.numel()

    def init_state(self, batch: int, like: torch.Tensor):
        h = like.new_zeros(batch, self.hidden_size)
        return (h, h.clone()) if self.kind == "lstm" else h

    # ------------------------------------------------------------------ computation
    def project(self, x, shortcut=None) -> list[torch.Tensor]:
        """Input-to-hidden states u(g) (eq. 7) or the shared v (eq. 10), one entry per gate."""
        us = [p(x, shortcut) for p in self.input_proj]
        return us * len(self.gates) if self.shared_input else us

    def cell(self, us: Sequence[torch.Tensor], state, return_gates: bool = False):
        H = self.hidden_size
        h_prev = state[0] if self.kind == "lstm" else state
        W = self.weight_hh
        if self.kind == "vrnn":  # eqs. 1, 5, 6
            h = ACTIVATIONS[self.activation](us[0] + F.linear(h_prev, W))
            gates = {"h": h}
            new = h
        elif self.kind == "lstm":  # eqs. 2, 8, 11
            r = F.linear(h_prev, W).split(H, dim=-1)
            i = torch.sigmoid(us[0] + r[0])
            f = torch.sigmoid(us[1] + r[1])
            o = torch.sigmoid(us[2] + r[2])
            c_tilde = torch.tanh(us[3] + r[3])
            c = f * state[1] + i * c_tilde
            h = o * torch.tanh(c)
            gates = {"i": i, "f": f, "o": o, "c": c_tilde}
            new = (h, c)
        else:  # GRU: eqs. 3, 9, 12
            rr, rz = F.linear(h_prev, W[: 2 * H]).split(H, dim=-1)
            r = torch.sigmoid(us[0] + rr)
            z = torch.sigmoid(us[1] + rz)
            h_tilde = torch.tanh(us[2] + F.linear(r * h_prev, W[2 * H:]))
            h = (1 - z) * h_prev + z * h_tilde
            gates = {"r": r, "z": z, "h": h_tilde}
            new = h
        return (h, new, gates) if return_gates else (h, new)

    def step(self, x, state=None, shortcut=None, return_gates: bool = False):
        """One time step: x (B, ...) -> h (B, hidden), new state [, gate activations]."""
        us = self.project(x, shortcut)
        if state is None:
            state = self.init_state(us[0].shape[0], us[0])
        return self.cell(us, state, return_gates)

    def forward(self, xs, shortcut=None, state=None):
        B, T = xs.shape[:2]
        sc = None if shortcut is None else shortcut.flatten(0, 1)
        # Input-to-hidden terms do not depend on the state: compute them for all steps at once.
        us = [u.view(B, T, -1) for u in self.project(xs.flatten(0, 1), sc)]
        if state is None:
            state = self.init_state(B, us[0])
        outs = []
        for t in range(T):
            h, state = self.cell([u[:, t] for u in us], state)
            outs.append(h)
        return torch.stack(outs, 1), state

    def extra_repr(self) -> str:
        return (f"kind={self.kind}, hidden_size={self.hidden_size}, shared_input={self.shared_input}, "
                f"pretrained_inputs={self.pretrained_inputs}")


class PreRNNLayer(RecurrentLayer):
    """A pretrained fc layer (``nn.Linear``) or conv+BN (``(conv, bn)`` / ``conv, bn=bn``) made recurrent.

    ``sih=False``: PreRNN, gate-dependent input-to-hidden weights (eq. 7): the pretrained layer becomes
    the first gate's projection, the other gates get copies of it (same initial values, own parameters).
    ``sih=True``: PreRNN-SIH, the pretrained layer is the single input-to-hidden state of all gates (eq. 10).
    ``activation``: H of eqs. 5-6, used by VRNN only (LSTM/GRU use sigm/tanh): the pretrained layer's own
    activation, ReLU for VGG/C3D fc and ResNet. The layer is built on the pretrained layer's device
    (``meta`` works: counts without allocating).
    """

    def __init__(self, pretrained, kind: str = "lstm", sih: bool = False, activation: str = "relu",
                 bn: nn.Module | None = None, bn_frozen_stats: bool = True, pre_pool_activation: str | None = None,
                 hh_init: str = "uniform"):
        if kind not in GATES:
            raise ValueError(f"unknown recurrent kind {kind!r}; known: {sorted(GATES)}")
        proj = _projection(pretrained, bn, frozen_stats=bn_frozen_stats, pre_pool_activation=pre_pool_activation)
        n = 1 if (sih or kind == "vrnn") else len(GATES[kind])
        projections = [proj] + [copy.deepcopy(proj) for _ in range(n - 1)]
        super().__init__(projections, proj.out_features, kind, activation, hh_init, pretrained_inputs=1)
        self.sih = bool(sih)


class TraRNNLayer(RecurrentLayer):
    """A traditional recurrent layer (eqs. 1-3): fresh gate-dependent input weights, all parameters new."""

    def __init__(self, in_features: int, hidden_size: int, kind: str = "lstm", activation: str = "tanh",
                 hh_init: str = "uniform", device=None):
        n = len(GATES[kind]) if kind in GATES else 1
        projections = [FCProjection(nn.Linear(in_features, hidden_size, device=device)) for _ in range(n)]
        super().__init__(projections, hidden_size, kind, activation, hh_init, pretrained_inputs=0)


def new_recurrent_parameters(module: nn.Module, include_bias: bool = False) -> int:
    """Newly introduced recurrent parameters of a layer or a whole model (sum over its recurrent layers).

    Weights only by default (Table 3's reading); ``include_bias`` adds the copied biases / BN affines and
    the traditional layers' biases.
    """
    if isinstance(module, RecurrentLayer):
        return module.new_parameters(include_bias)
    return sum(m.new_parameters(include_bias) for m in module.modules() if isinstance(m, RecurrentLayer))


def table3_formula(D: int, H: int, kind: str, sih: bool, kernel: int = 1) -> int:
    """NOTES.md's closed form (for cross-checks): PreRNN (G-1)(D k H) + G H^2, SIH G H^2."""
    G = len(GATES[kind])
    return G * H * H + (0 if sih else (G - 1) * D * kernel * H)


__all__ = ["GATES", "FCProjection", "ConvBNProjection", "RecurrentLayer", "PreRNNLayer", "TraRNNLayer",
           "new_recurrent_parameters", "table3_formula"]
