"""ConvLSTM (Shi et al., 2015): one convolution over concat(input, h) gives the four gates."""
from __future__ import annotations

import torch
import torch.nn as nn


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell; state is (h, c), output is h.

    Parameters: (in + hidden) * 4 * hidden * k^2 + 4 * hidden, exactly the count of NOTES.md.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3, bn: bool = False):
        """``bn=True``: BatchNorm over the four gates' pre-activations at every step (the BN factor of the
        polygon ablation, deeprnn Table 6 issue 15; ConvLSTM as published has none)."""
        super().__init__()
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.gates = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size,
                               padding=kernel_size // 2)
        self.gates_bn = nn.BatchNorm2d(4 * hidden_channels) if bn else nn.Identity()
        nn.init.xavier_uniform_(self.gates.weight)
        nn.init.zeros_(self.gates.bias)

    def init_state(self, x: torch.Tensor):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        b, _, h, w = x.shape
        z = x.new_zeros(b, self.hidden_channels, h, w)
        return (z, z)

    def forward(self, x: torch.Tensor, state):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        h, c = state
        i, f, o, g = self.gates_bn(self.gates(torch.cat([x, h], dim=1))).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)
