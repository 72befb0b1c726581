"""GRU cell on vectors (Cho et al., 2014; PyTorch's formulation, reset applied after W_hn h).

Wraps the fused ``nn.GRUCell``; input (B, C) -> hidden (B, H).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .vrnn import check_input, xavier_init_


class GRUCell(nn.Module):
    """``init="xavier"`` (default, the repo's convention) or ``"torch"`` (PyTorch's own init)."""

    def __init__(self, in_channels: int, hidden_channels: int, bias: bool = True, init: str = "xavier"):
        super().__init__()
        if init not in ("xavier", "torch"):
            raise ValueError(f"init must be 'xavier' or 'torch', got {init!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.cell = nn.GRUCell(in_channels, hidden_channels, bias=bias)
        if init == "xavier":
            xavier_init_(self.cell)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, spatial=False)
        return x.new_zeros(x.shape[0], self.hidden_channels)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        check_input(self, x, spatial=False)
        h = self.cell(x, state)
        return h, h
