"""Precipitation nowcasting encoder-decoder nets (scs section 5.8, Fig. 5 d, Table 7; 5 frames in, 5 out).

"Both of them consist of an encoder and a decoder which have the same structure. For our model, the
encoder and the decoder are 15-layer SCS networks while there are multi-stacked ConvLSTMs in the
ConvLSTM version. Encoders take one frame ... for every time-stamp and then generate the intermediate
representation of the observed sequence. Decoders take the intermediate representation as well as the
last CR image as input and generate the CR image prediction and new intermediate representation."

- Encoder and decoder: two recurrent nets of the same structure (separate weights). The intermediate
  representation is the encoder's final states *and* its last top output: the decoder starts from those
  states and, at each step, sees concat(last image, representation) -- the last observed image and the
  encoder's top output at the first step, then its own previous prediction and top output ("takes the
  representation and the last radar echo image as input, updates the intermediate representation and
  outputs the future image one by one", Fig. 5 d). Feeding the top output also gives the encoder's top
  R unit a use: CBM/SCS states are the T gates only, so with states alone it would get no gradient.
- ``nowcast_scs15``: 15 SCS layers of ``width`` = 128 (scs Table 8) with an identity skip every 5
  layers (ResNet-like shortcuts as in the other SCS nets; no pooling: the output is a full image),
  R ReLU (scs eq. 9).
- ``nowcast_convlstm``: Shi et al. (2015) style stacked ConvLSTM, ``depth`` = 15 layers of ``width`` = 64
  (scs Table 8: 15 layers, feature dimension 64), no skips.
- Both see the images as non-overlapping ``patch`` x ``patch`` patches (space-to-depth, as Shi et al. do
  on radar maps; patch = 4 by default) and a 1x1 conv maps the top layer back to the patch pixels,
  sigmoid output (intensities are normalised to [0, 1], scs 5.8). ``residual=True`` (a stand-in choice):
  the head gives the change from the last image (observed, then predicted), no sigmoid, the head
  zero-initialised, so the untrained net predicts persistence.

``forward(frames (B, n_in, C, H, W), n_out=None) -> (B, n_out, C, H, W)``; ``return_streams=True`` (SCS)
also gives the T^1 prediction (the same head on the top spatial stream; r_s = the main goal) and the top
temporal-stream maps (for r_t's flow / difference head). Size knobs: ``width``, ``depth``, ``patch``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..cells.scs import STREAMS_ATTR, head_on_streams
from ..deep import DeepRecurrentNet, skip_stack
from ..registry import register_model


def cat_with_streams(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """concat(x, h) on channels; SCS sub-goal streams of ``h`` continue as concat(x, stream), so T^1 and
    T^2 run from the encoder through the decoder (the image is an input, like the encoder's)."""
    out = torch.cat([x, h], dim=1)
    if hasattr(h, STREAMS_ATTR):
        s = getattr(h, STREAMS_ATTR)
        setattr(out, STREAMS_ATTR, None if s is None else tuple(torch.cat([x, t], dim=1) for t in s))
    return out


class EncoderDecoderNowcaster(nn.Module):
    def __init__(self, encoder: DeepRecurrentNet, decoder: DeepRecurrentNet, channels: int = 1, patch: int = 4,
                 n_out: int = 5, residual: bool = False):
        super().__init__()
        self.residual = residual
        # one ``rnn`` part holding both (``models.summary`` reads ``encoder`` as a CNN backbone)
        self.rnn = nn.ModuleDict({"encoder": encoder, "decoder": decoder})
        self.channels, self.patch, self.n_out = channels, patch, n_out
        self.head = nn.Conv2d(decoder.widths[-1], channels * patch * patch, 1)
        if residual:  # the change from the last image, zero at the start: the net starts as persistence
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def _in(self, x):
        return x if self.patch == 1 else F.pixel_unshuffle(x, self.patch)

    def _out(self, h, last=None):
        y = self.head(h)
        y = y if self.patch == 1 else F.pixel_shuffle(y, self.patch)
        return last + y if self.residual else torch.sigmoid(y)

    def forward(self, frames: torch.Tensor, n_out: int | None = None, return_streams: bool = False):
        n_out = self.n_out if n_out is None else n_out
        if frames.shape[-1] % self.patch or frames.shape[-2] % self.patch:
            raise ValueError(f"frame size {tuple(frames.shape[-2:])} is not a multiple of patch={self.patch}")
        states = None
        for t in range(frames.shape[1]):
            h, states = self.rnn["encoder"].step(self._in(frames[:, t]), states)
        x, preds, spatial, temporal = frames[:, -1], [], [], []
        for _ in range(n_out):
            h, states = self.rnn["decoder"].step(cat_with_streams(self._in(x), h), states)
            last, x = x, self._out(h, x)
            preds.append(x)
            if return_streams:
                s, tmp = head_on_streams(h, lambda v, last=last: self._out(v, last))
                spatial.append(s)
                temporal.append(tmp)
        out = torch.stack(preds, dim=1)
        if return_streams:
            return {"prediction": out, "spatial_prediction": torch.stack(spatial, 1),
                    "temporal": torch.stack(temporal, 1)}
        return out


@register_model
def nowcast_scs15(width: int = 128, depth: int = 15, skip_every: int = 5, channels: int = 1, patch: int = 4,
                  n_out: int = 5, residual: bool = False, **cell_kw) -> EncoderDecoderNowcaster:
    """15-layer SCS encoder-decoder (scs Table 7)."""
    kw = {"r_act": "relu", **cell_kw}
    c = channels * patch * patch
    enc = skip_stack("scs", c, [width] * depth, every=skip_every, **kw)
    dec = skip_stack("scs", c + width, [width] * depth, every=skip_every, **kw)
    return EncoderDecoderNowcaster(enc, dec, channels=channels, patch=patch, n_out=n_out, residual=residual)


@register_model
def nowcast_convlstm(width: int = 64, depth: int = 15, channels: int = 1, patch: int = 4,
                     n_out: int = 5, residual: bool = False) -> EncoderDecoderNowcaster:
    """Stacked ConvLSTM encoder-decoder (Shi et al. 2015; scs Table 7 baseline)."""
    c = channels * patch * patch
    enc = skip_stack("convlstm", c, [width] * depth, every=None)
    dec = skip_stack("convlstm", c + width, [width] * depth, every=None)
    return EncoderDecoderNowcaster(enc, dec, channels=channels, patch=patch, n_out=n_out, residual=residual)
