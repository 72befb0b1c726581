"""Semi-Coupled Structure cell (scs paper, section 5.1, eqs. 4-12; STSGD section 5.2, eqs. 17-19).

Main stream, one layer l at step t (the CBM product with the paper's symbols):

    s_t   = h_s(u^{l-1}_t) = BN(Conv_s(u^{l-1}_t))                      eq. 4   (R unit, Psi_s)
    c_t   = h_t(u^{l-1}_t) = BN(Conv_t([u^{l-1}_t, sigmoid(c_{t-1})]))  eq. 5   (T unit, Psi_t)
    u^l_t = r_act(s_t) * sigmoid(c_t)                                   eq. 6   (synthesizer F)

Sub-goal streams (eqs. 9-12): T^1 and T^2 are the *same* stack with a different synthesizer in every
layer, so each is a stream of its own running through all layers, sharing the layer's weights:

    spatial  (T^1):  u_s^l = r_act(BN(Conv_s(u_s^{l-1})))                 eq. 9, no recurrence
    temporal (T^2):  c2_t  = BN(Conv_t([u_tmp^{l-1}, sigmoid(c2_{t-1})]))  eq. 5 with its own state
                     u_tmp^l = relu(c2_t)                                 eq. 11

With the paper's ``r_act="relu"`` the spatial stream is exactly eq. 9 (relu(s)); with another R
activation (the polygon nets use tanh, like CBM) it is that activation, i.e. F with the temporal
factor removed. The top layer's streams are r_s = y^{T^1} (eq. 10) and r_t = y^{T^2} (eq. 12) once a
task head is applied (NOTES.md: T^1 uses the main head; T^2 predicts e.g. optical flow).

Gradient rule (dr_s/dPsi_t = 0, dr_t/dPsi_s = 0): the spatial stream only ever touches Conv_s and
the R BN, the temporal stream only Conv_t and the T BN, so the rule holds by construction. The
explicit detach is where a stream has to start from the main stream: the first SCS layer starts both
streams from its input (the network input: encoder features, which belong to neither Psi); a layer
whose input came from an SCS layer built with ``sub_goals=False`` starts them from ``x.detach()``,
because that x carries both Psi_s and Psi_t of the layers below. In the sub-goal streams BN uses its
affine parameters and the batch statistics (training) or running statistics (eval), but never
updates the running statistics: those stay the main stream's.

API. ``forward(x, state) -> (u, SCSState)``: ``u`` is the main output (a plain tensor, so
``RecurrentStack`` and the task heads work unchanged); ``SCSState(gate, gate_temporal, spatial,
temporal)`` holds the recurrent gates sigmoid(c_t) of the main and temporal streams and, read-only
and not recurrent, this layer's sub-goal outputs at this step (T^1 and T^2; None with
``sub_goals=False``). The streams travel to the next layer attached to ``u`` (``scs_streams(u)``
returns them); an op between two SCS cells that makes a new tensor drops them, and the next layer
then restarts its streams from its input -- keep SCS layers adjacent, as ``RecurrentStack`` does.

STSGD (eq. 19): with ``stsgd_q = q`` (None = off) each call in training mode draws, from torch's global
generator, one Bernoulli(q) "block the gradient into the T unit's input" and one Bernoulli(1 - q)
"block the gradient into the R unit's input" (the input is detached as fed to that unit, the
gamma_t factors of eq. 19; the draw is shared by the batch, per layer and time step). If both fire,
one is re-enabled (NOTES.md): ``stsgd_keep="spatial"`` (default) re-enables the R input, so the
spatial path always carries gradient: it is the short, non-recurrent chain (blocking it does not
thin the long BPTT chains STSGD is meant to thin, Fig. 3), and ASTSGD wants spatial learning first
(section 5.2). Then P(block T) = q and P(block R) = (1 - q)^2. ``"temporal"`` re-enables the T input
instead; ``"random"`` re-enables either with probability 1/2 (one more draw). STSGD acts on the main
stream only; the sub-goal streams are never switched.

Parameters: exactly CBMCell's (R conv + T conv + two BatchNorms); the streams add no weights.
``gate_init="paper"`` starts from c_0 = 0, so the T unit sees sigmoid(0) = 0.5 at t = 1 (eq. 5);
``"zeros"`` feeds 0 at t = 1, as CBMCell (the released code's state is the gate, initialised to 0).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layer_major import (batched, bn_steps, close_sequence, conv_with, grad_mask, input_rows, open_sequence,
                           recur, split_weight)
from .cbm import ACTIVATIONS
from .vrnn import check_input

# the sub-goal streams travel attached to a main output under this attribute: (spatial, temporal), or None
# from an SCS layer built with sub_goals=False; ``getattr(t, STREAMS_ATTR, STREAMS_ABSENT)`` is
# STREAMS_ABSENT for a tensor no SCS cell made (the network input, a non-SCS layer's output)
STREAMS_ATTR = "_scs_streams"
STREAMS_ABSENT = object()


class SCSState(NamedTuple):
    gate: torch.Tensor                        # sigmoid(c_{t}) of the main stream (fed back, eq. 5)
    gate_temporal: Optional[torch.Tensor]     # sigmoid(c2_{t}) of the temporal stream's own recurrence
    spatial: Optional[torch.Tensor] = None    # T^1 output of this layer at this step (eq. 9)
    temporal: Optional[torch.Tensor] = None   # T^2 output of this layer at this step (eq. 11)


def scs_streams(u: torch.Tensor):
    """(spatial, temporal) sub-goal streams attached to an SCS cell's main output, or None."""
    streams = getattr(u, STREAMS_ATTR, None)
    return streams if isinstance(streams, tuple) else None


def head_on_streams(u: torch.Tensor, head):
    """(``head`` on the top spatial stream -- T^1's output, the main head's --, the top temporal-stream maps
    -- for T^2's head, which lives with the task) of an SCS net's top output ``u``. ValueError when ``u``
    carries no streams (a net without SCS sub-goals): what the task nets' ``return_streams=True`` needs."""
    s = scs_streams(u)
    if s is None:
        raise ValueError("return_streams needs an SCS net with sub-goals")
    return head(s[0]), s[1]


def stream_norm(bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """BN with the module's affine parameters, leaving its running statistics alone (the sub-goal streams'
    BN: batch statistics in training, running statistics in eval)."""
    if not isinstance(bn, nn.BatchNorm2d):
        return bn(x)
    use_batch = bn.training or bn.running_mean is None
    return F.batch_norm(x, None if use_batch else bn.running_mean, None if use_batch else bn.running_var,
                        bn.weight, bn.bias, training=use_batch, momentum=0.0, eps=bn.eps)




class SCSCell(nn.Module):
    layer_major_exact = True  # forward_sequence equals forward stepped over time (models.layer_major)

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3,
                 r_act: str = "relu", bn: bool = True, sub_goals: bool = True,
                 stsgd_q: float | None = None, stsgd_keep: str = "spatial", gate_init: str = "paper"):
        super().__init__()
        if r_act not in ACTIVATIONS:
            raise ValueError(f"r_act must be one of {sorted(ACTIVATIONS)}, got {r_act!r}")
        if stsgd_keep not in ("spatial", "temporal", "random"):
            raise ValueError(f"stsgd_keep must be 'spatial', 'temporal' or 'random', got {stsgd_keep!r}")
        if gate_init not in ("paper", "zeros"):
            raise ValueError(f"gate_init must be 'paper' or 'zeros', got {gate_init!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.r_act, self.sub_goals, self.gate_init = r_act, bool(sub_goals), gate_init
        self.stsgd_q = None if stsgd_q is None else float(stsgd_q)
        self.stsgd_keep = stsgd_keep
        self.stsgd_p_s: float | None = None  # STSGD's p_s (eq. 17); None: 1 - q (ASTSGD, eq. 19)
        self.last_stsgd: tuple[bool, bool] = (False, False)
        pad = kernel_size // 2
        self.r_conv = nn.Conv2d(in_channels, hidden_channels, kernel_size, padding=pad)  # Psi_s
        self.t_conv = nn.Conv2d(in_channels + hidden_channels, hidden_channels, kernel_size, padding=pad)  # Psi_t
        self.r_bn = nn.BatchNorm2d(hidden_channels) if bn else nn.Identity()  # Psi_s
        self.t_bn = nn.BatchNorm2d(hidden_channels) if bn else nn.Identity()  # Psi_t
        for conv in (self.r_conv, self.t_conv):
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)

    def spatial_parameters(self):
        """Psi_s of this layer: the R unit (h_s)."""
        return [*self.r_conv.parameters(), *self.r_bn.parameters()]

    def temporal_parameters(self):
        """Psi_t of this layer: the T unit (h_t)."""
        return [*self.t_conv.parameters(), *self.t_bn.parameters()]

    def init_state(self, x: torch.Tensor) -> SCSState:
        check_input(self, x, spatial=True)
        b, _, h, w = x.shape
        fill = 0.5 if self.gate_init == "paper" else 0.0  # sigmoid(c_0 = 0) per eq. 5, or CBM's 0
        g = x.new_full((b, self.hidden_channels, h, w), fill)
        return SCSState(g, g if self.sub_goals else None)

    def stsgd_draw(self) -> tuple[bool, bool]:
        """(block_T_input, block_R_input) for this call; (False, False) when off or in eval mode."""
        if not self.training or self.stsgd_q is None:
            self.last_stsgd = (False, False)
            return self.last_stsgd
        q = self.stsgd_q
        u = torch.rand(2)
        p_s = self.stsgd_p_s if self.stsgd_p_s is not None else 1 - q  # eq. 17 (p_s) or eq. 19 (1 - q)
        block_t, block_r = bool(u[0] < q), bool(u[1] < p_s)
        if block_t and block_r:  # both fired: re-enable one (see the module docstring)
            keep = self.stsgd_keep
            if keep == "random":
                keep = "spatial" if bool(torch.rand(()) < 0.5) else "temporal"
            if keep == "spatial":
                block_r = False
            else:
                block_t = False
        self.last_stsgd = (block_t, block_r)
        return self.last_stsgd

    def draw_step(self) -> tuple[bool, bool]:
        """One step's random decisions as (block the T unit's input, block the R unit's input): ``stsgd_draw``."""
        return self.stsgd_draw()

    def forward(self, x: torch.Tensor, state: SCSState):
        check_input(self, x, spatial=True)
        act = ACTIVATIONS[self.r_act]
        block_t, block_r = self.stsgd_draw()
        x_t = x.detach() if block_t else x
        x_r = x.detach() if block_r else x
        s = self.r_bn(self.r_conv(x_r))                                    # eq. 4
        g = torch.sigmoid(self.t_bn(self.t_conv(torch.cat([x_t, state.gate], dim=1))))  # eq. 5
        u = act(s) * g                                                     # eq. 6
        if not self.sub_goals:
            setattr(u, STREAMS_ATTR, None)  # tells an SCS layer above to detach where it restarts
            return u, SCSState(g, None)
        streams = getattr(x, STREAMS_ATTR, STREAMS_ABSENT)
        if streams is STREAMS_ABSENT:  # network input: both streams start here
            xs_in = xt_in = x
        elif streams is None:          # main output of an SCS layer without streams: carries Psi_s and Psi_t
            xs_in = xt_in = x.detach()
        else:
            xs_in, xt_in = streams
        spatial = act(stream_norm(self.r_bn, self.r_conv(xs_in)))          # eq. 9
        gate_tmp = state.gate_temporal
        if gate_tmp is None:  # a state from before sub_goals was switched on: start it as init_state does
            gate_tmp = torch.full_like(g, 0.5 if self.gate_init == "paper" else 0.0)
        c2 = stream_norm(self.t_bn, self.t_conv(torch.cat([xt_in, gate_tmp], dim=1)))  # eq. 5, own state
        temporal = torch.relu(c2)                                          # eq. 11
        setattr(u, STREAMS_ATTR, (spatial, temporal))
        return u, SCSState(g, torch.sigmoid(c2), spatial, temporal)

    def forward_sequence(self, xs: torch.Tensor, state: SCSState | None = None, *, draws=None):
        """Layer-major run over xs (B, T, C, H, W) -> (main outputs (B, T, hidden, H, W), final SCSState): the
        values of ``forward`` stepped over ``xs[:, t]`` (``models.layer_major``). The R conv and the input half
        of the T conv run once over all frames; only the T unit's state half and BN loop over time. ``draws``:
        the per-step ``draw_step`` results (None: drawn here, step by step), STSGD then acting as per-step
        gradient masks on the input as fed to each unit.

        Sub-goal streams: the temporal stream over all steps, the spatial stream at the last step only (all
        that the final SCSState shows). As in ``forward`` they travel to the next layer attached to the output,
        here as (spatial at the last step, temporal stream frames (T*B, hidden, H, W), time-major)."""
        frames, state, fresh, draws = open_sequence(self, xs, state, draws)
        batch, steps = xs.shape[:2]
        act = ACTIVATIONS[self.r_act]
        conv = self.t_conv
        w_x, w_h = split_weight(conv, self.in_channels)
        # main stream: STSGD as per-step gradient masks on the input as fed to each unit
        x_t = grad_mask(frames, [d[0] for d in draws], batch)
        x_r = grad_mask(frames, [d[1] for d in draws], batch)
        pre = input_rows(conv, w_x, x_t, steps, batch)
        gs = recur(conv, w_h, pre, state.gate, fresh and self.gate_init == "zeros",
                   lambda z: torch.sigmoid(self.t_bn(z)))
        ss = bn_steps(self.r_bn, batched(self.r_conv, x_r, steps, batch))
        u = close_sequence(torch.cat([act(s) * g for s, g in zip(ss, gs)]), steps, batch)
        g = gs[-1]
        if not self.sub_goals:
            setattr(u, STREAMS_ATTR, None)  # tells an SCS layer above to detach where it restarts
            return u, SCSState(g, None)
        # sub-goal streams, from where the reference would start them
        last = slice((steps - 1) * batch, steps * batch)
        streams = getattr(xs, STREAMS_ATTR, STREAMS_ABSENT)
        if streams is STREAMS_ABSENT:    # network input (or a non-SCS layer's output)
            xs_last, xt_seq = frames[last], frames
        elif streams is None:            # an SCS layer without streams below
            xs_last, xt_seq = frames[last].detach(), frames.detach()
        else:
            xs_last, xt_seq = streams
        spatial = act(stream_norm(self.r_bn, self.r_conv(xs_last)))         # eq. 9, last step only
        pre2 = input_rows(conv, w_x, xt_seq, steps, batch)
        g2 = state.gate_temporal
        if g2 is None:
            g2 = torch.full_like(g, 0.5 if self.gate_init == "paper" else 0.0)
        temporals = []
        for t in range(steps):
            c2 = stream_norm(self.t_bn, pre2[t] + conv_with(conv, g2, w_h, None))  # eq. 5, own state
            temporals.append(torch.relu(c2))                                  # eq. 11
            g2 = torch.sigmoid(c2)
        setattr(u, STREAMS_ATTR, (spatial, torch.cat(temporals)))
        return u, SCSState(g, g2, spatial, temporals[-1])
