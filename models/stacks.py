"""Deep recurrent stacks built from a list of widths.

``RecurrentStack`` runs its cells time-major (every cell once per layer per time step, as the
authors' code does): ``step`` advances all layers by one time step (needed where the next input
depends on the last prediction, as in Polygon-RNN decoding); ``forward`` runs a whole sequence.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .cells import CELLS


class RecurrentStack(nn.Module):
    def __init__(self, cells: Sequence[nn.Module]):
        super().__init__()
        self.cells = nn.ModuleList(cells)

    @property
    def widths(self) -> list[int]:
        return [c.hidden_channels for c in self.cells]

    def init_state(self, x: torch.Tensor) -> list:
        states, h = [], x
        for cell in self.cells:
            states.append(cell.init_state(h))
            h = h.new_zeros(h.shape[0], cell.hidden_channels, *h.shape[2:])
        return states

    def step(self, x: torch.Tensor, states: list | None = None):
        """One time step through every layer: returns the top output and the new states."""
        if states is None:
            states = self.init_state(x)
        new_states, h = [], x
        for cell, s in zip(self.cells, states):
            h, s = cell(h, s)
            new_states.append(s)
        return h, new_states

    def forward(self, xs: torch.Tensor, states: list | None = None):
        """xs: (B, T, C, H, W) -> top outputs (B, T, C_top, H, W) and the final states."""
        outs = []
        for t in range(xs.shape[1]):
            h, states = self.step(xs[:, t], states)
            outs.append(h)
        return torch.stack(outs, dim=1), states

    def set_td_rate(self, rate: float) -> None:
        """Set the Temporal Dropout rate of every cell that has one."""
        for cell in self.cells:
            if hasattr(cell, "td_rate"):
                cell.td_rate = float(rate)


def build_stack(cell: str, in_channels: int, widths: Sequence[int], **cell_kw) -> RecurrentStack:
    """A plain stack (no shortcuts) of ``cell`` layers with the given hidden widths."""
    if cell not in CELLS:
        raise KeyError(f"unknown cell {cell!r}; known: {sorted(CELLS)}")
    cls, cells, c_in = CELLS[cell], [], in_channels
    for w in widths:
        cells.append(cls(c_in, w, **cell_kw))
        c_in = w
    return RecurrentStack(cells)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
