"""Deep recurrent networks with shortcuts and pooling (deeprnn Fig. 6 and section 4.1; scs Table 1).

One definition, ``DeepRecurrentNet``, parameterised by the cell name: a list of recurrent cells cut
into *blocks*; after the last cell of a block an optional shortcut (identity or a module) adds the
block's input, then an optional ``post`` module (pooling) runs. Execution is time-major through the
cells' step interface (every cell once per layer per time step, as the authors' code does):
``step(x, states)`` advances every layer by one time step, ``forward(xs)`` runs a (B, T, C, H, W)
sequence. States are created lazily, layer by layer, from the input each cell actually sees (the
resolution changes inside the net).

Builders (NOTES.md "CBM as released"):

- ``backbone15(cell, in_channels, width=512)``: 15 layers of ``width`` channels on CNN conv features;
  after layers 5, 10 and 15 a 1x1-conv (+ BN + ReLU) shortcut from the block's input and a 2x2 max-pool
  (ceil mode, as released). Cells: cbm (R tanh, as released for backbone nets), convlstm, scs.
- ``standalone17(cell, width=64)``: the ResNet-18-shaped stand-alone net (deeprnn 4.1 "the
  representation unit of each layer is set the same as the corresponding layer in ResNet-18 and the
  same shortcuts are employed"; scs Table 1): cell 0 is the stem, a recurrent cell whose R conv is
  7x7 stride 2, followed by a 3x3/2 max-pool; then 16 cells in 8 blocks of 2 with widths
  [64 x4, 128 x4, 256 x4, 512 x4] (17 cells: [64 x5, 128 x4, 256 x4, 512 x4]); identity shortcut every
  2 cells, a 1x1 stride-2 conv + BN + ReLU projection at the three stage changes. The first cell of
  stages 2-4 has stride 2. Every block's shortcut starts from *that block's* input (the released code
  leaves the shortcut source of the block of cells 9-10 at the input of cells 7-8; not copied).
  Cells: cbm, scs, R activation ReLU (stand-alone nets as released).
- ``skip_stack(cell, in_channels, widths, every=5)``: a plain stack with an identity skip every
  ``every`` layers (the MCnet CBM variant: 15 x 256, skip every 5; released RBMCell.py adds the
  input of layer i-4 to the output of layer i for i = 4, 9, 14). ``every=None``: no skips.

Strided cells (``StridedCBMCell``, ``StridedSCSCell``): stride is an option of the CBM / SCS cell
without touching ``cells/cbm.py`` or ``cells/scs.py``: subclasses whose R conv may be strided (and
have its own kernel size); the T unit runs at the layer's *input* resolution, its output (the state
carried to t+1) stays there, and the gate multiplied with R's output is max-pooled 3/2/1 to R's
output size (NOTES.md). With stride 1 they are exactly the parent cells.

SCS sub-goal streams (``cells/scs.py``) travel attached to the main output; a shortcut, projection
or pooling makes a new tensor and would drop them, so the net applies the same operation to each
stream (BN with the main stream's statistics untouched) and re-attaches them: T^1 and T^2 run
through the whole deep net. A block input without streams (the network input, backbone features)
counts as both streams' start, as in the cell.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .cells import CELLS
from .cells.cbm import ACTIVATIONS, CBMCell
from .cells.scs import STREAMS_ABSENT, STREAMS_ATTR, SCSCell, SCSState, head_on_streams, stream_norm
from .stacks import RecurrentStack

# R activation per net family (NOTES.md "CBM as released"): tanh for backbone (and polygon) nets,
# ReLU for stand-alone and MCnet nets. ConvLSTM takes no options.
BACKBONE_CELL_DEFAULTS = {"cbm": dict(r_act="tanh"), "scs": dict(r_act="tanh"), "convlstm": {}}
STANDALONE_CELL_DEFAULTS = {"cbm": dict(r_act="relu"), "scs": dict(r_act="relu")}


# ------------------------------------------------------------------------------------ strided cells
def _gate_pool(stride: int) -> nn.Module:
    if stride == 1:
        return nn.Identity()
    if stride == 2:
        return nn.MaxPool2d(3, 2, 1)
    raise ValueError(f"stride must be 1 or 2, got {stride}")


def _strided_r_conv(cell: nn.Module, in_channels: int, hidden: int, kernel_size: int, r_kernel_size, stride):
    rk = kernel_size if r_kernel_size is None else int(r_kernel_size)
    if rk != kernel_size or stride != 1:
        cell.r_conv = nn.Conv2d(in_channels, hidden, rk, stride=stride, padding=rk // 2)
        nn.init.xavier_uniform_(cell.r_conv.weight)
        nn.init.zeros_(cell.r_conv.bias)
    cell.stride, cell.r_kernel_size = int(stride), rk
    cell.gate_pool = _gate_pool(stride)


class StridedCBMCell(CBMCell):
    """CBMCell with a strided R unit: out = R(x) * maxpool_{3/2/1}(T(x, c)); state T(x, c) at x's size.

    ``kernel_size`` is the T unit's kernel (and R's unless ``r_kernel_size`` is given: 7 for the
    stand-alone stem, as released)."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3, stride: int = 1,
                 r_kernel_size: int | None = None, **kw):
        super().__init__(in_channels, hidden_channels, kernel_size=kernel_size, **kw)
        _strided_r_conv(self, in_channels, hidden_channels, kernel_size, r_kernel_size, stride)

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        if self.stride == 1:
            return super().forward(x, state)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects input of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        c = self.t_bn(self.t_conv(torch.cat([self.temporal_dropout(x), state], dim=1)))
        c = torch.sigmoid(c) if self.merge == "product" else torch.relu(c)
        g = self.gate_pool(c)
        r = ACTIVATIONS[self.r_act](self.r_bn(self.r_conv(x))) if self.representation else torch.ones_like(g)
        return (r * g if self.merge == "product" else r + g), c


class StridedSCSCell(SCSCell):
    """SCSCell with a strided R unit (Psi_s); the T unit (Psi_t) and both recurrent gates stay at the
    input resolution, the gate (and the temporal stream's output) are max-pooled 3/2/1 to R's size."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3, stride: int = 1,
                 r_kernel_size: int | None = None, **kw):
        super().__init__(in_channels, hidden_channels, kernel_size=kernel_size, **kw)
        _strided_r_conv(self, in_channels, hidden_channels, kernel_size, r_kernel_size, stride)

    def forward(self, x: torch.Tensor, state: SCSState):
        if self.stride == 1:
            return super().forward(x, state)
        from .cells.vrnn import check_input

        check_input(self, x, spatial=True)
        act = ACTIVATIONS[self.r_act]
        block_t, block_r = self.stsgd_draw()
        x_t = x.detach() if block_t else x
        x_r = x.detach() if block_r else x
        s = self.r_bn(self.r_conv(x_r))                                                  # eq. 4 (strided)
        g = torch.sigmoid(self.t_bn(self.t_conv(torch.cat([x_t, state.gate], dim=1))))  # eq. 5, input size
        u = act(s) * self.gate_pool(g)                                                   # eq. 6
        if not self.sub_goals:
            setattr(u, STREAMS_ATTR, None)
            return u, SCSState(g, None)
        streams = getattr(x, STREAMS_ATTR, STREAMS_ABSENT)
        if streams is STREAMS_ABSENT:
            xs_in = xt_in = x
        elif streams is None:
            xs_in = xt_in = x.detach()
        else:
            xs_in, xt_in = streams
        spatial = act(stream_norm(self.r_bn, self.r_conv(xs_in)))                        # eq. 9
        gate_tmp = state.gate_temporal
        if gate_tmp is None:
            gate_tmp = torch.full_like(g, 0.5 if self.gate_init == "paper" else 0.0)
        c2 = stream_norm(self.t_bn, self.t_conv(torch.cat([xt_in, gate_tmp], dim=1)))  # eq. 5, own state
        temporal = torch.relu(self.gate_pool(c2))                                        # eq. 11, at R's size
        setattr(u, STREAMS_ATTR, (spatial, temporal))
        return u, SCSState(g, torch.sigmoid(c2), spatial, temporal)


STRIDED_CELLS = {"cbm": StridedCBMCell, "scs": StridedSCSCell}


def make_cell(cell: str, in_channels: int, hidden: int, stride: int = 1, r_kernel_size: int | None = None,
              **kw) -> nn.Module:
    """A cell of the zoo by name; stride / R kernel only for cbm and scs (the strided subclasses)."""
    if cell not in CELLS:
        raise KeyError(f"unknown cell {cell!r}; known: {sorted(CELLS)}")
    if stride != 1 or r_kernel_size is not None:
        if cell not in STRIDED_CELLS:
            raise ValueError(f"stride / r_kernel_size are options of {sorted(STRIDED_CELLS)} only, not {cell!r}")
        return STRIDED_CELLS[cell](in_channels, hidden, stride=stride, r_kernel_size=r_kernel_size, **kw)
    return CELLS[cell](in_channels, hidden, **kw)


# ------------------------------------------------------------------------------- stream-aware ops
def _streams(t: torch.Tensor):
    """(spatial, temporal) of a tensor; a tensor never produced by an SCS cell starts both; None when
    the SCS layer below had no sub-goals."""
    s = getattr(t, STREAMS_ATTR, STREAMS_ABSENT)
    return (t, t) if s is STREAMS_ABSENT else s


def _has_streams(*ts) -> bool:
    return any(getattr(t, STREAMS_ATTR, STREAMS_ABSENT) is not STREAMS_ABSENT for t in ts)


def _stream_apply(module: nn.Module, t: torch.Tensor) -> torch.Tensor:
    """``module`` applied to a sub-goal stream: BN with its affine weights, running stats untouched;
    module hooks are not fired (they see the main stream only)."""
    if isinstance(module, nn.Identity):
        return t
    if isinstance(module, nn.Sequential):
        for m in module:
            t = _stream_apply(m, t)
        return t
    if isinstance(module, nn.BatchNorm2d):
        return stream_norm(module, t)
    return module.forward(t)  # .forward: the module's hooks see the main stream only


def apply_with_streams(module: nn.Module, t: torch.Tensor) -> torch.Tensor:
    out = module(t)
    if _has_streams(t):
        s = _streams(t)
        setattr(out, STREAMS_ATTR, None if s is None else tuple(_stream_apply(module, x) for x in s))
    return out


def add_with_streams(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    out = a + b
    if _has_streams(a, b):
        sa, sb = _streams(a), _streams(b)
        setattr(out, STREAMS_ATTR, None if sa is None or sb is None else (sa[0] + sb[0], sa[1] + sb[1]))
    return out


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """The released shortcut / projection: 1x1 conv (stride) + BN + ReLU, Xavier-initialised."""
    conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=False))


# ------------------------------------------------------------------------------------------ the net
class DeepRecurrentNet(RecurrentStack):
    """Recurrent cells in blocks; per block an optional shortcut from the block input and a ``post`` op.
    A ``RecurrentStack`` whose ``step`` adds the shortcuts and pooling (``forward``, ``widths`` and
    ``set_td_rate`` are the stack's).

    ``blocks``: list of ``(n_cells, shortcut, post)``; ``shortcut`` None = no shortcut, ``nn.Identity()``
    = identity, any module = projection; ``post`` None or a module (pooling) applied after the add.
    """

    def __init__(self, cells: Sequence[nn.Module], blocks: Sequence[tuple], cell_name: str = ""):
        super().__init__(cells)
        self.cell_name = cell_name
        sizes = [int(b[0]) for b in blocks]
        if sum(sizes) != len(self.cells):
            raise ValueError(f"blocks cover {sum(sizes)} cells, the net has {len(self.cells)}")
        self.block_sizes = sizes
        self.shortcuts = nn.ModuleDict({str(i): b[1] for i, b in enumerate(blocks) if b[1] is not None})
        self.posts = nn.ModuleDict({str(i): b[2] for i, b in enumerate(blocks) if len(b) > 2 and b[2] is not None})

    @property
    def strides(self) -> list[int]:
        return [getattr(c, "stride", 1) for c in self.cells]

    @property
    def depth(self) -> int:
        return len(self.cells)

    def block_ranges(self) -> list[range]:
        out, start = [], 0
        for n in self.block_sizes:
            out.append(range(start, start + n))
            start += n
        return out

    def step(self, x: torch.Tensor, states: list | None = None):
        """One time step through every layer: (top output, new states)."""
        states = [None] * len(self.cells) if states is None else list(states)
        new_states, h = [], x
        for b, idx in enumerate(self.block_ranges()):
            src = h
            for i in idx:
                cell = self.cells[i]
                s = states[i] if states[i] is not None else cell.init_state(h)
                h, s = cell(h, s)
                new_states.append(s)
            key = str(b)
            if key in self.shortcuts:
                h = add_with_streams(h, apply_with_streams(self.shortcuts[key], src))
            if key in self.posts:
                h = apply_with_streams(self.posts[key], h)
        return h, new_states


def unroll_with_head(rnn: DeepRecurrentNet, head, xs: torch.Tensor, states: list | None = None,
                     return_streams: bool = False):
    """``rnn.step`` over the steps of ``xs`` (B, T, ...) with ``head`` on every top output, as the task nets
    read a deep net step by step: (outputs, spatial, temporal, final states), the first three lists over
    steps. ``return_streams``: ``spatial`` / ``temporal`` hold ``head_on_streams`` of every top output (the
    head on the top spatial stream, T^1; the top temporal-stream maps, for T^2); else they stay empty."""
    outs, spatial, temporal = [], [], []
    for t in range(xs.shape[1]):
        h, states = rnn.step(xs[:, t], states)
        outs.append(head(h))
        if return_streams:
            s, tmp = head_on_streams(h, head)
            spatial.append(s)
            temporal.append(tmp)
    return outs, spatial, temporal, states


def _check_cell(cell: str, allowed) -> None:
    if cell not in allowed:
        raise ValueError(f"cell must be one of {sorted(allowed)}, got {cell!r}")


def backbone15(cell: str, in_channels: int = 512, width: int = 512, depth: int = 15, block: int = 5,
               shortcuts: bool = True, **cell_kw) -> DeepRecurrentNet:
    """The 15-layer backbone-supported net: ``depth`` cells of ``width`` channels; after every ``block``
    cells a 1x1 conv + BN + ReLU shortcut from the block's input and a 2x2 max-pool (ceil mode).
    ``shortcuts=False`` leaves the shortcuts out (deeprnn Table 1's shallow "1-layer CBM": ``depth=1,
    block=1, shortcuts=False``, one CBM layer on the backbone like the 1-layer LSTM)."""
    _check_cell(cell, BACKBONE_CELL_DEFAULTS)
    if depth % block:
        raise ValueError(f"depth {depth} is not a multiple of the block size {block}")
    kw = {**BACKBONE_CELL_DEFAULTS[cell], **cell_kw}
    cells, c = [], in_channels
    for _ in range(depth):
        cells.append(make_cell(cell, c, width, **kw))
        c = width
    blocks = []
    for b in range(depth // block):
        blocks.append((block, conv_bn_relu(in_channels if b == 0 else width, width) if shortcuts else None,
                       nn.MaxPool2d(2, 2, ceil_mode=True)))
    return DeepRecurrentNet(cells, blocks, cell_name=cell)


def standalone17_widths(width: int = 64) -> list[int]:
    """[w x5, 2w x4, 4w x4, 8w x4]: the 17 cells' hidden widths (w = 64: ResNet-18's)."""
    return [width] * 5 + [2 * width] * 4 + [4 * width] * 4 + [8 * width] * 4


def standalone17(cell: str, width: int = 64, in_channels: int = 3, **cell_kw) -> DeepRecurrentNet:
    """The 17-layer stand-alone net (ResNet-18 shape, scs Table 1). See the module docstring."""
    _check_cell(cell, STANDALONE_CELL_DEFAULTS)
    kw = {**STANDALONE_CELL_DEFAULTS[cell], **cell_kw}
    widths = standalone17_widths(width)
    cells = [make_cell(cell, in_channels, widths[0], stride=2, r_kernel_size=7, **kw)]    # stem: 7x7/2
    blocks = [(1, None, nn.MaxPool2d(3, 2, 1))]                                          # + max-pool 3/2
    c = widths[0]
    for b in range(8):
        w = widths[1 + 2 * b]
        stride = 2 if w != c else 1
        cells.append(make_cell(cell, c, w, stride=stride, **kw))
        cells.append(make_cell(cell, w, w, **kw))
        blocks.append((2, nn.Identity() if stride == 1 else conv_bn_relu(c, w, stride=2), None))
        c = w
    return DeepRecurrentNet(cells, blocks, cell_name=cell)


def skip_stack(cell: str, in_channels: int, widths: Sequence[int], every: int | None = 5,
               **cell_kw) -> DeepRecurrentNet:
    """Plain stack with an identity skip from each ``every``-layer block's input to its output (a 1x1
    conv + BN + ReLU where the block changes the channel count); ``every=None``: no skips."""
    cells, c = [], in_channels
    for w in widths:
        cells.append(make_cell(cell, c, w, **cell_kw))
        c = w
    n = len(widths)
    if every is None:
        return DeepRecurrentNet(cells, [(n, None, None)], cell_name=cell)
    blocks, start, c = [], 0, in_channels
    while start < n:
        size = min(every, n - start)
        out = widths[start + size - 1]
        sc = (nn.Identity() if c == out else conv_bn_relu(c, out)) if size == every else None
        blocks.append((size, sc, None))
        start, c = start + size, out
    return DeepRecurrentNet(cells, blocks, cell_name=cell)


def cbm_parameter_count(in_channels: int, widths: Sequence[int], kernel_size: int = 3, bn: bool = True) -> int:
    """CBM stack parameters from the formula: R conv c_in*h*k^2 + h, T conv (c_in + h)*h*k^2 + h,
    and two BatchNorms (2h each) per layer."""
    total, c = 0, in_channels
    for h in widths:
        k2 = kernel_size * kernel_size
        total += c * h * k2 + h + (c + h) * h * k2 + h + (4 * h if bn else 0)
        c = h
    return total


# ----------------------------------------------------------------------------------- classifiers
class FrameAverage(nn.Module):
    """Per-frame logits (B, T, K) -> sequence logits (B, K): the mean over time (the released
    classifier); ``train_average="second_half"`` averages only the second half of the frames in
    training (released test_scheme 3), the whole sequence in eval mode."""

    def __init__(self, train_average: str = "all"):
        super().__init__()
        if train_average not in ("all", "second_half"):
            raise ValueError(f"train_average must be 'all' or 'second_half', got {train_average!r}")
        self.train_average = train_average

    def forward(self, frame_logits: torch.Tensor) -> torch.Tensor:
        if self.training and self.train_average == "second_half":
            return frame_logits[:, frame_logits.shape[1] // 2:].mean(dim=1)
        return frame_logits.mean(dim=1)


class MLPHead(nn.Module):
    """Global average pool -> Linear(C, hidden) -> ReLU -> Dropout -> Linear(hidden, K) (the released
    classifier on the flattened 1x1 top map; pooled here so any input size works)."""

    def __init__(self, in_channels: int, num_outputs: int, hidden: int | None = None, drop_rate: float = 0.0):
        super().__init__()
        hidden = in_channels if hidden is None else hidden
        self.net = nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Dropout(drop_rate),
                                 nn.Linear(hidden, num_outputs))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h.mean(dim=(-2, -1)) if h.dim() == 4 else h)


__all__ = ["DeepRecurrentNet", "StridedCBMCell", "StridedSCSCell", "make_cell", "backbone15", "standalone17",
           "standalone17_widths", "skip_stack", "cbm_parameter_count", "FrameAverage", "MLPHead",
           "conv_bn_relu", "apply_with_streams", "add_with_streams", "unroll_with_head",
           "BACKBONE_CELL_DEFAULTS", "STANDALONE_CELL_DEFAULTS"]
