"""Layer-major execution of a plain ``RecurrentStack`` (issue 8): same numbers, fewer small convolutions.

The time-major reference (``RecurrentStack.forward``) calls every cell once per layer per time step.
Here each layer runs over the whole sequence before the next one:

1. everything that does not depend on the previous state runs ONCE over all B*T frames as one
   batched convolution -- CBM / SCS: the R conv and the *input half* of the T conv (the T conv's
   weight is split into its input and state parts; the bias goes with the input part); ConvLSTM: the
   input half of the gate conv;
2. only the state-dependent part (the state half of the conv, BN, activations) loops over time.

Frames are kept time-major inside (``(T*B, C, H, W)``: step t is the contiguous rows ``t*B:(t+1)*B``).

Exactness (fp32, up to summation order in the split convolution):

- **BN** keeps its per-time-step semantics: in training (or without running statistics) a
  ``BatchNorm2d`` is called once per time step on that step's rows, in step order, so the batch
  statistics, running-stat updates and ``num_batches_tracked`` are those of the reference (eval mode:
  the running statistics, as in the reference).
- The batched convolutions run in chunks of whole time steps of at most ``CHUNK_BYTES`` input (cache;
  per-frame ops, so no number changes).
- **Random draws** (Temporal Dropout of CBM, STSGD of SCS) are made up front, with the cells' own draw
  code (``CBMCell.temporal_dropout`` on a dummy tensor, ``SCSCell.stsgd_draw``), in the reference's
  order: time outer, layer inner (``for t: for layer: draw``). The global generator therefore ends in
  the same state and every layer/step gets the same decision as in time-major; ``last_stsgd`` ends as
  the last step's draw, as in the reference.
- The decisions become **per-time-step gradient masks** on the input frames fed to the T (or R) unit:
  forward value unchanged, gradient into the input multiplied by 0 on the blocked steps (the conv
  weights still get their gradient, exactly as ``x.detach()`` in the reference).

Supported: ``RecurrentStack`` itself (its own ``step``) of ``ConvLSTMCell``, ``CBMCell`` and ``SCSCell``
(exact classes, any mix), BN ``nn.BatchNorm2d`` or ``nn.Identity``, zero-padded ungrouped convs. SCS
sub-goal streams (``sub_goals=True``) ARE computed: the temporal stream (T^2, recurrent) over all steps,
the spatial stream (T^1, not recurrent) only at the last step, which is all that a stacked sequence
output exposes (the reference's ``forward`` returns ``torch.stack`` of the outputs, which carries no
streams; the streams are visible only in the final ``SCSState``s, which equal the reference's).
Everything else -- ``DeepRecurrentNet`` (shortcuts / pooling), strided or other cells, other BN types,
cells with forward hooks -- raises ``NotImplementedError``: run those with ``execution="time"``. There is
no silent fallback.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cells.cbm import _ACT, CBMCell
from .cells.convlstm import ConvLSTMCell
from .cells.scs import _MISSING, SCSCell, SCSState, _norm
from .stacks import RecurrentStack

SUPPORTED_CELLS = (ConvLSTMCell, CBMCell, SCSCell)
_FALLBACK = "run it with execution='time' (the time-major reference)"


# ------------------------------------------------------------------------------------------ checks
def check_layer_major(stack: nn.Module) -> None:
    """Raise NotImplementedError unless ``stack`` can run layer-major (see the module docstring)."""
    if not isinstance(stack, RecurrentStack) or type(stack).step is not RecurrentStack.step:
        raise NotImplementedError(
            f"layer-major execution supports plain RecurrentStack only, not {type(stack).__name__} "
            f"(its step adds shortcuts/pooling between cells); {_FALLBACK}")
    for i, cell in enumerate(stack.cells):
        if type(cell) not in SUPPORTED_CELLS:
            raise NotImplementedError(
                f"layer-major execution supports {[c.__name__ for c in SUPPORTED_CELLS]} (exact classes), "
                f"layer {i} is {type(cell).__name__}; {_FALLBACK}")
        if cell._forward_hooks or cell._forward_pre_hooks:
            raise NotImplementedError(f"layer {i} ({type(cell).__name__}) has forward hooks, which layer-major "
                                      f"execution would never call; {_FALLBACK}")
        for name, m in cell.named_children():
            if isinstance(m, nn.Conv2d):
                if m.padding_mode != "zeros" or m.groups != 1:
                    raise NotImplementedError(f"layer {i}: {name} must be a zero-padded, ungrouped Conv2d; "
                                              f"{_FALLBACK}")
            elif type(m) not in (nn.BatchNorm2d, nn.Identity):
                raise NotImplementedError(f"layer {i}: {name} is {type(m).__name__}; layer-major execution "
                                          f"supports nn.BatchNorm2d / nn.Identity; {_FALLBACK}")


# ---------------------------------------------------------------------------- random draws -> masks
_DUMMY = torch.empty(0)


def predraw(cells, steps: int) -> list[list[tuple[bool, bool]]]:
    """Per layer, per step: (block the T unit's input, block the R unit's input), drawn exactly as the
    time-major reference draws them: ``for t: for layer:`` with the cells' own draw code."""
    flags = [[(False, False)] * steps for _ in cells]
    for t in range(steps):
        for i, cell in enumerate(cells):
            if isinstance(cell, CBMCell):
                flags[i][t] = (cell.temporal_dropout(_DUMMY) is not _DUMMY, False)
            elif isinstance(cell, SCSCell):
                flags[i][t] = cell.stsgd_draw()
    return flags


class _GradMask(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by a per-frame 0/1 mask (== ``x * m +
    x.detach() * (1 - m)``, without the forward arithmetic)."""

    @staticmethod
    def forward(ctx, x, m):
        ctx.save_for_backward(m)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        (m,) = ctx.saved_tensors
        return g * m, None


def grad_mask(x: torch.Tensor, blocked: list[bool], batch: int) -> torch.Tensor:
    """``x`` (T*B frames, time-major) with the gradient cut on the steps where ``blocked`` is True."""
    if not any(blocked):
        return x
    if all(blocked):
        return x.detach()
    keep = torch.tensor([0.0 if b else 1.0 for b in blocked], dtype=x.dtype, device=x.device)
    m = keep.repeat_interleave(batch).view(-1, *([1] * (x.dim() - 1)))
    return _GradMask.apply(x, m)


# ------------------------------------------------------------------------------------------ helpers
# The "batched" convolutions run over chunks of whole time steps of at most this many input bytes:
# on a CPU one convolution over all B*T frames of a large map falls out of cache (measured on the
# 2-core machine: 32->32 3x3 conv on 64x64 maps, fwd+bwd per frame 2.7-2.9 ms at 8-32 frames, 5.2 ms
# at 64). Per-frame ops, so chunking changes no number. None: one call over all frames.
CHUNK_BYTES: int | None = 16 * 2 ** 20


def _chunks(x: torch.Tensor, steps: int, batch: int) -> list[torch.Tensor]:
    if CHUNK_BYTES is None or steps == 1:
        return [x]
    per_step = x[:batch].numel() * x.element_size()
    k = max(1, min(steps, CHUNK_BYTES // max(per_step, 1)))
    return list(x.split(k * batch)) if k < steps else [x]


def _batched(fn, x: torch.Tensor, steps: int, batch: int) -> list[torch.Tensor]:
    """``fn`` (a per-frame op) over all T*B frames, in cache-sized chunks of whole time steps; returns
    the per-step rows (one multi-output split per chunk: one backward, no per-step full-size zero
    gradients as T slices would make, and no concatenation of the chunks)."""
    return [r for p in _chunks(x, steps, batch) for r in fn(p).split(batch)]


def _conv(conv: nn.Conv2d, x, weight, bias):
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


def _split(conv: nn.Conv2d, n_in: int):
    """The conv's weight split into its input part (first ``n_in`` channels) and state part."""
    w_x, w_h = conv.weight.split([n_in, conv.weight.shape[1] - n_in], dim=1)
    return w_x.contiguous(), w_h.contiguous()


def _bn_steps(bn: nn.Module, rows: list[torch.Tensor]) -> list[torch.Tensor]:
    """``bn`` on per-step rows with the reference's per-time-step semantics: one call per step in
    step order in training (or without running statistics); in eval mode with running statistics a
    per-channel affine map, so a call per row gives the same values as one over all frames."""
    if isinstance(bn, nn.Identity):
        return rows
    return [bn(r) for r in rows]


# --------------------------------------------------------------------------------------- the layers
def _run_convlstm(cell: ConvLSTMCell, seq, state, flags, steps, batch, zero_state, streams):
    conv = cell.gates
    w_x, w_h = _split(conv, cell.in_channels)
    pre = _batched(lambda f: _conv(conv, f, w_x, conv.bias), seq, steps, batch)
    h, c = state
    hs = []
    for t in range(steps):
        z = pre[t]
        if not (t == 0 and zero_state):
            z = z + _conv(conv, h, w_h, None)
        i, f, o, g = cell.gates_bn(z).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    return torch.cat(hs), (h, c), _MISSING


def _run_cbm(cell: CBMCell, seq, state, flags, steps, batch, zero_state, streams):
    conv = cell.t_conv
    w_x, w_h = _split(conv, cell.in_channels)
    x_t = grad_mask(seq, [f[0] for f in flags], batch)  # Temporal Dropout as a per-step gradient mask
    pre = _batched(lambda f: _conv(conv, f, w_x, conv.bias), x_t, steps, batch)
    act_t = torch.sigmoid if cell.merge == "product" else torch.relu
    c, cs = state, []
    for t in range(steps):
        z = pre[t]
        if not (t == 0 and zero_state):
            z = z + _conv(conv, c, w_h, None)
        c = act_t(cell.t_bn(z))
        cs.append(c)
    if cell.representation:
        act = _ACT[cell.r_act]
        rs = [act(r) for r in _bn_steps(cell.r_bn, _batched(cell.r_conv, seq, steps, batch))]
    else:
        rs = [torch.ones_like(c) for c in cs]
    out = [r * c for r, c in zip(rs, cs)] if cell.merge == "product" else [r + c for r, c in zip(rs, cs)]
    return torch.cat(out), c, _MISSING


def _run_scs(cell: SCSCell, seq, state: SCSState, flags, steps, batch, zero_state, streams):
    act = _ACT[cell.r_act]
    conv = cell.t_conv
    w_x, w_h = _split(conv, cell.in_channels)
    # main stream: STSGD as per-step gradient masks on the input as fed to each unit
    x_t = grad_mask(seq, [f[0] for f in flags], batch)
    x_r = grad_mask(seq, [f[1] for f in flags], batch)
    pre = _batched(lambda f: _conv(conv, f, w_x, conv.bias), x_t, steps, batch)
    g, gs = state.gate, []
    for t in range(steps):
        z = pre[t]
        if not (t == 0 and zero_state):
            z = z + _conv(conv, g, w_h, None)
        g = torch.sigmoid(cell.t_bn(z))
        gs.append(g)
    ss = _bn_steps(cell.r_bn, _batched(cell.r_conv, x_r, steps, batch))
    u = torch.cat([act(s) * g for s, g in zip(ss, gs)])
    if not cell.sub_goals:
        return u, SCSState(g, None), None
    # sub-goal streams, from where the reference would start them
    last = slice((steps - 1) * batch, steps * batch)
    if streams is _MISSING:          # network input (or a non-SCS layer's output)
        xs_last, xt_seq = seq[last], seq
    elif streams is None:            # an SCS layer without streams below
        xs_last, xt_seq = seq[last].detach(), seq.detach()
    else:
        xs_last, xt_seq = streams
    spatial = act(_norm(cell.r_bn, cell.r_conv(xs_last)))               # eq. 9, last step only
    pre2 = _batched(lambda f: _conv(conv, f, w_x, conv.bias), xt_seq, steps, batch)
    g2 = state.gate_temporal
    if g2 is None:
        g2 = torch.full_like(g, 0.5 if cell.gate_init == "paper" else 0.0)
    temporals = []
    for t in range(steps):
        c2 = _norm(cell.t_bn, pre2[t] + _conv(conv, g2, w_h, None))  # eq. 5, own state
        temporals.append(torch.relu(c2))                                 # eq. 11
        g2 = torch.sigmoid(c2)
    return u, SCSState(g, g2, spatial, temporals[-1]), (spatial, torch.cat(temporals))


_RUNNERS = {ConvLSTMCell: _run_convlstm, CBMCell: _run_cbm, SCSCell: _run_scs}


def _zero_init(cell) -> bool:
    """Whether the cell's ``init_state`` is all zeros (the state half of the conv is skipped at t = 0)."""
    return not isinstance(cell, SCSCell) or cell.gate_init == "zeros"


# ------------------------------------------------------------------------------------------ the run
def run_layer_major(stack: RecurrentStack, xs: torch.Tensor, states: list | None = None):
    """xs: (B, T, C, H, W) -> (top outputs (B, T, C_top, H, W), final states), equal to
    ``stack.forward(xs, states, execution="time")`` (see the module docstring)."""
    check_layer_major(stack)
    cells = list(stack.cells)
    if xs.dim() != 5 or xs.shape[2] != cells[0].in_channels or xs.shape[1] < 1:
        raise ValueError(f"layer-major execution expects xs of shape (B, T>=1, {cells[0].in_channels}, H, W), "
                         f"got {tuple(xs.shape)}")
    batch, steps = xs.shape[:2]
    fresh = states is None
    if fresh:
        states = stack.init_state(xs[:, 0])
    flags = predraw(cells, steps)
    seq = xs.transpose(0, 1).reshape(steps * batch, *xs.shape[2:])
    streams, new_states = _MISSING, []
    for cell, state, fl in zip(cells, states, flags):
        seq, state, streams = _RUNNERS[type(cell)](cell, seq, state, fl, steps, batch,
                                                   fresh and _zero_init(cell), streams)
        new_states.append(state)
    out = seq.view(steps, batch, *seq.shape[1:]).transpose(0, 1).contiguous()
    return out, new_states


__all__ = ["run_layer_major", "check_layer_major", "predraw", "grad_mask", "SUPPORTED_CELLS"]
