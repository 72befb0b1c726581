"""MCnet (Villegas et al. 2017) for video future prediction, with its motion encoder's 1-layer ConvLSTM
replaced by a 15-layer CBM (deeprnn section 4.3, Table 4: "We only replace the 1-layer ConvLSTM part
of the motion encoder into our 15-layer deep CBM model").

Structure (as MCnet and the released Deep MCnet, ``gf`` = 64 at full size, ``width`` = 4 gf = 256):
- motion encoder on frame differences (grayscale): conv5x5 gf -> pool, conv5x5 2gf -> pool,
  conv7x7 4gf -> pool (ReLU after each conv), then the recurrent part at 1/8 resolution:
  ``mcnet_cbm15``: 15 CBM layers x ``width`` channels, identity skip every 5 layers, R ReLU, no BN
  (NOTES.md "MCnet variant"; released RBMCell.py has no BN); ``mcnet_convlstm``: the original 1-layer
  ConvLSTM with ``width`` hidden channels.
- content encoder on the last observed frame (MCnet's VGG-like 2-2-3 conv stages, pool after each);
- combination layers: concat(motion, content) -> conv 4gf, 2gf, 4gf (ReLU);
- residual layers: at each scale, concat(motion tap, content tap) -> conv ReLU -> conv;
- decoder: fixed unpooling (value at the top-left of each 2x2, zeros elsewhere), add the residual,
  ReLU, 3x3 convs back to the frame; tanh output (frames in [-1, 1]).
- ``residual=True`` (a stand-in choice, not MCnet's): the decoder's last conv gives the change from the
  last frame, ``x_hat = x_last + conv(...)`` with no tanh, that conv zero-initialised, so the untrained
  net predicts the last frame (copy-last-frame) and training spends its steps on the motion.

Prediction: the motion encoder sees the n_in - 1 observed differences; then for every predicted frame
the content encoder sees the last frame (observed, then predicted), the decoder outputs x_hat, and the
next difference fed to the motion encoder is gray(x_hat) - gray(last frame), as released.
``forward(frames (B, n_in, C, H, W), n_out=None) -> (B, n_out, C, H, W)``; defaults 10 -> 20 (KTH).
H and W must be multiples of 8. Size knob: ``width`` (gf = width // 4). The adversarial discriminator
and the image-gradient loss are training parts, not in this module.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..deep import DeepRecurrentNet, skip_stack
from ..registry import register_model


def _conv(i, o, k):
    c = nn.Conv2d(i, o, k, padding=k // 2)
    nn.init.xavier_uniform_(c.weight)
    nn.init.zeros_(c.bias)
    return c


def fixed_unpool(x: torch.Tensor) -> torch.Tensor:
    """MCnet's FixedUnPooling: (B, C, H, W) -> (B, C, 2H, 2W), x at even positions, zeros elsewhere."""
    b, c, h, w = x.shape
    out = x.new_zeros(b, c, h, 2, w, 2)
    out[:, :, :, 0, :, 0] = x
    return out.view(b, c, 2 * h, 2 * w)


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) in [-1, 1] -> (B, 1, H, W) luma in [0, 1] (ITU-R 601 weights; C = 1 passes through)."""
    x = (x + 1) / 2
    if x.shape[1] == 1:
        return x
    w = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


class MotionEncoder(nn.Module):
    def __init__(self, gf: int, in_channels: int = 1):
        super().__init__()
        self.convs = nn.ModuleList([_conv(in_channels, gf, 5), _conv(gf, 2 * gf, 5), _conv(2 * gf, 4 * gf, 7)])

    def forward(self, d):
        res = []
        for conv in self.convs:
            d = torch.relu(conv(d))
            res.append(d)
            d = F.max_pool2d(d, 2)
        return d, res


class ContentEncoder(nn.Module):
    def __init__(self, gf: int, in_channels: int):
        super().__init__()
        stages, c = [], in_channels
        for n, w in ((2, gf), (2, 2 * gf), (3, 4 * gf)):
            layers = []
            for _ in range(n):
                layers += [_conv(c, w, 3), nn.ReLU()]
                c = w
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        res = []
        for stage in self.stages:
            x = stage(x)
            res.append(x)
            x = F.max_pool2d(x, 2)
        return x, res


class MCNet(nn.Module):
    def __init__(self, rnn: nn.Module, gf: int = 64, channels: int = 1, n_in: int = 10, n_out: int = 20,
                 residual: bool = False):
        super().__init__()
        self.gf, self.channels, self.n_in, self.n_out, self.residual_out = gf, channels, n_in, n_out, residual
        self.motion = MotionEncoder(gf, 1)
        self.rnn = rnn
        self.content = ContentEncoder(gf, channels)
        top = rnn.widths[-1] if hasattr(rnn, "widths") else rnn.hidden_channels
        self.comb = nn.Sequential(_conv(top + 4 * gf, 4 * gf, 3), nn.ReLU(), _conv(4 * gf, 2 * gf, 3), nn.ReLU(),
                                  _conv(2 * gf, 4 * gf, 3), nn.ReLU())
        self.residual = nn.ModuleList(
            nn.Sequential(_conv(2 * w, w, 3), nn.ReLU(), _conv(w, w, 3)) for w in (gf, 2 * gf, 4 * gf))
        self.dec3 = nn.Sequential(_conv(4 * gf, 4 * gf, 3), nn.ReLU(), _conv(4 * gf, 4 * gf, 3), nn.ReLU(),
                                  _conv(4 * gf, 2 * gf, 3), nn.ReLU())
        self.dec2 = nn.Sequential(_conv(2 * gf, 2 * gf, 3), nn.ReLU(), _conv(2 * gf, gf, 3), nn.ReLU())
        self.dec1 = nn.Sequential(_conv(gf, gf, 3), nn.ReLU(), _conv(gf, channels, 3))
        if residual:  # the change from the last frame, zero at the start: the net starts as copy-last-frame
            nn.init.zeros_(self.dec1[-1].weight)
            nn.init.zeros_(self.dec1[-1].bias)

    def _rnn_step(self, x, states):
        if isinstance(self.rnn, DeepRecurrentNet):
            return self.rnn.step(x, states)
        state = self.rnn.init_state(x) if states is None else states
        return self.rnn(x, state)

    def _decode(self, h_dyn, res_m, xt):
        h_cont, res_c = self.content(xt)
        h = self.comb(torch.cat([h_dyn, h_cont], dim=1))
        res = [r(torch.cat([m, c], dim=1)) for r, m, c in zip(self.residual, res_m, res_c)]
        h = self.dec3(torch.relu(fixed_unpool(h) + res[2]))
        h = self.dec2(torch.relu(fixed_unpool(h) + res[1]))
        out = self.dec1(torch.relu(fixed_unpool(h) + res[0]))
        return xt + out if self.residual_out else torch.tanh(out)

    def forward(self, frames: torch.Tensor, n_out: int | None = None) -> torch.Tensor:
        n_out = self.n_out if n_out is None else n_out
        if frames.shape[1] < 2:
            raise ValueError("MCnet needs at least 2 observed frames (their difference drives the motion encoder)")
        if frames.shape[-1] % 8 or frames.shape[-2] % 8:
            raise ValueError(f"frame size must be a multiple of 8, got {tuple(frames.shape[-2:])}")
        gray = [to_gray(frames[:, t]) for t in range(frames.shape[1])]
        states = None
        for t in range(1, frames.shape[1]):
            enc, res_m = self.motion(gray[t] - gray[t - 1])
            h_dyn, states = self._rnn_step(enc, states)
        xt, preds, diff = frames[:, -1], [], None
        for k in range(n_out):
            if k > 0:
                enc, res_m = self.motion(diff)
                h_dyn, states = self._rnn_step(enc, states)
            x_hat = self._decode(h_dyn, res_m, xt)
            diff = to_gray(x_hat) - to_gray(xt)
            xt = x_hat
            preds.append(x_hat)
        return torch.stack(preds, dim=1)


@register_model
def mcnet_cbm15(width: int = 256, depth: int = 15, skip_every: int = 5, channels: int = 1, n_in: int = 10,
                n_out: int = 20, td_rate: float = 0.5, bn: bool = False, residual: bool = False,
                **cell_kw) -> MCNet:
    """MCnet with a 15 x 256 CBM motion RNN (identity skip every 5 layers, R ReLU; deeprnn 4.3)."""
    gf = max(1, width // 4)
    rnn = skip_stack("cbm", 4 * gf, [width] * depth, every=skip_every,
                     **{"r_act": "relu", "bn": bn, "td_rate": td_rate, **cell_kw})
    return MCNet(rnn, gf=gf, channels=channels, n_in=n_in, n_out=n_out, residual=residual)


@register_model
def mcnet_convlstm(width: int = 256, channels: int = 1, n_in: int = 10, n_out: int = 20,
                   residual: bool = False) -> MCNet:
    """The original MCnet: a 1-layer ConvLSTM (``width`` hidden channels) in the motion encoder."""
    from ..cells import ConvLSTMCell

    gf = max(1, width // 4)
    return MCNet(ConvLSTMCell(4 * gf, width), gf=gf, channels=channels, n_in=n_in, n_out=n_out, residual=residual)
