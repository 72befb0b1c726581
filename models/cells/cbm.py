"""Context Bridge Module (deeprnn paper, section 3.1, eqs. 1-3).

    o'_t = R(o_{i-1,t})                      representation unit, no recurrence
    c_t  = T(c_{t-1}, o_{i-1,t})             temporal unit, the recurrent state
    o_t  = zeta(o'_t, c_t)                   merge: product (T = sigmoid conv) or addition (T = relu conv)

As released (NOTES.md "CBM as released"), two variants:

- the ACTION networks' cell: R = conv -> BN -> ReLU (stand-alone) or tanh (backbone-supported);
  T = conv over concat(input, state) -> BN -> sigmoid: ``bn=True``;
- the POLYGON cell (``Auxiliary Annotation/utils/rbm.py``) and the video-prediction cell have NO BatchNorm:
  R = tanh(conv(x)) (polygon) or relu(conv(x)) (prediction), T = sigmoid(conv(concat(state, x))),
  xavier-normal weights: ``bn=False, init="xavier_normal"`` (the polygon cell's T conv takes the state
  channels first, ours the input first: the same cell with the weight's input blocks swapped, tested in
  ``tests/models/test_released_polygon_cell.py``). This is the polygon nets' default CBM
  (``models/nets/polygon_rnn.CELL_DEFAULTS``); their ``bn=True`` variant is the BN ablation of Table 6.

The state carried to t+1 is T's output. ``init``: "xavier_uniform" (default) or "xavier_normal" for the
conv weights, biases zero.

Temporal Dropout: with probability ``td_rate`` the lower layer's output is detached *as fed to the
T unit only* (R always gets the gradient): one Bernoulli draw per layer per time step, shared by the
batch, drawn from torch's global generator so a seeded run is reproducible. No effect in eval mode.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layer_major import (batched, bn_steps, close_sequence, grad_mask, input_rows, open_sequence, recur,
                           split_weight)

# the R unit activations by name (``r_act``) of CBM and the cells built like it (SCS, CBM-LSTM)
ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}
_INIT = {"xavier_uniform": nn.init.xavier_uniform_, "xavier_normal": nn.init.xavier_normal_}
_DUMMY = torch.empty(0)


def td_draw(cell: nn.Module):
    """One Temporal Dropout decision of ``cell`` (True: block): never outside training or at rate 0,
    always at rate 1 (no draw), else one ``torch.rand(())`` from the global generator. Under
    ``torch.func.vmap(..., randomness="different")`` (seeds trained as one batched model,
    ``benchmark.train.seed_batch``) the draw is one per seed: a batched boolean tensor."""
    if not (cell.training and cell.td_rate > 0):
        return False
    if cell.td_rate >= 1:
        return True
    drop = torch.rand(()) < cell.td_rate
    try:
        return bool(drop)
    except RuntimeError:  # a vmapped draw: data-dependent control flow is not allowed, so a tensor
        return drop


def apply_td(x: torch.Tensor, drop) -> torch.Tensor:
    """``x`` as the T unit sees it: ``x.detach()`` where ``drop`` (per seed when it is a tensor)."""
    if drop is True:
        return x.detach()
    if drop is False:
        return x
    return torch.where(drop, x.detach(), x)


class CBMCell(nn.Module):
    layer_major_exact = True  # forward_sequence equals forward stepped over time (models.layer_major)

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3,
                 r_act: str = "tanh", merge: str = "product", bn: bool = True,
                 td_rate: float = 0.0, representation: bool = True, init: str = "xavier_uniform"):
        """``merge``: "product" (T activation sigmoid, the paper's default) or "addition" (T
        activation ReLU, deeprnn Table 7). ``representation=False`` fixes R's output to 1, which
        the paper notes turns the CBM into a stacked (sigmoid-conv) RNN."""
        super().__init__()
        if merge not in ("product", "addition"):
            raise ValueError(f"merge must be 'product' or 'addition', got {merge!r}")
        if r_act not in ACTIVATIONS:
            raise ValueError(f"r_act must be one of {sorted(ACTIVATIONS)}, got {r_act!r}")
        if init not in _INIT:
            raise ValueError(f"init must be one of {sorted(_INIT)}, got {init!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.merge, self.r_act, self.representation = merge, r_act, representation
        self.td_rate = float(td_rate)
        pad = kernel_size // 2
        self.r_conv = nn.Conv2d(in_channels, hidden_channels, kernel_size, padding=pad)
        self.t_conv = nn.Conv2d(in_channels + hidden_channels, hidden_channels, kernel_size, padding=pad)
        self.r_bn = nn.BatchNorm2d(hidden_channels) if bn else nn.Identity()
        self.t_bn = nn.BatchNorm2d(hidden_channels) if bn else nn.Identity()
        for conv in (self.r_conv, self.t_conv):
            _INIT[init](conv.weight)
            nn.init.zeros_(conv.bias)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        b, _, h, w = x.shape
        return x.new_zeros(b, self.hidden_channels, h, w)

    def temporal_dropout(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the T unit sees it: detached with probability td_rate (training only)."""
        return apply_td(x, td_draw(self))

    def draw_step(self) -> tuple[bool, bool]:
        """One step's random decisions as (block the T unit's input, block the R unit's input): Temporal
        Dropout drawn by ``temporal_dropout`` itself (on a dummy tensor), as ``forward`` draws it; R never."""
        return self.temporal_dropout(_DUMMY) is not _DUMMY, False

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        c = self.t_bn(self.t_conv(torch.cat([self.temporal_dropout(x), state], dim=1)))
        c = torch.sigmoid(c) if self.merge == "product" else torch.relu(c)
        if not self.representation:
            r = torch.ones_like(c)
        else:
            r = ACTIVATIONS[self.r_act](self.r_bn(self.r_conv(x)))
        out = r * c if self.merge == "product" else r + c
        return out, c

    def forward_sequence(self, xs: torch.Tensor, state=None, *, draws=None):
        """Layer-major run over xs (B, T, C, H, W) -> (outputs (B, T, hidden, H, W), final state): the values
        of ``forward`` stepped over ``xs[:, t]`` (``models.layer_major``). The R conv and the input half of the
        T conv run once over all frames; only the T unit's state half and BN loop over time. ``draws``: the
        per-step ``draw_step`` results (None: drawn here, step by step), Temporal Dropout then acting as a
        per-step gradient mask on the input fed to the T unit."""
        frames, state, fresh, draws = open_sequence(self, xs, state, draws)
        batch, steps = xs.shape[:2]
        conv = self.t_conv
        w_x, w_h = split_weight(conv, self.in_channels)
        x_t = grad_mask(frames, [d[0] for d in draws], batch)  # Temporal Dropout as a per-step gradient mask
        act_t = torch.sigmoid if self.merge == "product" else torch.relu
        cs = recur(conv, w_h, input_rows(conv, w_x, x_t, steps, batch), state, fresh, lambda z: act_t(self.t_bn(z)))
        if self.representation:
            act = ACTIVATIONS[self.r_act]
            rs = [act(r) for r in bn_steps(self.r_bn, batched(self.r_conv, frames, steps, batch))]
        else:
            rs = [torch.ones_like(c) for c in cs]
        out = [r * c for r, c in zip(rs, cs)] if self.merge == "product" else [r + c for r, c in zip(rs, cs)]
        return close_sequence(torch.cat(out), steps, batch), cs[-1]
