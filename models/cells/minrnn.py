"""Convolutional minGRU (Feng et al. 2024, "Were RNNs All We Needed?"), its convolutions in place of the
paper's linear maps.

minGRU drops the hidden state from the gate and the candidate, so both come from the input alone:

    z_t  = sigmoid(conv_z(x_t))
    h~_t = g(conv_h(x_t))                       g(v) = v + 1/2 (v >= 0), sigmoid(v) (v < 0)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

``g`` is the paper's activation for its log-space minGRU: it keeps h~ > 0, so every term of the parallel
scan has a real logarithm. conv_z and conv_h are one convolution (``gates``, 2 * hidden output channels,
"same" padding); parameters: in * 2 * hidden * k^2 + 2 * hidden.

Two ways to run a sequence, the same numbers up to rounding:

- ``"sequential"``: the recurrence above stepped over time (``forward`` is one step);
- ``"parallel"``: the paper's parallel mode. h_t = a_t * h_{t-1} + b_t with a_t = 1 - z_t and
  b_t = z_t * h~_t is a first-order linear recurrence; with A_t = sum_{s<=t} log a_s (a cumulative sum)

      h_t = exp(A_t) * h_0 + exp(A_t + logcumsumexp_{s<=t}(log b_s - A_s)),

  every log taken in closed form (log a = -softplus(k), log z = -softplus(-k), log g(v) =
  log(relu(v) + 1/2) or -softplus(-v)), so nothing under a log is ever 0 and no product of many gates is
  formed outside log space. h_0 enters linearly (not through log h_0 as in the paper's listing), so any
  start state works, zero and negative included. Nothing overflows (A_t <= 0; logcumsumexp is stable);
  the rounding of log b_s - A_s gives a relative error of about eps * |A_T| (A_T = -sum softplus(k_t)),
  negligible in float64 and for short sequences in float32 (< 1e-5 at 9 steps in the tests), but ~2e-4
  in float32 after 150 fully saturated steps (z ~ 1 - e^-30): use "sequential" or float64 there.

The input convolution runs once over all B*T frames in both sequence modes (it does not depend on the
state); only the elementwise update loops (sequential) or scans (parallel) over time. The cell follows the
common interface (``init_state``, ``forward(x, h) -> (h, h)``, ``forward_sequence``) and declares
``layer_major_exact``, so a ``RecurrentStack`` of ConvMinGRU cells runs time-major (``forward`` per step)
or layer-major (``forward_sequence`` per layer, ``models.layer_major``), with ``mode`` choosing the scan.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layer_major import close_sequence, open_sequence
from .vrnn import check_input

MODES = ("parallel", "sequential")


def g(v: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: v + 1/2 for v >= 0, sigmoid(v) below (continuous at 0)."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: torch.Tensor) -> torch.Tensor:
    """log g(v), both branches finite for every v (so ``torch.where`` has no NaN gradient to hide)."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def scan_log(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """All h_t of h_t = a_t h_{t-1} + b_t (time on dim 0) from log a_t, log b_t (b_t > 0) and h_0 (any
    sign; None = zeros): h_t = exp(A_t) h_0 + exp(A_t + logcumsumexp(log b - A)_t), A = cumsum(log a)."""
    a_star = torch.cumsum(log_a, dim=0)
    h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=0))
    if h0 is not None:
        h = h + torch.exp(a_star) * h0.unsqueeze(0)
    return h


class ConvMinGRUCell(nn.Module):
    """Convolutional minGRU; the state is h (B, hidden, H, W), the output is h.

    ``mode``: how ``forward_sequence`` runs a sequence, "parallel" (log-space scan, default) or
    "sequential"; ``forward`` is always one sequential step."""

    layer_major_exact = True  # forward_sequence equals forward stepped over time (models.layer_major)

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3, mode: str = "parallel"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.in_channels, self.hidden_channels, self.mode = in_channels, hidden_channels, mode
        self.gates = nn.Conv2d(in_channels, 2 * hidden_channels, kernel_size, padding=kernel_size // 2)
        nn.init.xavier_uniform_(self.gates.weight)  # repo convention: Xavier weights, zero biases
        nn.init.zeros_(self.gates.bias)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, spatial=True)
        b, _, h, w = x.shape
        return x.new_zeros(b, self.hidden_channels, h, w)

    def _update(self, pre: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        k, v = pre.chunk(2, dim=1)
        z = torch.sigmoid(k)
        return (1 - z) * h + z * g(v)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        check_input(self, x, spatial=True)
        h = self._update(self.gates(x), state)
        return h, h

    def forward_sequence(self, xs: torch.Tensor, state=None, *, draws=None, mode: str | None = None):
        """xs (B, T, C, H, W) -> (outputs (B, T, hidden, H, W), final h): ``forward`` stepped over
        ``xs[:, t]`` from ``state`` (None: zeros). ``mode``: None (``self.mode``), "parallel" or
        "sequential". ``draws``: unused (minGRU draws nothing), taken for the common interface."""
        mode = self.mode if mode is None else mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        frames, state, fresh, _ = open_sequence(self, xs, state, draws)
        batch, steps = xs.shape[:2]
        pre = self.gates(frames)  # the input convolution, once over all T*B frames (time-major rows)
        if mode == "sequential":
            h, hs = state, []
            for p in pre.split(batch):
                h = self._update(p, h)
                hs.append(h)
            out = torch.cat(hs)
        else:
            k, v = pre.view(steps, batch, *pre.shape[1:]).chunk(2, dim=2)
            log_a, log_z = -F.softplus(k), -F.softplus(-k)  # log(1 - z), log z
            hs = scan_log(log_a, log_z + log_g(v), None if fresh else state)
            out = hs.flatten(0, 1)
        return close_sequence(out, steps, batch), out[-batch:]


__all__ = ["ConvMinGRUCell", "g", "log_g", "scan_log"]
