"""Overlap coherence loss (deeprnn eq. 4, L_d; scs eq. 23, xi): MSE between the outputs two clips give
for the frames they share. As released, the earlier clip's outputs are the target (detached), so the
gradient only moves the later clip; outputs are per-frame softmax probabilities."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def coherence_loss(current: torch.Tensor, previous: torch.Tensor, probabilities: bool = True) -> torch.Tensor:
    """current/previous: (B, n_overlap, ...) outputs of the same frames from the later/earlier clip.
    ``probabilities=True`` compares softmax over the last dimension (logits in); else raw outputs."""
    if current.shape != previous.shape:
        raise ValueError(f"overlap outputs must have the same shape, got {tuple(current.shape)} "
                         f"and {tuple(previous.shape)}")
    if probabilities:
        current, previous = current.softmax(-1), previous.softmax(-1)
    return F.mse_loss(current, previous.detach())
