"""BatchNorm over time: where the statistics of a recurrent cell's BN come from.

``TimeBatchNorm2d`` is an ``nn.BatchNorm2d`` (same parameters, buffers and state-dict keys, so
parameter counts and checkpoints do not change) with a ``bn_mode``:

- ``"per_step"`` -- statistics of the current time step's batch only: plain BatchNorm2d called once
  per step, which is what the released CBM/SCS code does.
- ``"batch_time"`` -- statistics over batch x time. This needs the whole sequence at once, so it only
  applies when a layer is run *layer-major* (all time steps of one layer before the next layer, e.g.
  ``CBMLSTMCell.forward_sequence``), where the module is fed a (B, T, C, H, W) sequence (or the
  flattened (B*T, C, H, W) tensor).

In the time-major step API (``cell(x_t, state)``, what ``RecurrentStack`` runs) each call sees a
single (B, C, H, W) step, so ``"batch_time"`` falls back to per-step statistics there. Eval mode
uses the running statistics in both modes; they are updated once per call (so per step in
``"per_step"``, once per sequence in ``"batch_time"``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

BN_MODES = ("per_step", "batch_time")


class TimeBatchNorm2d(nn.BatchNorm2d):
    def __init__(self, num_features: int, bn_mode: str = "per_step", **kw):
        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
        super().__init__(num_features, **kw)
        self.bn_mode = bn_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W): one BN call over what is given (one step; or B*T rows, which is batch x
        time). (B, T, C, H, W): per time step or over batch x time, as ``bn_mode`` says."""
        if x.dim() != 5:
            return super().forward(x)
        b, t = x.shape[:2]
        if self.bn_mode == "batch_time":
            return super().forward(x.flatten(0, 1)).unflatten(0, (b, t))
        return torch.stack([super(TimeBatchNorm2d, self).forward(x[:, i]) for i in range(t)], dim=1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bn_mode={self.bn_mode}"
