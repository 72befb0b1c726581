"""SimVP (Gao et al., CVPR 2022) and its gSTA translator (Tan et al., "SimVP: Towards Simple yet Powerful
Spatiotemporal Predictive Learning" / TAU, OpenSTL's "SimVP+gSTA"): a per-frame conv encoder, a translator on
the T frames' latents stacked on channels (IncepU: a U-net of inception blocks; gSTA: gated large-kernel
attention blocks), a decoder mirroring the encoder. The registered Moving-MNIST configurations and their
parity with OpenSTL are in ``models.nets.openstl`` (its docstring gives the structure in full)."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

class DropPath(nn.Module):
    """Stochastic depth: in training, zero a sample's branch with probability p (survivors / (1 - p))."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        return x * x.new_empty(x.shape[0], *([1] * (x.dim() - 1))).bernoulli_(keep) / keep


class ConvSC(nn.Module):
    """SimVP's ConvSC: conv k x k (stride 2 if ``down``; 4x the channels + PixelShuffle(2) if ``up``),
    GroupNorm(2), SiLU. Conv weights truncated normal (std 0.02), zero biases (SimVP)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, down: bool = False, up: bool = False):
        super().__init__()
        stride = 2 if down else 1
        pad = (k - stride + 1) // 2
        conv = nn.Conv2d(c_in, c_out * 4 if up else c_out, k, stride=stride, padding=pad)
        nn.init.trunc_normal_(conv.weight, std=0.02)
        nn.init.zeros_(conv.bias)
        self.conv = nn.Sequential(conv, nn.PixelShuffle(2)) if up else conv
        self.norm = nn.GroupNorm(2, c_out)

    def forward(self, x):
        return F.silu(self.norm(self.conv(x)))


def _samplings(n: int) -> list[bool]:
    return [i % 2 == 1 for i in range(n)]  # every second layer resamples: [F, T, F, T] for N_S = 4


class SimVPEncoder(nn.Module):
    def __init__(self, c_in: int, hid: int, n_s: int, k: int = 3):
        super().__init__()
        self.layers = nn.ModuleList(ConvSC(c_in if i == 0 else hid, hid, k, down=s)
                                    for i, s in enumerate(_samplings(n_s)))

    def forward(self, x):
        skip = x = self.layers[0](x)
        for layer in self.layers[1:]:
            x = layer(x)
        return x, skip


class SimVPDecoder(nn.Module):
    def __init__(self, hid: int, c_out: int, n_s: int, k: int = 3):
        super().__init__()
        self.layers = nn.ModuleList(ConvSC(hid, hid, k, up=s) for s in reversed(_samplings(n_s)))
        self.readout = nn.Conv2d(hid, c_out, 1)

    def forward(self, x, skip):
        for layer in self.layers[:-1]:
            x = layer(x)
        return self.readout(self.layers[-1](x + skip))


class GroupConvNormAct(nn.Module):
    """Grouped k x k conv, GroupNorm(groups), LeakyReLU(0.2) (one inception branch). ``groups`` falls back
    to 1 where the channels do not divide (SimVP checks the input side only; the output side too here,
    which changes nothing at OpenSTL's sizes)."""

    def __init__(self, c_in: int, c_out: int, k: int, groups: int):
        super().__init__()
        if c_in % groups or c_out % groups:
            groups = 1
        self.conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=groups)
        self.norm = nn.GroupNorm(groups, c_out)

    def forward(self, x):
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class InceptionBlock(nn.Module):
    """SimVP v1's gInception_ST: 1x1 conv to ``c_hid``, then the sum of grouped 3/5/7/11 branches."""

    def __init__(self, c_in: int, c_hid: int, c_out: int, kernels: Sequence[int] = (3, 5, 7, 11), groups: int = 8):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_hid, 1)
        self.branches = nn.ModuleList(GroupConvNormAct(c_hid, c_out, k, groups) for k in kernels)

    def forward(self, x):
        x = self.conv1(x)
        return sum(b(x) for b in self.branches)


class IncepUTranslator(nn.Module):
    """SimVP v1's translator: N_T inception blocks down, N_T up, U-net skips (concatenated)."""

    def __init__(self, c_in: int, c_hid: int, n_t: int):
        super().__init__()
        if n_t < 2:
            raise ValueError(f"N_T must be >= 2, got {n_t}")
        half = c_hid // 2
        self.enc = nn.ModuleList([InceptionBlock(c_in, half, c_hid)] +
                                 [InceptionBlock(c_hid, half, c_hid) for _ in range(n_t - 1)])
        self.dec = nn.ModuleList([InceptionBlock(c_hid, half, c_hid)] +
                                 [InceptionBlock(2 * c_hid, half, c_hid) for _ in range(n_t - 2)] +
                                 [InceptionBlock(2 * c_hid, half, c_in)])

    def forward(self, z):
        skips = []
        for i, block in enumerate(self.enc):
            z = block(z)
            if i < len(self.enc) - 1:
                skips.append(z)
        z = self.dec[0](z)
        for block in self.dec[1:]:
            z = block(torch.cat([z, skips.pop()], dim=1))
        return z


class LargeKernelAttention(nn.Module):
    """gSTA's attention: depthwise 5x5, depthwise 7x7 dilation 3 (a 21-wide field), 1x1 to (value, gate);
    returns sigmoid(gate) * value."""

    def __init__(self, dim: int, kernel_size: int = 21, dilation: int = 3):
        super().__init__()
        dk = 2 * dilation - 1
        ddk = kernel_size // dilation + ((kernel_size // dilation) % 2 - 1)
        self.conv0 = nn.Conv2d(dim, dim, dk, padding=(dk - 1) // 2, groups=dim)
        self.conv_spatial = nn.Conv2d(dim, dim, ddk, padding=dilation * (ddk - 1) // 2, groups=dim, dilation=dilation)
        self.conv1 = nn.Conv2d(dim, 2 * dim, 1)

    def forward(self, x):
        f, gate = self.conv1(self.conv_spatial(self.conv0(x))).chunk(2, dim=1)
        return torch.sigmoid(gate) * f


class GSTABlock(nn.Module):
    """SimVP v2's gated spatio-temporal attention block (see the module docstring)."""

    def __init__(self, dim: int, kernel_size: int = 21, mlp_ratio: float = 8.0, drop_path: float = 0.0,
                 init_value: float = 1e-2):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.BatchNorm2d(dim)
        self.proj_1 = nn.Conv2d(dim, dim, 1)
        self.attn = LargeKernelAttention(dim, kernel_size)
        self.proj_2 = nn.Conv2d(dim, dim, 1)
        self.norm2 = nn.BatchNorm2d(dim)
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        self.drop_path = DropPath(drop_path)
        self.layer_scale_1 = nn.Parameter(torch.full((dim,), init_value))
        self.layer_scale_2 = nn.Parameter(torch.full((dim,), init_value))
        for m in self.modules():  # SimVP's init: normal(0, sqrt(2 / fan_out)), zero biases
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
                nn.init.zeros_(m.bias)

    def forward(self, x):
        y = self.norm1(x)
        a = self.proj_2(self.attn(F.gelu(self.proj_1(y)))) + y  # the attention branch's own shortcut
        x = x + self.drop_path(self.layer_scale_1[:, None, None] * a)
        m = self.fc2(F.gelu(self.dwconv(self.fc1(self.norm2(x)))))
        return x + self.drop_path(self.layer_scale_2[:, None, None] * m)


class GSTATranslator(nn.Module):
    """N_T gSTA blocks; a 1x1 reduction c_in -> c_hid after the first and c_hid -> c_in after the last
    (where the widths differ). Stochastic depth rates as OpenSTL's MidMetaNet."""

    def __init__(self, c_in: int, c_hid: int, n_t: int, mlp_ratio: float = 8.0, drop_path: float = 0.0):
        super().__init__()
        if n_t < 2:
            raise ValueError(f"N_T must be >= 2, got {n_t}")
        rates = [0.01 + (drop_path - 0.01) * i / (n_t - 1) for i in range(n_t)]  # linspace(0.01, drop_path)
        rates[-1] = drop_path
        widths = [(c_in, c_hid)] + [(c_hid, c_hid)] * (n_t - 2) + [(c_hid, c_in)]
        blocks = []
        for (a, b), p in zip(widths, rates):
            block = GSTABlock(a, mlp_ratio=mlp_ratio, drop_path=p)
            blocks.append(block if a == b else nn.Sequential(block, nn.Conv2d(a, b, 1)))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        return self.blocks(z)


class SimVP(nn.Module):
    """SimVP: ``forward(frames (B, pre, C, H, W)) -> (B, aft, C, H, W)``; H, W multiples of 2^(N_S/2).
    aft < pre: the first aft frames of one pass; aft > pre: passes fed their own output (OpenSTL)."""

    def __init__(self, translator: str, in_channels: int = 1, pre_seq_length: int = 10, aft_seq_length: int = 10,
                 hid_S: int = 64, hid_T: int = 512, N_S: int = 4, N_T: int = 8, mlp_ratio: float = 8.0,
                 drop_path: float = 0.0, spatio_kernel_enc: int = 3, spatio_kernel_dec: int = 3):
        super().__init__()
        self.channels, self.pre_seq_length, self.aft_seq_length = in_channels, pre_seq_length, aft_seq_length
        self.scale = 2 ** (N_S // 2)
        self.encoder = SimVPEncoder(in_channels, hid_S, N_S, spatio_kernel_enc)
        if translator == "incepu":
            self.translator = IncepUTranslator(pre_seq_length * hid_S, hid_T, N_T)
        elif translator == "gsta":
            self.translator = GSTATranslator(pre_seq_length * hid_S, hid_T, N_T, mlp_ratio, drop_path)
        else:
            raise ValueError(f"translator must be 'incepu' or 'gsta', got {translator!r}")
        self.decoder = SimVPDecoder(hid_S, in_channels, N_S, spatio_kernel_dec)

    @property
    def rnn(self) -> nn.Module:
        """The temporal part (the translator): SimVP's counterpart of the RNN methods' recurrent core."""
        return self.translator

    def one_pass(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        z, skip = self.encoder(frames.flatten(0, 1))
        z = self.translator(z.unflatten(0, (b, t)).flatten(1, 2)).unflatten(1, (t, -1)).flatten(0, 1)
        return self.decoder(z, skip).unflatten(0, (b, t))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 5 or frames.shape[1] != self.pre_seq_length or frames.shape[2] != self.channels:
            raise ValueError(f"SimVP expects frames (B, {self.pre_seq_length}, {self.channels}, H, W), "
                             f"got {tuple(frames.shape)}")
        if frames.shape[-1] % self.scale or frames.shape[-2] % self.scale:
            raise ValueError(f"frame size {tuple(frames.shape[-2:])} is not a multiple of {self.scale}")
        pre, aft = self.pre_seq_length, self.aft_seq_length
        if aft <= pre:
            return self.one_pass(frames)[:, :aft]
        outs, x = [], frames
        for _ in range(math.ceil(aft / pre)):
            x = self.one_pass(x)
            outs.append(x)
        return torch.cat(outs, dim=1)[:, :aft]

    def training_loss(self, frames: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(frames), targets)
