"""ConvLSTM (Shi et al., 2015): one convolution over concat(input, h) gives the four gates."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layer_major import close_sequence, conv_with, input_rows, open_sequence, split_weight


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell; state is (h, c), output is h.

    Parameters: (in + hidden) * 4 * hidden * k^2 + 4 * hidden, exactly the count of NOTES.md.
    """

    layer_major_exact = True  # forward_sequence equals forward stepped over time (models.layer_major)

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

    def forward_sequence(self, xs: torch.Tensor, state=None, *, draws=None):
        """Layer-major run over xs (B, T, C, H, W) -> (outputs (B, T, hidden, H, W), final (h, c)): the values
        of ``forward`` stepped over ``xs[:, t]`` (``models.layer_major``). The input half of the gate conv runs
        once over all frames; only its state half, the BN and the gates loop over time. ``draws``: unused (a
        ConvLSTM draws nothing), taken for the common interface."""
        frames, state, fresh, _ = open_sequence(self, xs, state, draws)
        batch, steps = xs.shape[:2]
        conv = self.gates
        w_x, w_h = split_weight(conv, self.in_channels)
        pre = input_rows(conv, w_x, frames, steps, batch)
        h, c = state
        hs = []
        for t in range(steps):
            z = pre[t]
            if not (t == 0 and fresh):
                z = z + conv_with(conv, h, w_h, None)
            i, f, o, g = self.gates_bn(z).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return close_sequence(torch.cat(hs), steps, batch), (h, c)
