"""LSTM cell on vectors (Hochreiter & Schmidhuber; PyTorch gate order i, f, g, o).

Wraps the fused ``nn.LSTMCell``; input (B, C) -> output h (B, H); state (h, c).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .vrnn import check_input, xavier_init_


class LSTMCell(nn.Module):
    """``init="xavier"`` (default, the repo's convention) or ``"torch"`` (PyTorch's own init)."""

    def __init__(self, in_channels: int, hidden_channels: int, bias: bool = True, init: str = "xavier"):
        super().__init__()
        if init not in ("xavier", "torch"):
            raise ValueError(f"init must be 'xavier' or 'torch', got {init!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.cell = nn.LSTMCell(in_channels, hidden_channels, bias=bias)
        if init == "xavier":
            xavier_init_(self.cell)

    def init_state(self, x: torch.Tensor):
        check_input(self, x, spatial=False)
        z = x.new_zeros(x.shape[0], self.hidden_channels)
        return (z, z)

    def forward(self, x: torch.Tensor, state):
        check_input(self, x, spatial=False)
        h, c = self.cell(x, state)
        return h, (h, c)
