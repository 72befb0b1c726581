"""Gradient schemes: schedules for the Temporal Dropout rate / STSGD p, and ASTSGD's q.

The masks themselves live in the cells (``CBMCell.temporal_dropout``, ``SCSCell.stsgd_draw``): one draw
per layer per time step; this module decides the rate in force.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class Schedule:
    """Piecewise-constant value by epoch: ``((0, 1.0), (2, 0.8), (4, 0.5))`` = 1.0 for epochs 0-1,
    0.8 for 2-3, 0.5 from epoch 4 (deeprnn 4.1's TD schedule)."""
    steps: tuple = ((0, 0.0),)

    def __call__(self, epoch: int) -> float:
        value = self.steps[0][1]
        for start, v in sorted(self.steps):
            if epoch >= start:
                value = v
        return float(value)

    @classmethod
    def decay_to(cls, final: float, start: float = 1.0, every: int = 1) -> "Schedule":
        """deeprnn's TD schedule shape: start, then 0.8 after ``every`` epochs, then ``final`` after
        ``every`` more (a final rate >= 0.8 is reached directly)."""
        if final >= 0.8:
            return cls(((0, start), (every, final)))
        return cls(((0, start), (every, 0.8), (2 * every, final)))


def astsgd_q(loss_spatial: float, loss_main: float, init_loss_main: float, q0: float = 0.5,
             alpha: float = 1.0, thresh: float = 1.0) -> float:
    """scs eq. 20: q = q0 + (1 - q0) * max(0, L_s - thresh) / (InitL_g - thresh) * (alpha (L_g / L_s - 1) + 1).

    Bound: the result is clipped to [0, 1] because q is a probability (eq. 19's gamma(q)); eq. 20 alone
    can leave [0, 1] when L_g > L_s early in training."""
    if init_loss_main <= thresh:
        raise ValueError(f"InitL_g ({init_loss_main}) must exceed thresh ({thresh}); "
                         f"InitL_g is ln(number of classes) as released")
    ratio = max(0.0, loss_spatial - thresh) / (init_loss_main - thresh)
    q = q0 + (1 - q0) * ratio * (alpha * (loss_main / max(loss_spatial, 1e-12) - 1) + 1)
    return float(min(1.0, max(0.0, q)))


def initial_main_loss(num_classes: int) -> float:
    """InitL_g as released: the cross-entropy of a uniform guess, ln(number of classes)."""
    return math.log(num_classes)


class QNet(nn.Module):
    """The alternative of scs 5.2: "a small network with 3 fully connected layers which takes r_s, r_t
    and g as input to optimize q". Inputs are the three current losses; output q in (0, 1)."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, loss_spatial, loss_temporal, loss_main) -> torch.Tensor:
        x = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in
                         (loss_spatial, loss_temporal, loss_main)], dim=-1)
        return torch.sigmoid(self.net(x)).squeeze(-1)
