"""Polygon-RNN (Castrejon et al., 2017) with its RNN replaced by a deep ConvLSTM or CBM stack
(deeprnn section 4.2, Tables 5-6; scs Table 4).

Per step t the RNN sees concat(image features, one-hot y_{t-1}, one-hot y_{t-2}, one-hot y_1) on the
grid (128 + 3 = 131 channels at the paper's size) and a fully connected head maps the top layer's
output to grid*grid vertex positions + 1 end token. Choices the papers leave open (they only cite
Polygon-RNN): step 0 sees empty vertex maps and predicts the first vertex (the original uses a
separate first-vertex CNN); the head is one linear layer over the flattened top output, as in the
original; the encoder is either the original's VGG16 skip-feature encoder ("vgg16", timm, with a real
``pretrained`` option) or a small strided CNN ("small") for CPU-scale runs.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import register_model
from ..stacks import build_stack

# deeprnn Table 5 (hidden widths per depth) -- see NOTES.md "Parameter counts".
POLYGON_WIDTHS: dict[int, list[int]] = {
    2: [64, 8],
    5: [128, 128, 64, 32, 8],
    10: [128] * 5 + [64] * 3 + [32, 8],
    15: [256, 256] + [128] * 4 + [64] * 6 + [32, 32, 8],
}
# Per-cell options of the polygon nets. CBM: the released polygon cell (NOTES.md, `Auxiliary Annotation/
# utils/rbm.py`): R = tanh(conv(x)), T = sigmoid(conv([x, c])), out = T * R, no BatchNorm, xavier-normal
# initialisation; ``bn=True`` is the BN variant of the action networks, an option (the BN ablation of
# deeprnn Table 6). SCS: its CBM streams the same way (tanh R, no BN). ConvLSTM and ConvGRU as published
# (scs Table 4); ConvLSTM takes ``bn=True`` for the ablation too.
CELL_DEFAULTS = {"cbm": dict(r_act="tanh", merge="product", bn=False, init="xavier_normal"), "convlstm": {},
                 "convgru": {}, "scs": dict(r_act="tanh", bn=False)}


def scaled_widths(depth: int, width_mult: float = 1.0, floor: int = 2) -> list[int]:
    """Table 5 widths, optionally scaled down (CPU scale); never below ``floor`` channels (Table 5's own
    narrowest layer is 8)."""
    if depth not in POLYGON_WIDTHS:
        raise ValueError(f"polygon RNN depth must be one of {sorted(POLYGON_WIDTHS)}, got {depth}")
    if floor < 1:
        raise ValueError(f"width floor must be >= 1, got {floor}")
    return [max(floor, int(round(w * width_mult))) for w in POLYGON_WIDTHS[depth]]


class SmallEncoder(nn.Module):
    """Strided conv encoder: image_size -> grid with log2(image_size/grid) stride-2 stages."""

    def __init__(self, image_size: int, grid: int, out_channels: int):
        super().__init__()
        stages = int(round(math.log2(image_size / grid)))
        if grid * 2 ** stages != image_size:
            raise ValueError(f"image_size/grid must be a power of 2, got {image_size}/{grid}")
        layers, c = [], 3
        for i in range(stages):
            nxt = min(out_channels, 16 * 2 ** i)
            layers += [nn.Conv2d(c, nxt, 3, stride=2, padding=1), nn.BatchNorm2d(nxt), nn.ReLU(inplace=True)]
            c = nxt
        layers += [nn.Conv2d(c, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class VGGSkipEncoder(nn.Module):
    """The original Polygon-RNN encoder: VGG16 taps at strides 2, 4, 8 and 16, each through a 3x3
    conv, resized to the grid (max-pool down, bilinear up), concatenated and fused to 128 channels."""

    def __init__(self, grid: int, out_channels: int = 128, pretrained: bool = False):
        super().__init__()
        import timm

        self.grid = grid
        self.backbone = timm.create_model("vgg16", pretrained=pretrained, features_only=True,
                                          out_indices=(1, 2, 3, 4))
        chans = self.backbone.feature_info.channels()
        self.taps = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, 128, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(128))
            for c in chans)
        self.fuse = nn.Sequential(nn.Conv2d(128 * len(chans), out_channels, 3, padding=1),
                                  nn.ReLU(inplace=True), nn.BatchNorm2d(out_channels))

    def forward(self, x):
        feats = []
        for f, tap in zip(self.backbone(x), self.taps):
            f = tap(f)
            if f.shape[-1] > self.grid:
                f = F.adaptive_max_pool2d(f, self.grid)
            elif f.shape[-1] < self.grid:
                f = F.interpolate(f, size=(self.grid, self.grid), mode="bilinear", align_corners=False)
            feats.append(f)
        return self.fuse(torch.cat(feats, dim=1))


class PolygonRNN(nn.Module):
    def __init__(self, cell: str, widths: Sequence[int], grid: int = 28, image_size: int = 224,
                 feat_channels: int = 128, encoder: str = "vgg16", pretrained: bool = False,
                 **cell_kw):
        super().__init__()
        self.grid, self.image_size, self.cell_name = grid, image_size, cell
        if encoder == "vgg16":
            self.encoder = VGGSkipEncoder(grid, feat_channels, pretrained=pretrained)
        elif encoder == "small":
            self.encoder = SmallEncoder(image_size, grid, feat_channels)
        else:
            raise ValueError(f"encoder must be 'vgg16' or 'small', got {encoder!r}")
        self.rnn = build_stack(cell, feat_channels + 3, widths, **{**CELL_DEFAULTS.get(cell, {}), **cell_kw})
        self.head = nn.Linear(widths[-1] * grid * grid, grid * grid + 1)

    @property
    def end_token(self) -> int:
        return self.grid * self.grid

    def _vertex_map(self, idx: torch.Tensor) -> torch.Tensor:
        """One-hot (B, 1, grid, grid) of vertex indices; end token / padding / -1 give zeros."""
        g2 = self.grid * self.grid
        valid = (idx >= 0) & (idx < g2)
        onehot = F.one_hot(idx.clamp(0, g2 - 1), g2).to(torch.float32) * valid[:, None]
        return onehot.view(-1, 1, self.grid, self.grid)

    def _step(self, feats, prev1, prev2, first, states):
        maps = [self._vertex_map(i).to(feats.dtype) for i in (prev1, prev2, first)]
        h, states = self.rnn.step(torch.cat([feats, *maps], dim=1), states)
        return self.head(h.flatten(1)), states

    def forward(self, images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: target (B, T) of vertex indices -> logits (B, T, grid*grid + 1)."""
        return self.run_steps(self.encoder(images), target, 0, target.shape[1])[0]

    def run_steps(self, feats: torch.Tensor, target: torch.Tensor, start: int, stop: int, states=None,
                  keep_states: bool = False):
        """Teacher-forced steps ``start..stop-1`` from ``states`` (the stack's state after step start-1;
        None = zeros): (logits (B, stop - start, grid*grid + 1), the final state, or with ``keep_states``
        the state after every step). Step t sees target[t-1], target[t-2] and target[0], so a clip that
        starts mid-sequence gets the true vertex history (the overlap coherence scheme's clips)."""
        b = target.shape[0]
        none = target.new_full((b,), -1)
        logits, kept = [], []
        for t in range(start, stop):
            prev1 = target[:, t - 1] if t >= 1 else none
            prev2 = target[:, t - 2] if t >= 2 else none
            first = target[:, 0] if t >= 1 else none
            out, states = self._step(feats, prev1, prev2, first, states)
            logits.append(out)
            if keep_states:
                kept.append(states)
        return torch.stack(logits, dim=1), (kept if keep_states else states)

    @torch.no_grad()
    def decode(self, images: torch.Tensor, max_len: int, min_vertices: int = 3) -> torch.Tensor:
        """Greedy decoding: (B, max_len + 1) predicted indices, end token then -1 after it. The end token
        is forbidden before ``min_vertices`` vertices (a polygon has at least 3), so a decode that would
        stop early goes on with its best vertex instead."""
        feats = self.encoder(images)
        b = images.shape[0]
        none = torch.full((b,), -1, dtype=torch.long, device=images.device)
        preds, states, done = [], None, torch.zeros(b, dtype=torch.bool, device=images.device)
        for t in range(max_len + 1):
            prev1 = preds[t - 1] if t >= 1 else none
            prev2 = preds[t - 2] if t >= 2 else none
            first = preds[0] if t >= 1 else none
            out, states = self._step(feats, prev1, prev2, first, states)
            if t == max_len:  # force the end token at the length limit
                nxt = torch.full_like(none, self.end_token)
            else:
                if t < min(min_vertices, max_len):
                    out = out.clone()
                    out[:, self.end_token] = float("-inf")
                nxt = out.argmax(dim=1)
            preds.append(torch.where(done, none, nxt))
            done = done | (nxt == self.end_token)
            if bool(done.all()):
                break
        out = torch.stack(preds, dim=1)
        pad = max_len + 1 - out.shape[1]
        return F.pad(out, (0, pad), value=-1) if pad > 0 else out


def _factory(cell: str, depth: int):
    def make(width_mult: float = 1.0, width_floor: int = 2, **kw) -> PolygonRNN:
        return PolygonRNN(cell, scaled_widths(depth, width_mult, width_floor), **kw)

    make.__name__ = f"polygon_{cell}_{depth}"
    make.__doc__ = f"Polygon-RNN with a {depth}-layer {cell} stack (deeprnn Table 5 widths)."
    return make


for _cell in CELL_DEFAULTS:
    for _depth in POLYGON_WIDTHS:
        register_model(_factory(_cell, _depth))
