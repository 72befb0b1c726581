"""A small frame-sequence classifier for the toy experiments (deeprnn Figs. 3 and 5, scs Fig. 2 and
the LTSC star/rhombus test): a non-recurrent strided conv stem, a recurrent stack, and a head giving
per-frame logits (global average pooling + linear). A per-sequence label uses the logits averaged over
time (the released classifier); per-frame labels use them as they are.

``forward(frames, states=None, keep_states=False)`` takes (B, T, C, H, W) and returns per-frame logits
(B, T, K) and the final states (or, with ``keep_states``, the states after every step: the overlap
coherence scheme starts a clip from the state an earlier clip had at that time stamp).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..registry import register_model
from ..stacks import build_stack


class SequenceNet(nn.Module):
    def __init__(self, cell: str, widths: Sequence[int], num_classes: int, in_channels: int = 1,
                 stem_channels: int = 16, downsample: int = 1, **cell_kw):
        super().__init__()
        layers, c = [], in_channels
        for _ in range(downsample):
            layers += [nn.Conv2d(c, stem_channels, 3, stride=2, padding=1), nn.BatchNorm2d(stem_channels),
                       nn.ReLU(inplace=True)]
            c = stem_channels
        self.encoder = nn.Sequential(*layers)
        self.rnn = build_stack(cell, c, widths, **cell_kw)
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, frames: torch.Tensor, states=None, keep_states: bool = False):
        b, t = frames.shape[:2]
        feats = self.encoder(frames.flatten(0, 1))                  # the stem runs on all frames at once
        feats = feats.view(b, t, *feats.shape[1:])
        logits, kept = [], []
        for i in range(t):
            h, states = self.rnn.step(feats[:, i], states)
            logits.append(self.head(h.mean(dim=(2, 3))))
            if keep_states:
                kept.append(states)
        return torch.stack(logits, dim=1), (kept if keep_states else states)


def _factory(cell: str, defaults: dict):
    def make(widths=(8, 8, 8), num_classes: int = 10, **kw) -> SequenceNet:
        return SequenceNet(cell, list(widths), num_classes, **{**defaults, **kw})

    make.__name__ = f"seq_{cell}"
    make.__doc__ = f"Frame-sequence classifier with a {cell} stack (toy experiments)."
    return make


# R activation ReLU for the toy nets (stand-alone CBM/SCS nets as released).
for _cell, _defaults in {"cbm": dict(r_act="relu"), "scs": dict(r_act="relu"), "convlstm": {},
                         "convgru": {}}.items():
    register_model(_factory(_cell, _defaults))
