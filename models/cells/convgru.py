"""ConvGRU (Ballas et al., 2016): GRU gates as 3x3 convolutions over concat(input, h).

    r, z = sigmoid(conv_rz([x, h]))                (one conv, 2h output channels)
    n    = tanh(conv_n([x, r * h]))                (one conv, h output channels)
    h'   = (1 - z) * n + z * h

Parameters: (in + hidden) * 3 * hidden * k^2 + 3 * hidden -- NOTES.md's ConvGRU count, which gives
scs Table 4's 2.20M (5 layers) and 11.78M (15 layers) for the polygon widths.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .vrnn import check_input


class ConvGRUCell(nn.Module):
    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        pad = kernel_size // 2
        self.gates = nn.Conv2d(in_channels + hidden_channels, 2 * hidden_channels, kernel_size, padding=pad)
        self.candidate = nn.Conv2d(in_channels + hidden_channels, hidden_channels, kernel_size, padding=pad)
        for conv in (self.gates, self.candidate):
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, spatial=True)
        b, _, h, w = x.shape
        return x.new_zeros(b, self.hidden_channels, h, w)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        check_input(self, x, spatial=True)
        r, z = torch.sigmoid(self.gates(torch.cat([x, state], dim=1))).chunk(2, dim=1)
        n = torch.tanh(self.candidate(torch.cat([x, r * state], dim=1)))
        h = (1 - z) * n + z * state
        return h, h
