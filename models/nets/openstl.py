"""OpenSTL's Moving-MNIST configurations (Tan et al., "OpenSTL: A Comprehensive Benchmark of
Spatio-Temporal Predictive Learning", NeurIPS 2023 D&B), rebuilt in the zoo from the methods' papers,
and ConvMinGRU, CBM and SCS predictors on the same frame.

Six parity configurations (OpenSTL ``configs/mmnist/``: 10 frames of 1 x 64 x 64 in, 10 out):

===========================  =====================  ==================================================
registered name              OpenSTL row            structure
===========================  =====================  ==================================================
``mmnist_convlstm_s``        ConvLSTM-S             4 x ConvLSTM(128), filter 5, patch 4
``mmnist_predrnn``           PredRNN                4 x ST-LSTM(128), zigzag memory M
``mmnist_predrnn_v2``        PredRNN.V2             PredRNN + shared 1x1 adapter, decoupling loss
``mmnist_predrnn_pp``        PredRNN++              4 x causal LSTM(128) + GHU after layer 1
``mmnist_simvp_incepu``      SimVP+IncepU           SimVP v1: hid_S 64, hid_T 512, N_S 4, N_T 8
``mmnist_simvp_gsta_s``      SimVP+gSTA-S           SimVP v2 (OpenSTL ``simvp/SimVP_gSTA.py``): hid_S 64,
                                                    hid_T 512, N_S 4, N_T 8, gSTA blocks (kernel 21,
                                                    MLP ratio 8), encoder/decoder kernel 3, drop path 0
===========================  =====================  ==================================================

**Recurrent methods** (``RecurrentPredictor``): frames are cut into non-overlapping 4x4 patches
(space-to-depth, 1 x 64 x 64 -> 16 x 16 x 16; ``F.pixel_unshuffle`` -- OpenSTL's ``reshape_patch`` orders
the 16 channels differently, a fixed permutation that changes no count), the recurrent core runs at 16x16
with layer norm off, and a bias-free 1x1 conv (``conv_last``) maps the top hidden state back to a patch
frame. As in OpenSTL, every step emits a frame and the sequence runs pre + aft - 1 = 19 steps: steps 0-9 read
the 10 observed frames, steps 10-18 read the frame the model made at the step before; the outputs of steps
9-18 are the 10 predictions. ``forward(frames (B, T_in, C, H, W)) -> (B, aft, C, H, W)``.
Training schedules are not in the forward's default path; ``forward(frames, targets, mask)`` takes
OpenSTL's ``mask_true`` layout for (reverse) scheduled sampling: ``mask[:, t - 1]`` = 1 feeds the true
frame at step t >= 1, 0 the model's own (``reverse_scheduled_sampling_mask`` draws it for PredRNN-V2).
``training_loss`` is OpenSTL's: MSE of all 19 step outputs against frames 2..20 (+ 0.1 x the decoupling
loss for PredRNN-V2).

**SimVP** (``SimVP``): an encoder of N_S ConvSC layers (conv 3x3 + GroupNorm(2) + SiLU, stride 2 on every
second) applied to each frame, a translator on the T frames' latents stacked on channels (T * hid_S = 640
at 16x16), a decoder mirroring the encoder (sub-pixel upsampling, skip from the first encoder layer) and a
1x1 readout. IncepU translator (SimVP v1): a U-net of 2 N_T inception blocks (1x1 conv to hid_T / 2, then
the sum of grouped 3/5/7/11 convs, 8 groups, GroupNorm + LeakyReLU(0.2)). gSTA translator (SimVP v2 / TAU
paper's "SimVP+gSTA"): N_T blocks of [BN, 1x1, GELU, large-kernel attention (5x5 depthwise, 7x7 depthwise
dilation 3, 1x1 to a value and a sigmoid gate), 1x1, residual; BN, MLP (1x1, 3x3 depthwise, GELU, 1x1)
with ratio 8, residual], both branches scaled by learned layer scales (init 0.01); 1x1 reductions 640 ->
512 after the first block and 512 -> 640 after the last. Stochastic depth as OpenSTL schedules it
(rates linspace(0.01, drop_path, N_T) for blocks 1..N_T-1, drop_path for the last).

**Parameter parity, stated plainly.** OpenSTL's ``ConvLSTMCell`` builds a ``conv_o`` (2 x 128 -> 128, 5x5)
and a ``conv_last`` (1x1) that its forward never calls, and its ``CausalLSTMCell`` a ``conv_o`` likewise
unused; the published 15.0M and 38.6M count them (without: 11.7M and 35.3M). They are built here too, as
``openstl_unused`` (a ModuleList outside the recurrent core, never called, no FLOPs, no gradients) so the
totals are OpenSTL's; ``openstl_unused=False`` leaves them out. The ConvLSTM-S core is the zoo's
``ConvLSTMCell`` (one conv over concat(x, h), with a bias: +512 parameters a layer against OpenSTL's
bias-free pair of convs; forget-gate bias none, as OpenSTL's ConvLSTM). Measured counts are pinned in
``tests/models/test_openstl_parity.py``.

**ConvMinGRU** (``mmnist_convmingru``, not an OpenSTL row): the ConvLSTM-S frame with
``models.cells.minrnn.ConvMinGRUCell`` layers; the observed frames run layer-major (the parallel scan),
the rollout steps. ``seq_convmingru``: the toy frame-sequence classifier (``models.nets.sequence``) with a
ConvMinGRU stack, as every cell of ``models.cells.CELLS`` has one.

**CBM and SCS** (``mmnist_cbm``, ``mmnist_scs``, not OpenSTL rows; issue 19's ``beyond.videopred``): the
ConvLSTM-S frame with the suite's own cells. CBM as deeprnn's video-prediction cell (R ReLU, no BatchNorm,
xavier-normal weights); SCS as the scs paper's eqs. 4-6 (R ReLU, BatchNorm on both units) with the sub-goal
streams off (frame prediction has no sub-goal head). Both run time-major by default (``execution``).

Size knobs of every ``mmnist_*`` factory: ``width_mult`` (RNN hidden 128, SimVP hid_S 64 (rounded to an
even number) / hid_T 512 times it), ``pre_seq_length`` / ``aft_seq_length`` (SimVP's translator is built for
``pre_seq_length`` frames), ``in_channels``. Each net's recurrent (SimVP: translator) part is ``.rnn``.

``openstl_parity()`` returns (name, params_M, openstl_params_M, gmacs, openstl_gmacs) rows: parameters
counted, and multiply-adds of one 10 -> 10 sequence at batch 1 measured with
``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2), on the meta device by default (nothing is
computed or allocated; the counts are the same).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..cells.predrnn import PredRNNStack, build_predrnn_stack, decoupling_loss
from ..registry import create_model, register_model
from ..stacks import RecurrentStack, build_stack, count_parameters
from .sequence import _factory as _seq_factory
from .simvp import SimVP

# registered name -> (OpenSTL's row, published parameters in M, published FLOPs in G), OpenSTL's
# Moving-MNIST benchmark table (README / docs/en/model_zoos/video_benchmarks.md); OpenSTL's "FLOPs" count
# one per multiply-add (fvcore's convention), so they compare with our MACs.
OPENSTL_MMNIST = {
    "mmnist_convlstm_s": ("ConvLSTM-S", 15.0, 56.8),
    "mmnist_predrnn": ("PredRNN", 23.8, 116.0),
    "mmnist_predrnn_v2": ("PredRNN.V2", 23.9, 116.6),
    "mmnist_predrnn_pp": ("PredRNN++", 38.6, 171.7),
    "mmnist_simvp_incepu": ("SimVP+IncepU", 58.0, 19.4),
    "mmnist_simvp_gsta_s": ("SimVP+gSTA-S", 46.8, 16.5),
}
MMNIST_SHAPE = (10, 1, 64, 64)  # in_shape (T, C, H, W); 10 frames are predicted


# ------------------------------------------------------------------------------ recurrent methods
class RecurrentPredictor(nn.Module):
    """Patch frames -> recurrent core (``self.rnn``, with ``step(x, state) -> (top h, state)``) -> 1x1
    ``conv_last`` -> frames, rolled out as OpenSTL's RNN methods (see the module docstring)."""

    def __init__(self, rnn: nn.Module, channels: int, patch: int, aft_seq_length: int):
        super().__init__()
        self.rnn = rnn
        self.channels, self.patch, self.aft_seq_length = channels, patch, aft_seq_length
        self.conv_last = nn.Conv2d(rnn.widths[-1], channels * patch * patch, 1, bias=False)

    # patch frames (B, C, H, W) <-> (B, C p^2, H / p, W / p)
    def _to_patches(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.patch == 1 else F.pixel_unshuffle(x, self.patch)

    def _to_frames(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.patch == 1 else F.pixel_shuffle(x, self.patch)

    def _check(self, frames: torch.Tensor) -> None:
        if frames.dim() != 5 or frames.shape[2] != self.channels or frames.shape[1] < 1:
            raise ValueError(f"{type(self).__name__} expects frames (B, T>=1, {self.channels}, H, W), "
                             f"got {tuple(frames.shape)}")
        if frames.shape[-1] % self.patch or frames.shape[-2] % self.patch:
            raise ValueError(f"frame size {tuple(frames.shape[-2:])} is not a multiple of patch={self.patch}")

    def core_step(self, x: torch.Tensor, state):
        return self.rnn.step(x, state)

    def encode(self, seq: torch.Tensor):
        """The observed patch frames (B, T, C p^2, h, w) -> (top outputs (B, T, hidden, h, w), state)."""
        state, outs = None, []
        for t in range(seq.shape[1]):
            h, state = self.core_step(seq[:, t], state)
            outs.append(h)
        return torch.stack(outs, dim=1), state

    def begin(self) -> None:
        """Called at the start of every forward (PredRNN-V2 resets its decoupling terms)."""

    def end(self) -> None:
        """Called at the end of every forward."""

    def forward(self, frames: torch.Tensor, targets: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                return_all: bool = False) -> torch.Tensor:
        """frames (B, T_in, C, H, W) -> the ``aft_seq_length`` predicted frames (B, aft, C, H, W);
        ``return_all``: every step's frame (B, T_in + aft - 1, ...), OpenSTL's ``next_frames``.

        ``mask`` (B, T_in + aft - 2), 0/1 (or broadcastable to (B, T_in + aft - 2, C p^2, h, w)) with
        ``targets`` (B, aft, C, H, W): the input of step t >= 1 is mask[:, t-1] * true frame t + (1 -
        mask[:, t-1]) * the frame made at step t - 1 (OpenSTL's reverse scheduled sampling layout; plain
        scheduled sampling is the mask with ones on the first T_in - 1 steps)."""
        self._check(frames)
        b, t_in = frames.shape[:2]
        steps = t_in + self.aft_seq_length - 1
        seq = self._to_patches(frames.flatten(0, 1)).unflatten(0, (b, t_in))
        self.begin()
        if mask is None:
            tops, state = self.encode(seq)
            gen = self.conv_last(tops.flatten(0, 1)).unflatten(0, (b, t_in))
            made, x = list(gen.unbind(1)), gen[:, -1]
            for _ in range(t_in, steps):
                h, state = self.core_step(x, state)
                x = self.conv_last(h)
                made.append(x)
        else:
            if targets is None or targets.shape[1] != self.aft_seq_length:
                raise ValueError(f"a sampling mask needs the {self.aft_seq_length} target frames")
            self._check(targets)
            true = torch.cat([seq, self._to_patches(targets.flatten(0, 1)).unflatten(0, (b, targets.shape[1]))], 1)
            mask = mask.to(true.dtype)
            if mask.dim() == 2:
                mask = mask[:, :, None, None, None]
            if mask.shape[1] != steps - 1:
                raise ValueError(f"mask must cover steps 1..{steps - 1} ({steps - 1} entries), got {mask.shape[1]}")
            state, made, x = None, [], None
            for t in range(steps):
                net = true[:, 0] if t == 0 else mask[:, t - 1] * true[:, t] + (1 - mask[:, t - 1]) * x
                h, state = self.core_step(net, state)
                x = self.conv_last(h)
                made.append(x)
        self.end()
        out = torch.stack(made if return_all else made[t_in - 1:], dim=1)
        return self._to_frames(out.flatten(0, 1)).unflatten(0, out.shape[:2])

    def training_loss(self, frames: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None):
        """OpenSTL's RNN-method loss: MSE of every step's frame against the next true frame."""
        made = self(frames, targets, mask, return_all=True)
        return F.mse_loss(made, torch.cat([frames, targets], dim=1)[:, 1:])


class StackPredictor(RecurrentPredictor):
    """``RecurrentPredictor`` on a ``models.stacks.RecurrentStack`` of one-state cells (ConvLSTM,
    ConvMinGRU, ...). ``execution``: how the observed frames run through the stack, "time" (every layer
    per step, the reference) or "layer" (each layer over all observed frames, ``models.layer_major``;
    ConvMinGRU's parallel scan). ``openstl_unused``: parity-only modules, never called."""

    def __init__(self, rnn: RecurrentStack, channels: int, patch: int, aft_seq_length: int,
                 execution: str = "time", openstl_unused: nn.Module | None = None):
        super().__init__(rnn, channels, patch, aft_seq_length)
        if execution not in ("time", "layer"):
            raise ValueError(f"execution must be 'time' or 'layer', got {execution!r}")
        self.execution = execution
        if openstl_unused is not None:
            self.openstl_unused = openstl_unused

    def encode(self, seq: torch.Tensor):
        return self.rnn(seq, execution=self.execution)


class PredRNNPredictor(RecurrentPredictor):
    """``RecurrentPredictor`` on a ``models.cells.predrnn.PredRNNStack``. ``decouple=True`` (PredRNN-V2):
    a shared bias-free 1x1 ``adapter``; every forward leaves the mean decoupling loss over its steps and
    layers in ``self.decouple_loss`` (computed in the forward, as OpenSTL does), and ``training_loss``
    adds ``decouple_beta`` times it."""

    def __init__(self, rnn: PredRNNStack, channels: int, patch: int, aft_seq_length: int, decouple: bool = False,
                 decouple_beta: float = 0.1, openstl_unused: nn.Module | None = None):
        super().__init__(rnn, channels, patch, aft_seq_length)
        self.decouple_beta = decouple_beta
        self.adapter = nn.Conv2d(rnn.widths[0], rnn.widths[0], 1, bias=False) if decouple else None
        if openstl_unused is not None:
            self.openstl_unused = openstl_unused
        self.decouple_loss: torch.Tensor | None = None
        self._terms: list[torch.Tensor] = []

    def core_step(self, x, state):
        h, state = self.rnn.step(x, state)
        if self.adapter is not None:
            self._terms += [decoupling_loss(dc, dm, self.adapter) for dc, dm in state.deltas]
        return h, state

    def begin(self):
        self._terms = []

    def end(self):
        if self.adapter is not None:
            self.decouple_loss = torch.stack(self._terms).mean()
            self._terms = []

    def training_loss(self, frames, targets, mask=None):
        loss = super().training_loss(frames, targets, mask)
        return loss + self.decouple_beta * self.decouple_loss if self.adapter is not None else loss


# --------------------------------------------------------------- PredRNN-V2 reverse scheduled sampling
def reverse_scheduled_sampling_probs(step: int, r_sampling_step_1: int = 25_000, r_sampling_step_2: int = 50_000,
                                     r_exp_alpha: float = 5_000) -> tuple[float, float]:
    """PredRNN-V2's reverse scheduled sampling (TPAMI 2022, section 4.4, exponential schedule) at
    training iteration ``step``: (eps_enc, eps_dec), the probabilities that the encoder steps (reading
    observed frames 2..T_in) and the decoder steps (reading frames T_in+1..) get the true frame.
    eps_enc rises from 0.5 to 1 (1 - 0.5 exp(-(step - s1) / alpha) on [s1, s2), then 1): the encoder
    learns from its own predictions first, then from the truth; eps_dec falls linearly from 0.5 to 0 on
    [s1, s2) (scheduled sampling). Before s1 both are 0.5. Defaults: OpenSTL's Moving-MNIST config."""
    if step < r_sampling_step_1:
        return 0.5, 0.5
    if step < r_sampling_step_2:
        enc = 1.0 - 0.5 * math.exp(-float(step - r_sampling_step_1) / r_exp_alpha)
        dec = 0.5 - 0.5 * (step - r_sampling_step_1) / (r_sampling_step_2 - r_sampling_step_1)
        return enc, dec
    return 1.0, 0.0


def reverse_scheduled_sampling_mask(step: int, batch_size: int, pre_seq_length: int = 10, aft_seq_length: int = 10,
                                    r_sampling_step_1: int = 25_000, r_sampling_step_2: int = 50_000,
                                    r_exp_alpha: float = 5_000, generator: torch.Generator | None = None) -> torch.Tensor:
    """The 0/1 mask (B, pre + aft - 2) of ``RecurrentPredictor.forward`` at training iteration ``step``:
    entries 0..pre-2 (steps 1..pre-1, the encoder) are 1 with probability eps_enc, the rest (steps
    pre..pre+aft-2, the decoder) with eps_dec (``reverse_scheduled_sampling_probs``), drawn independently
    per sequence and step. From ``r_sampling_step_2`` on: ones then zeros, i.e. the test-time rollout."""
    enc, dec = reverse_scheduled_sampling_probs(step, r_sampling_step_1, r_sampling_step_2, r_exp_alpha)
    u = torch.rand(batch_size, pre_seq_length + aft_seq_length - 2, generator=generator)
    p = torch.tensor([enc] * (pre_seq_length - 1) + [dec] * (aft_seq_length - 1))
    return (u < p).float()


# -------------------------------------------------------------------------------------- factories
def _rnn_frame(width_mult: float, in_channels: int, patch_size: int, num_layers: int):
    hidden = max(1, round(128 * width_mult))
    return [hidden] * num_layers, in_channels * patch_size ** 2


def _unused_convlstm(widths: Sequence[int], k: int) -> nn.ModuleList:
    """OpenSTL ConvLSTMCell's conv_o (2h -> h, k x k) and conv_last (2h -> h, 1x1), per layer: built, never
    called (see the module docstring)."""
    return nn.ModuleList(nn.ModuleDict({"conv_o": nn.Conv2d(2 * w, w, k, padding=k // 2, bias=False),
                                        "conv_last": nn.Conv2d(2 * w, w, 1, bias=False)}) for w in widths)


@register_model
def mmnist_convlstm_s(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                      aft_seq_length: int = 10, patch_size: int = 4, num_layers: int = 4, filter_size: int = 5,
                      openstl_unused: bool = True, execution: str = "time") -> StackPredictor:
    """OpenSTL ConvLSTM-S on Moving MNIST: 4 x ConvLSTM(128), filter 5, patch 4 (15.0M, 56.8G)."""
    widths, c = _rnn_frame(width_mult, in_channels, patch_size, num_layers)
    rnn = build_stack("convlstm", c, widths, kernel_size=filter_size)
    unused = _unused_convlstm(widths, filter_size) if openstl_unused else None
    return StackPredictor(rnn, in_channels, patch_size, aft_seq_length, execution, unused)


def _predrnn(cell: str, width_mult, in_channels, patch_size, num_layers, filter_size, aft_seq_length,
             highway=False, decouple=False, unused=None, decouple_beta=0.1) -> PredRNNPredictor:
    widths, c = _rnn_frame(width_mult, in_channels, patch_size, num_layers)
    rnn = build_predrnn_stack(cell, c, widths, filter_size, highway=highway)
    unused = unused(widths, filter_size) if unused is not None else None
    return PredRNNPredictor(rnn, in_channels, patch_size, aft_seq_length, decouple, decouple_beta, unused)


@register_model
def mmnist_predrnn(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10, aft_seq_length: int = 10,
                   patch_size: int = 4, num_layers: int = 4, filter_size: int = 5) -> PredRNNPredictor:
    """OpenSTL PredRNN on Moving MNIST: 4 x ST-LSTM(128), zigzag memory, filter 5, patch 4 (23.8M, 116.0G)."""
    return _predrnn("stlstm", width_mult, in_channels, patch_size, num_layers, filter_size, aft_seq_length)


@register_model
def mmnist_predrnn_v2(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                      aft_seq_length: int = 10, patch_size: int = 4, num_layers: int = 4, filter_size: int = 5,
                      decouple_beta: float = 0.1) -> PredRNNPredictor:
    """OpenSTL PredRNN.V2 on Moving MNIST: PredRNN + the decoupling adapter (loss weight 0.1; trained with
    ``reverse_scheduled_sampling_mask``) (23.9M, 116.6G)."""
    return _predrnn("stlstm", width_mult, in_channels, patch_size, num_layers, filter_size, aft_seq_length,
                    decouple=True, decouple_beta=decouple_beta)


@register_model
def mmnist_predrnn_pp(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                      aft_seq_length: int = 10, patch_size: int = 4, num_layers: int = 4, filter_size: int = 5,
                      openstl_unused: bool = True) -> PredRNNPredictor:
    """OpenSTL PredRNN++ on Moving MNIST: 4 x causal LSTM(128) + GHU, filter 5, patch 4 (38.6M, 171.7G)."""
    def unused(widths, k):  # OpenSTL CausalLSTMCell's conv_o (2h -> h, k x k), per layer, never called
        return nn.ModuleList(nn.Conv2d(2 * w, w, k, padding=k // 2, bias=False) for w in widths)

    return _predrnn("causal", width_mult, in_channels, patch_size, num_layers, filter_size, aft_seq_length,
                    highway=True, unused=unused if openstl_unused else None)


def _simvp(translator: str, width_mult: float, **kw) -> SimVP:
    """hid_S 64 and hid_T 512 times ``width_mult``, hid_S rounded to an even number (its GroupNorm has 2
    groups; 64 x width_mult rounded as before wherever that was even)."""
    hid_s, hid_t = max(2, 2 * round(32 * width_mult)), max(2, round(512 * width_mult))
    return SimVP(translator, hid_S=kw.pop("hid_S", hid_s), hid_T=kw.pop("hid_T", hid_t), **kw)


@register_model
def mmnist_simvp_incepu(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                        aft_seq_length: int = 10, **kw) -> SimVP:
    """OpenSTL SimVP+IncepU (SimVP v1) on Moving MNIST: hid_S 64, hid_T 512, N_S 4, N_T 8 (58.0M, 19.4G)."""
    return _simvp("incepu", width_mult, in_channels=in_channels, pre_seq_length=pre_seq_length,
                  aft_seq_length=aft_seq_length, **kw)


@register_model
def mmnist_simvp_gsta_s(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                        aft_seq_length: int = 10, **kw) -> SimVP:
    """OpenSTL SimVP+gSTA-S on Moving MNIST (configs/mmnist/simvp/SimVP_gSTA.py): hid_S 64, hid_T 512,
    N_S 4, N_T 8, MLP ratio 8, kernels 3, drop path 0 (46.8M, 16.5G)."""
    return _simvp("gsta", width_mult, in_channels=in_channels, pre_seq_length=pre_seq_length,
                  aft_seq_length=aft_seq_length, **kw)


def _cell_predictor(cell: str, width_mult: float, in_channels: int, aft_seq_length: int, patch_size: int,
                    num_layers: int, filter_size: int, execution: str, **cell_kw) -> StackPredictor:
    """A ``StackPredictor`` over ``num_layers`` ``cell`` layers of the frame's width (``cell_kw``: the cell's
    own options)."""
    widths, c = _rnn_frame(width_mult, in_channels, patch_size, num_layers)
    rnn = build_stack(cell, c, widths, kernel_size=filter_size, **cell_kw)
    return StackPredictor(rnn, in_channels, patch_size, aft_seq_length, execution)


@register_model
def mmnist_convmingru(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10,
                      aft_seq_length: int = 10, patch_size: int = 4, num_layers: int = 4, filter_size: int = 5,
                      execution: str = "layer", mode: str = "parallel") -> StackPredictor:
    """ConvMinGRU on the ConvLSTM-S frame (4 x 128, filter 5, patch 4); the observed frames run
    layer-major through the parallel scan (``execution="time"`` / ``mode="sequential"``: step by step)."""
    return _cell_predictor("convmingru", width_mult, in_channels, aft_seq_length, patch_size, num_layers,
                           filter_size, execution, mode=mode)


@register_model
def mmnist_cbm(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10, aft_seq_length: int = 10,
               patch_size: int = 4, num_layers: int = 4, filter_size: int = 5, execution: str = "time",
               r_act: str = "relu", bn: bool = False, init: str = "xavier_normal", **cell_kw) -> StackPredictor:
    """CBM on the ConvLSTM-S frame (4 x 128, filter 5, patch 4): deeprnn's video-prediction cell (R ReLU, no
    BatchNorm, xavier-normal weights; ``models.cells.cbm``); ``cell_kw``: further ``CBMCell`` options
    (``merge``, ``td_rate``, ...; Temporal Dropout is set by the run's ``td_schedule``)."""
    return _cell_predictor("cbm", width_mult, in_channels, aft_seq_length, patch_size, num_layers, filter_size,
                           execution, r_act=r_act, bn=bn, init=init, **cell_kw)


@register_model
def mmnist_scs(width_mult: float = 1.0, in_channels: int = 1, pre_seq_length: int = 10, aft_seq_length: int = 10,
               patch_size: int = 4, num_layers: int = 4, filter_size: int = 5, execution: str = "time",
               r_act: str = "relu", bn: bool = True, sub_goals: bool = False, **cell_kw) -> StackPredictor:
    """SCS on the ConvLSTM-S frame (4 x 128, filter 5, patch 4): the scs paper's cell (eqs. 4-6: R ReLU, BN on
    both units; ``models.cells.scs``), the sub-goal streams off (no sub-goal head in frame prediction: they
    would cost compute and train nothing); ``cell_kw``: further ``SCSCell`` options (``gate_init``, ...)."""
    return _cell_predictor("scs", width_mult, in_channels, aft_seq_length, patch_size, num_layers, filter_size,
                           execution, r_act=r_act, bn=bn, sub_goals=sub_goals, **cell_kw)


# the toy frame-sequence classifier with a ConvMinGRU stack (models.nets.sequence registers the others)
register_model(_seq_factory("convmingru", {}))


# ------------------------------------------------------------------------------------- the report
def count_macs(model: nn.Module, *inputs) -> float:
    """Multiply-adds of ``model(*inputs)``: ``FlopCounterMode``'s FLOPs / 2 (no gradient recorded)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*inputs)
    return counter.get_total_flops() / 2


def openstl_parity(device: str | torch.device = "meta") -> list[tuple[str, float, float, float, float]]:
    """Rows (name, params_M, openstl_params_M, gmacs, openstl_gmacs) of the six parity configurations:
    parameters counted, multiply-adds of one 10 -> 10 Moving-MNIST sequence at batch 1 (eval mode) against
    OpenSTL's published numbers. ``device="meta"`` (default): shapes only, nothing allocated or computed."""
    rows = []
    for name, (_, params_ref, gmacs_ref) in OPENSTL_MMNIST.items():
        with torch.device(device):
            model = create_model(name).eval()
            frames = torch.zeros(1, *MMNIST_SHAPE)
        rows.append((name, count_parameters(model) / 1e6, params_ref, count_macs(model, frames) / 1e9, gmacs_ref))
    return rows


__all__ = ["OPENSTL_MMNIST", "RecurrentPredictor", "StackPredictor", "PredRNNPredictor", "SimVP",
           "reverse_scheduled_sampling_probs", "reverse_scheduled_sampling_mask", "count_macs", "openstl_parity"]
