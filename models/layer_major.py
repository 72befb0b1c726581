"""Layer-major execution of a plain ``RecurrentStack`` (issue 8): same numbers, fewer small convolutions.

The time-major reference (``RecurrentStack.forward``) calls every cell once per layer per time step.
Here each layer runs over the whole sequence before the next one, in the cell's own ``forward_sequence``
(``ConvLSTMCell``, ``CBMCell``, ``SCSCell``, ``ConvMinGRUCell``: its parallel scan over time);
``run_layer_major`` chains them over a stack. This module holds
what they share and imports no other ``models`` module (the cells and ``models.stacks`` import it):

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
  code (``draw_step``: ``CBMCell.temporal_dropout`` on a dummy tensor, ``SCSCell.stsgd_draw``), in the
  reference's order: time outer, layer inner (``for t: for layer: draw``). The global generator therefore
  ends in the same state and every layer/step gets the same decision as in time-major; ``last_stsgd`` ends
  as the last step's draw, as in the reference.
- The decisions become **per-time-step gradient masks** on the input frames fed to the T (or R) unit:
  forward value unchanged, gradient into the input multiplied by 0 on the blocked steps (the conv
  weights still get their gradient, exactly as ``x.detach()`` in the reference).

Supported: ``RecurrentStack`` itself (its own ``step``) of cells whose own class declares
``layer_major_exact`` -- ``ConvLSTMCell``, ``CBMCell``, ``SCSCell`` and ``ConvMinGRUCell`` (exact classes, any mix; a subclass
is not covered unless it declares it again) -- BN ``nn.BatchNorm2d`` or ``nn.Identity``, zero-padded
ungrouped convs. SCS sub-goal streams (``sub_goals=True``) ARE computed: the temporal stream (T^2,
recurrent) over all steps, the spatial stream (T^1, not recurrent) only at the last step, which is all
that a stacked sequence output exposes (the reference's ``forward`` returns ``torch.stack`` of the outputs,
which carries no streams; the streams are visible only in the final ``SCSState``s, which equal the
reference's). Everything else -- ``DeepRecurrentNet`` (shortcuts / pooling), strided or other cells, other
BN types, cells with forward hooks -- raises ``NotImplementedError``: run those with ``execution="time"``.
There is no silent fallback.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

_FALLBACK = "run it with execution='time' (the time-major reference)"


# ------------------------------------------------------------------------------------------ checks
def check_cell(cell: nn.Module, where: str = "the cell") -> None:
    """Raise NotImplementedError unless ``cell`` can run layer-major (see the module docstring)."""
    if not vars(type(cell)).get("layer_major_exact", False):
        raise NotImplementedError(
            f"layer-major execution supports cells whose own class declares layer_major_exact (ConvLSTMCell, "
            f"CBMCell, SCSCell: exact classes), {where} is {type(cell).__name__}; {_FALLBACK}")
    if cell._forward_hooks or cell._forward_pre_hooks:
        raise NotImplementedError(f"{where} ({type(cell).__name__}) has forward hooks, which layer-major "
                                  f"execution would never call; {_FALLBACK}")
    for name, m in cell.named_children():
        if isinstance(m, nn.Conv2d):
            if m.padding_mode != "zeros" or m.groups != 1:
                raise NotImplementedError(f"{where}: {name} must be a zero-padded, ungrouped Conv2d; {_FALLBACK}")
        elif type(m) not in (nn.BatchNorm2d, nn.Identity):
            raise NotImplementedError(f"{where}: {name} is {type(m).__name__}; layer-major execution "
                                      f"supports nn.BatchNorm2d / nn.Identity; {_FALLBACK}")


def check_sequence(cell: nn.Module, xs: torch.Tensor) -> None:
    """Raise ValueError unless ``xs`` is a (B, T >= 1, C, H, W) sequence of ``cell``'s input channels."""
    if xs.dim() != 5 or xs.shape[2] != cell.in_channels or xs.shape[1] < 1:
        raise ValueError(f"layer-major execution expects xs of shape (B, T>=1, {cell.in_channels}, H, W), "
                         f"got {tuple(xs.shape)}")


def check_layer_major(stack: nn.Module) -> None:
    """Raise NotImplementedError unless ``stack`` can run layer-major (see the module docstring): a stack
    whose ``step`` is the ``layer_major_step`` it declares (``RecurrentStack`` itself, not a subclass that
    adds shortcuts / pooling between cells), of supported cells."""
    plain_step = getattr(type(stack), "layer_major_step", None)
    if plain_step is None or type(stack).step is not plain_step:
        raise NotImplementedError(
            f"layer-major execution supports plain RecurrentStack only, not {type(stack).__name__} "
            f"(its step adds shortcuts/pooling between cells); {_FALLBACK}")
    for i, cell in enumerate(stack.cells):
        check_cell(cell, f"layer {i}")


# ---------------------------------------------------------------------------- random draws -> masks
def predraw(cells, steps: int) -> list[list[tuple[bool, bool]]]:
    """Per layer, per step: (block the T unit's input, block the R unit's input), drawn exactly as the
    time-major reference draws them: ``for t: for layer:`` with the cells' own draw code (``draw_step``;
    a cell without one draws nothing)."""
    flags = [[(False, False)] * steps for _ in cells]
    for t in range(steps):
        for i, cell in enumerate(cells):
            draw = getattr(cell, "draw_step", None)
            if draw is not None:
                flags[i][t] = draw()
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


def batched(fn, x: torch.Tensor, steps: int, batch: int) -> list[torch.Tensor]:
    """``fn`` (a per-frame op) over all T*B frames, in cache-sized chunks of whole time steps; returns
    the per-step rows (one multi-output split per chunk: one backward, no per-step full-size zero
    gradients as T slices would make, and no concatenation of the chunks)."""
    return [r for p in _chunks(x, steps, batch) for r in fn(p).split(batch)]


def conv_with(conv: nn.Conv2d, x, weight, bias):
    """``conv``'s convolution (stride, padding, ...) of ``x`` with another ``weight`` / ``bias``."""
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


def split_weight(conv: nn.Conv2d, n_in: int):
    """The conv's weight split into its input part (first ``n_in`` channels) and state part."""
    w_x, w_h = conv.weight.split([n_in, conv.weight.shape[1] - n_in], dim=1)
    return w_x.contiguous(), w_h.contiguous()


def input_rows(conv: nn.Conv2d, w_x: torch.Tensor, frames: torch.Tensor, steps: int, batch: int):
    """Per-step rows of the conv's input half (weight ``w_x`` and the conv's bias) over all frames, batched."""
    return batched(lambda f: conv_with(conv, f, w_x, conv.bias), frames, steps, batch)


def recur(conv: nn.Conv2d, w_h: torch.Tensor, rows: list[torch.Tensor], state: torch.Tensor, zero_start: bool,
          update) -> list[torch.Tensor]:
    """The state-dependent loop of a conv over concat(input, state) whose input half gave ``rows``: per
    step ``state = update(rows[t] + the state half on state)``, the state half skipped at t = 0 after a
    zero start (where it adds nothing); returns every step's state."""
    states = []
    for t, z in enumerate(rows):
        if not (t == 0 and zero_start):
            z = z + conv_with(conv, state, w_h, None)
        state = update(z)
        states.append(state)
    return states


def bn_steps(bn: nn.Module, rows: list[torch.Tensor]) -> list[torch.Tensor]:
    """``bn`` on per-step rows with the reference's per-time-step semantics: one call per step in
    step order in training (or without running statistics); in eval mode with running statistics a
    per-channel affine map, so a call per row gives the same values as one over all frames."""
    if isinstance(bn, nn.Identity):
        return rows
    return [bn(r) for r in rows]


# ---------------------------------------------------------------------------------- one cell's run
def open_sequence(cell: nn.Module, xs: torch.Tensor, state, draws):
    """The start of a cell's ``forward_sequence`` over ``xs`` (B, T, C, H, W): checks the cell and ``xs``;
    returns the frames (time-major, ``(T*B, C, H, W)``), the state (``cell.init_state`` where None), whether
    it was None (a fresh start) and the per-step draws (the cell's own, drawn now, where None)."""
    check_cell(cell)
    check_sequence(cell, xs)
    batch, steps = xs.shape[:2]
    fresh = state is None
    if fresh:
        state = cell.init_state(xs[:, 0])
    if draws is None:
        draws = predraw([cell], steps)[0]
    return xs.transpose(0, 1).reshape(steps * batch, *xs.shape[2:]), state, fresh, draws


def close_sequence(frames: torch.Tensor, steps: int, batch: int) -> torch.Tensor:
    """Time-major frames (T*B, C, H, W) as a (B, T, C, H, W) view."""
    return frames.view(steps, batch, *frames.shape[1:]).transpose(0, 1)


# ------------------------------------------------------------------------------------------ the run
def run_layer_major(stack: nn.Module, xs: torch.Tensor, states: list | None = None):
    """xs: (B, T, C, H, W) -> (top outputs (B, T, C_top, H, W), final states), equal to
    ``stack.forward(xs, states, execution="time")`` (see the module docstring)."""
    check_layer_major(stack)
    cells = list(stack.cells)
    check_sequence(cells[0], xs)
    flags = predraw(cells, xs.shape[1])
    seq, new_states = xs, []
    for cell, state, draws in zip(cells, [None] * len(cells) if states is None else states, flags):
        seq, state = cell.forward_sequence(seq, state, draws=draws)
        new_states.append(state)
    return seq.view_as(seq).contiguous(), new_states  # a new tensor: SCS streams attached to seq stay there


__all__ = ["run_layer_major", "check_layer_major", "check_cell", "predraw", "grad_mask", "CHUNK_BYTES"]
