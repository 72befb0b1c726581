"""CBM variants (deeprnn section 3.1 with a different T unit). ``cbm.py`` holds the CBM as released.

``CBMLSTMCell``: the Context Bridge Module with a ConvLSTM as its temporal unit.

    o'_t       = R(o_{i-1,t})                          conv -> BN -> r_act, no recurrence (as CBM)
    h_t, c_t   = ConvLSTM(o_{i-1,t}, (h_{t-1}, c_{t-1}))  T unit, the recurrent state is (h, c)
    o_t        = o'_t * h_t  ("product")  or  o'_t + h_t  ("addition")

Temporal Dropout (``td_rate``) works as in ``CBMCell``: with probability td_rate the input is
detached *as fed to the T unit only*; one draw per call from torch's global generator, training only.

``bn_mode`` ("per_step" | "batch_time", see ``norm.py``) sets where the R unit's BN statistics come
from. The time-major step API (``forward``) always normalises per step; ``forward_sequence`` runs the
layer layer-major over a (B, T, C, H, W) sequence and there "batch_time" takes the statistics over
batch x time (R has no recurrence, so it can see all steps at once).

Parameters: R conv (in*h*k^2 + h) + BN (2h) + ConvLSTM ((in + h)*4h*k^2 + 4h).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .cbm import ACTIVATIONS, apply_td, td_draw
from .convlstm import ConvLSTMCell
from .norm import TimeBatchNorm2d
from .vrnn import check_input


class CBMLSTMCell(nn.Module):
    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3,
                 r_act: str = "tanh", merge: str = "product", bn: bool = True,
                 bn_mode: str = "per_step", td_rate: float = 0.0):
        super().__init__()
        if merge not in ("product", "addition"):
            raise ValueError(f"merge must be 'product' or 'addition', got {merge!r}")
        if r_act not in ACTIVATIONS:
            raise ValueError(f"r_act must be one of {sorted(ACTIVATIONS)}, got {r_act!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.merge, self.r_act, self.td_rate = merge, r_act, float(td_rate)
        self.r_conv = nn.Conv2d(in_channels, hidden_channels, kernel_size, padding=kernel_size // 2)
        nn.init.xavier_uniform_(self.r_conv.weight)
        nn.init.zeros_(self.r_conv.bias)
        self.r_bn = TimeBatchNorm2d(hidden_channels, bn_mode=bn_mode) if bn else nn.Identity()
        self.t_unit = ConvLSTMCell(in_channels, hidden_channels, kernel_size)  # Xavier-initialised

    @property
    def bn_mode(self) -> str | None:
        return getattr(self.r_bn, "bn_mode", None)

    def init_state(self, x: torch.Tensor):
        check_input(self, x, spatial=True)
        return self.t_unit.init_state(x)

    def temporal_dropout(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the T unit sees it: detached with probability td_rate (training only)."""
        return apply_td(x, td_draw(self))

    def _merge(self, r: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return r * h if self.merge == "product" else r + h

    def forward(self, x: torch.Tensor, state):
        """One time step (time-major): BN statistics are per step whatever ``bn_mode`` says."""
        check_input(self, x, spatial=True)
        h, state = self.t_unit(self.temporal_dropout(x), state)
        r = ACTIVATIONS[self.r_act](self.r_bn(self.r_conv(x)))
        return self._merge(r, h), state

    def forward_sequence(self, xs: torch.Tensor, state=None):
        """Layer-major run over xs (B, T, C, H, W) -> outputs (B, T, hidden, H, W) and final state.
        Same values as calling ``forward`` step by step, except that with ``bn_mode="batch_time"``
        (training mode) the R unit's BN statistics are taken over batch x time."""
        if xs.dim() != 5:
            raise ValueError(f"{type(self).__name__}.forward_sequence expects input of shape "
                             f"(B, T, {self.in_channels}, H, W), got {tuple(xs.shape)}")
        check_input(self, xs[:, 0], spatial=True)
        b, t = xs.shape[:2]
        r = self.r_conv(xs.flatten(0, 1)).unflatten(0, (b, t))
        r = ACTIVATIONS[self.r_act](self.r_bn(r))  # TimeBatchNorm2d handles (B, T, C, H, W) per bn_mode
        if state is None:
            state = self.init_state(xs[:, 0])
        outs = []
        for i in range(t):
            h, state = self.t_unit(self.temporal_dropout(xs[:, i]), state)
            outs.append(self._merge(r[:, i], h))
        return torch.stack(outs, dim=1), state
