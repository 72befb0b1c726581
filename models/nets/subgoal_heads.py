"""The parts an SCS action net gets for its sub-goals (scs sections 4-5.5; task ``subgoal``).

- ``FlowHead``: T^2's head on one temporal-stream map (1x1 conv C -> ``mid`` -> ReLU -> 1x1 conv -> 2
  channels (u, v)), one per tap cell (``tap_cells``).
- ``SubgoalState``: the training state the task keeps in the model (ASTSGD's q, its running losses and
  the epoch's sums of the loss parts), so that it is checkpointed and resumed with the weights.
- Helpers on a built net (a DDP wrapper is looked through): its SCS cells, whether they keep the sub-goal
  streams, the tap cells, and one forward that also returns the spatial logits and the tap cells'
  temporal-stream maps (``run_streams``, by forward hooks: ``capture_temporal``).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn as nn

from ..cells.scs import SCSCell


def _unwrap(model):
    return getattr(model, "module", model)  # a DDP wrapper's model


def scs_cells(model) -> list:
    """Every SCS cell of ``model``."""
    return [m for m in _unwrap(model).modules() if isinstance(m, SCSCell)]


def has_subgoals(model) -> bool:
    """An SCS net whose cells keep the sub-goal streams (T^1 / T^2 can be computed)."""
    cells = scs_cells(model)
    return bool(cells) and all(c.sub_goals for c in cells)


def tap_cells(model, taps="stages") -> list[int]:
    """Indices (in ``model.rnn.cells``) of the cells whose temporal stream feeds T^2's flow heads.

    ``"stages"``: the last cell of every run of cells of one width (stand-alone 17: 4, 8, 12, 16, the
    released taps); where that gives a single cell (backbone 15: one width), the last cell of every block
    (4, 9, 14). ``"top"``: the last cell. A list: those cells."""
    rnn = _unwrap(model).rnn
    n = len(rnn.cells)
    if taps == "top":
        return [n - 1]
    if taps != "stages":
        return [int(i) % n for i in taps]
    widths = [c.hidden_channels for c in rnn.cells]
    out = [i for i in range(n) if i == n - 1 or widths[i + 1] != widths[i]]
    if len(out) == 1 and hasattr(rnn, "block_ranges"):
        out = [r[-1] for r in rnn.block_ranges()]
    return out


class FlowHead(nn.Module):
    """T^2's head on one temporal-stream map: 1x1 conv -> ReLU -> 1x1 conv to (u, v)."""

    def __init__(self, in_channels: int, mid: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, mid, 1), nn.ReLU(), nn.Conv2d(mid, 2, 1))

    def forward(self, x):
        return self.net(x)


class SubgoalState(nn.Module):
    """Training state kept in the model (so it is checkpointed and resumed with it): ASTSGD's q and its
    running losses, and the epoch's sums of the loss parts (read and reset by ``evaluate``)."""

    PARTS = ("main", "t1", "t2", "coherence", "q")

    def __init__(self, init_loss: float):
        super().__init__()
        self.init_loss = float(init_loss)
        for name, value in (("q", 1.0), ("ema_spatial", init_loss), ("ema_main", init_loss), ("q_start", -1.0)):
            self.register_buffer(name, torch.tensor(float(value), dtype=torch.float64))
        for p in self.PARTS:
            self.register_buffer(f"sum_{p}", torch.zeros((), dtype=torch.float64))
            self.register_buffer(f"n_{p}", torch.zeros((), dtype=torch.float64))

    def add(self, part: str, value: float) -> None:
        getattr(self, f"sum_{part}").add_(float(value))
        getattr(self, f"n_{part}").add_(1.0)

    def mean(self, part: str) -> float:
        n = float(getattr(self, f"n_{part}"))
        return float(getattr(self, f"sum_{part}")) / n if n else float("nan")

    def reset_epoch(self) -> None:
        for p in self.PARTS:
            getattr(self, f"sum_{p}").zero_()
            getattr(self, f"n_{p}").zero_()
        self.q_start.fill_(-1.0)


@contextmanager
def capture_temporal(model, indices):
    """Collect, per tap cell and call (time step), the cell's temporal-stream output (SCSState.temporal)."""
    got = {i: [] for i in indices}
    hooks = [model.rnn.cells[i].register_forward_hook(
        lambda mod, inp, out, i=i: got[i].append(out[1].temporal)) for i in indices]
    try:
        yield got
    finally:
        for h in hooks:
            h.remove()


def video_logits(model, frame_logits: torch.Tensor) -> torch.Tensor:
    """(B, K): the net's ``video_logits`` of the per-frame logits (B, T, K), else their mean over time."""
    fn = getattr(_unwrap(model), "video_logits", None)
    return fn(frame_logits) if fn is not None else frame_logits.mean(1)


def run_streams(net, frames, states, streams: bool, taps):
    """One forward over ``frames`` (B, T, ...) from ``states``: (logits, spatial logits or None,
    [temporal maps (B, T, C, h, w) per tap] or None, final states)."""
    model = _unwrap(net)
    if not streams:
        out = net(frames, states, return_states=True)
        logits, states = out if isinstance(out, tuple) else (out, None)
        return logits, None, None, states
    with capture_temporal(model, taps or []) as got:
        out, states = net(frames, states, return_states=True, return_streams=True)
    temporal = [torch.stack(got[i], 1) for i in taps] if taps else None
    return out["logits"], out["spatial_logits"], temporal, states
