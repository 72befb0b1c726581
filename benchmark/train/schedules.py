"""Learning-rate schedules of ``RunConfig.lr_schedule`` (``config.LR_SCHEDULES``), as a factor on ``cfg.lr``.

- ``constant``: 1.
- ``cosine``: ``(1 + cos(pi * step / steps)) / 2`` before optimiser step ``step`` of ``steps`` in all: a
  function of the step, so a resumed run continues it without stored state.
- ``plateau``: deeprnn 4.2, "the learning rate ... gradually decays when meeting the loss plateaus": x0.1
  after ``PLATEAU_PATIENCE`` epochs whose mean training loss is not 1% below the best so far. Its state
  (``Plateau.state``) goes into the checkpoint.
"""
from __future__ import annotations

import math

from ..config import PLATEAU_PATIENCE, RunConfig


class Plateau:
    def __init__(self, state: dict | None = None, patience: int = PLATEAU_PATIENCE, factor: float = 0.1):
        self.patience, self.factor = patience, factor
        self.state = dict(state or {"best": math.inf, "bad": 0, "scale": 1.0})

    def update(self, epoch_loss: float) -> float:
        """Record an epoch's mean training loss; returns the lr factor from the next epoch on."""
        s = self.state
        if epoch_loss < s["best"] * 0.99:
            s["best"], s["bad"] = epoch_loss, 0
        else:
            s["bad"] += 1
            if s["bad"] >= self.patience:
                s["scale"], s["bad"] = s["scale"] * self.factor, 0
        return s["scale"]


def lr_factor(cfg: RunConfig, step: int, steps: int, plateau: Plateau | None = None) -> float:
    """The factor on ``cfg.lr`` before optimiser step ``step`` (0-based) of ``steps``."""
    if cfg.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / max(steps, 1)))
    if cfg.lr_schedule == "plateau":
        return plateau.state["scale"] if plateau is not None else 1.0
    return 1.0


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def final_metrics(history: list[dict], last: int) -> dict:
    """The final row of a run: the last epoch's, with every numeric metric averaged over the last ``last``
    epochs (``RunConfig.average_last``; the epoch number, timings and the settings in force, TD rate and lr,
    stay the last epoch's)."""
    final = dict(history[-1])
    rows = history[-last:]
    if last <= 1 or len(rows) < 2:
        return final
    for key, value in final.items():
        if key in ("epoch", "seconds", "td_rate", "lr") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if len(vals) == len(rows):
            final[key] = float(sum(vals) / len(vals))
    final["averaged_over_epochs"] = len(rows)
    return final
