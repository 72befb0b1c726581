"""Vanilla (Elman) RNN cell on vectors: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

Wraps PyTorch's fused ``nn.RNNCell(nonlinearity='tanh')``; input (B, C) -> hidden (B, H).
Also home of ``check_input``, the input-shape check shared by the cells added with it.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def check_input(cell: nn.Module, x: torch.Tensor, spatial: bool) -> None:
    """Raise a ValueError naming the expected shape unless ``x`` is (B, C) (vector cells) or
    (B, C, H, W) (convolutional cells, ``spatial=True``) with C == cell.in_channels."""
    ndim = 4 if spatial else 2
    if not isinstance(x, torch.Tensor) or x.dim() != ndim or x.shape[1] != cell.in_channels:
        expected = f"(B, {cell.in_channels}, H, W)" if spatial else f"(B, {cell.in_channels})"
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{type(cell).__name__} expects input of shape {expected}, got {got}")


def xavier_init_(cell: nn.Module) -> None:
    """Xavier-uniform on the input and recurrent weight matrices, zero biases (repo convention)."""
    for name, p in cell.named_parameters():
        if name.startswith("weight"):
            nn.init.xavier_uniform_(p)
        else:
            nn.init.zeros_(p)


class FusedVectorCell(nn.Module):
    """A vector cell whose state is one tensor, run by PyTorch's fused cell ``torch_cell``.
    ``init="xavier"`` (default, the repo's convention) or ``"torch"`` (PyTorch's own init)."""

    torch_cell: type = nn.RNNCell
    cell_kw: dict = {}

    def __init__(self, in_channels: int, hidden_channels: int, bias: bool = True, init: str = "xavier"):
        super().__init__()
        if init not in ("xavier", "torch"):
            raise ValueError(f"init must be 'xavier' or 'torch', got {init!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.cell = self.torch_cell(in_channels, hidden_channels, bias=bias, **self.cell_kw)
        if init == "xavier":
            xavier_init_(self.cell)

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, spatial=False)
        return x.new_zeros(x.shape[0], self.hidden_channels)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        check_input(self, x, spatial=False)
        h = self.cell(x, state)
        return h, h


class VRNNCell(FusedVectorCell):
    torch_cell, cell_kw = nn.RNNCell, {"nonlinearity": "tanh"}
