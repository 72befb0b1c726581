"""Deep recurrent stacks built from a list of widths.

``RecurrentStack`` runs its cells time-major (every cell once per layer per time step, as the
authors' code does): ``step`` advances all layers by one time step (needed where the next input
depends on the last prediction, as in Polygon-RNN decoding); ``forward`` runs a whole sequence.

``forward(xs, states, execution=...)``: ``"time"`` (default, ``self.execution``) is the time-major
reference; ``"layer"`` runs ``models.layer_major.run_layer_major``, which chains the cells' own
``forward_sequence`` (same numbers, batched non-recurrent convolutions; plain stacks of ConvLSTM / CBM / SCS
cells only, anything else raises NotImplementedError).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .cells import CELLS
from .layer_major import run_layer_major


class RecurrentStack(nn.Module):
    execution: str = "time"  # default of forward(execution=None): "time" (reference) or "layer"

    def __init__(self, cells: Sequence[nn.Module], execution: str = "time"):
        super().__init__()
        self.cells = nn.ModuleList(cells)
        self.execution = execution

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

    # Layer-major execution (models.layer_major) reproduces exactly this ``step``; a subclass that overrides
    # it (shortcuts / pooling between cells, models.deep) cannot run layer-major.
    layer_major_step = step

    def forward(self, xs: torch.Tensor, states: list | None = None, execution: str | None = None):
        """xs: (B, T, C, H, W) -> top outputs (B, T, C_top, H, W) and the final states.
        ``execution``: None (``self.execution``), "time" or "layer" (see the module docstring)."""
        execution = self.execution if execution is None else execution
        if execution == "layer":
            return run_layer_major(self, xs, states)
        if execution != "time":
            raise ValueError(f"execution must be 'time' or 'layer', got {execution!r}")
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
