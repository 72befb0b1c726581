"""Gate activations of the landmark nets (prernn Fig. 2): a ``SequenceNet`` replayed step by step with
every recurrent layer's gates recorded, and the fraction of left- / right-saturated activations per unit
(prernn 4.1, after Karpathy et al.).
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.landmark_sets import NUM_POINTS, inputs

@torch.no_grad()
def gate_activations(model, frames: torch.Tensor) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Replay ``model`` (a ``SequenceNet``) on (B, T, C, H, W) frames step by step, recording every recurrent
    layer's gate activations. Returns (normalised coordinates (B, T, 68, 2), [per layer {gate: (B, T, H)}]);
    the coordinates equal ``forward(model, frames)`` (checked in the tests)."""
    x = inputs(frames)
    B, T = x.shape[:2]
    h, sc = model.features(x)
    layers = []
    for i, layer in enumerate(model.rnn):
        us = [u.view(B, T, -1) for u in layer.project(h.flatten(0, 1), None if (i or sc is None) else sc.flatten(0, 1))]
        state, outs, gates = layer.init_state(B, us[0]), [], {}
        for t in range(T):
            out, state, g = layer.cell([u[:, t] for u in us], state, return_gates=True)
            outs.append(out)
            for k, v in g.items():
                gates.setdefault(k, []).append(v)
        layers.append({k: torch.stack(v, 1) for k, v in gates.items()})
        h = model.drop(torch.stack(outs, 1))
    out = model.head(h)
    return out.reshape(B, T, NUM_POINTS, 2), layers


def saturation(gate: torch.Tensor, low: float = 0.1, high: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (last axis): the fraction of activations left-saturated (< ``low``) and right-saturated
    (> ``high``) over all other axes (prernn 4.1, after Karpathy et al.)."""
    g = torch.as_tensor(gate).reshape(-1, gate.shape[-1]).double()
    return (g < low).double().mean(0).numpy(), (g > high).double().mean(0).numpy()
