"""GRU cell on vectors (Cho et al., 2014; PyTorch's formulation, reset applied after W_hn h).

Wraps the fused ``nn.GRUCell``; input (B, C) -> hidden (B, H).
"""
from __future__ import annotations

import torch.nn as nn

from .vrnn import FusedVectorCell


class GRUCell(FusedVectorCell):
    torch_cell = nn.GRUCell
