"""Training precision: ``fp32`` (the default) or ``bf16`` (autocast).

``bf16`` runs the forward pass (and so the backward of its matmuls and convolutions) under
``torch.autocast`` with bfloat16; parameters, optimiser state and the loss reduction stay fp32
(autocast keeps ``cross_entropy``, ``softmax``, norms and reductions in fp32). It is allowed only where
bf16 is fast: a CPU with AVX512_BF16 or AMX (``/proc/cpuinfo`` flags ``avx512_bf16`` / ``amx_bf16``), or
a CUDA GPU that supports bf16 (AMP). Elsewhere emulated bf16 is slower than fp32, so it is refused.
A run's precision is part of its config (``RunConfig.precision``): bf16 and fp32 runs never mix.
"""
from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from .config import PRECISIONS


@lru_cache(maxsize=None)
def cpu_bf16_flags() -> tuple[str, ...]:
    """The CPU flags that make bf16 fast here (empty on a CPU without them, or without /proc/cpuinfo)."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return ()
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return tuple(f for f in ("avx512_bf16", "amx_bf16") if f in flags)


def bf16_problem(device: str = "cpu") -> str | None:
    """None when bf16 training is fast on ``device``; else one line saying why not and what to do."""
    if device.startswith("cuda"):
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return None
        return "--precision bf16 needs a GPU with bf16 support (AMP); use --precision fp32"
    if cpu_bf16_flags():
        return None
    return ("--precision bf16 needs a CPU with AVX512_BF16 or AMX (this one has neither, so bf16 would be "
            "emulated and slower); use --precision fp32")


def autocast(precision: str, device: str = "cpu"):
    """The context a training or evaluation forward pass runs in for ``precision``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)
    raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
