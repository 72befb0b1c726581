"""Training-time schedules, set on every module of a model that has them: ``set_schedule(model, name, value)``.

- ``"td_rate"``: the Temporal Dropout rate of the CBM cells (deeprnn; ``models.cells.cbm``), a float.
- ``"stsgd_q"``: the STSGD switch of the SCS cells (scs eqs. 17-19; ``models.cells.scs``), a float q or None
  (off), with the option ``p_s``. ASTSGD (eq. 19): ``set_schedule(model, "stsgd_q", q)`` blocks T with
  prob. q, R with prob. 1 - q. STSGD (eq. 17, p_s = p_t = p): ``set_schedule(model, "stsgd_q", p, p_s=p)``
  blocks each with prob. p.

This module imports no other ``models`` module.
"""
from __future__ import annotations

import torch.nn as nn


def _td_rate(model: nn.Module, rate: float) -> None:
    for m in model.modules():
        if hasattr(m, "td_rate"):
            m.td_rate = float(rate)


def _stsgd_q(model: nn.Module, q: float | None, p_s: float | None = None) -> None:
    for m in model.modules():
        if hasattr(m, "stsgd_q"):
            m.stsgd_q = None if q is None else float(q)
            m.stsgd_p_s = None if p_s is None else float(p_s)


SCHEDULES = {"td_rate": _td_rate, "stsgd_q": _stsgd_q}


def set_schedule(model: nn.Module, name: str, value, **options) -> None:
    """Set schedule ``name`` (one of ``SCHEDULES``: "td_rate", "stsgd_q") to ``value`` on every module of
    ``model`` that has it; ``options``: ``p_s`` for "stsgd_q" (see the module docstring)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; valid: {sorted(SCHEDULES)}")
    SCHEDULES[name](model, value, **options)


__all__ = ["SCHEDULES", "set_schedule"]
