"""Optical-flow targets for SCS's temporal sub-goal (T2 predicts flow from intermediate layers).

Dense flow between consecutive grey frames by Horn-Schunck: one set of kernels and one update rule, run
by ``horn_schunck`` on a numpy pair (scipy, float32; the suite ships no OpenCV) and by
``horn_schunck_batch`` on a torch batch of pairs (float64; ``sequence_flow``: every consecutive pair of a
batch of videos). ``cached_flow`` computes a video's flow once and caches it as ``.npy`` next to a key of
the video path and the parameters.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import convolve, correlate

# Horn & Schunck's kernels: the 2x2 derivative ones written as differences (applied by correlation) and
# scaled by 1/4, and the 3x3 neighbourhood average (applied by convolution)
_KX, _KY, _KT = ((-1, 1), (-1, 1)), ((-1, -1), (1, 1)), ((1, 1), (1, 1))
_DERIVATIVE_SCALE = 0.25
_AVG_WEIGHTS, _AVG_SUM = ((1, 2, 1), (2, 0, 2), (1, 2, 1)), 12.0


def _kernels(array: Callable) -> tuple:
    """(kx, ky, kt, avg), each made by ``array(nested tuples)`` (numpy float32 or torch float64)."""
    kx, ky, kt = (array(k) * _DERIVATIVE_SCALE for k in (_KX, _KY, _KT))
    return kx, ky, kt, array(_AVG_WEIGHTS) / _AVG_SUM


_NUMPY_KERNELS = _kernels(lambda k: np.array(k, np.float32))
_TORCH_KERNELS = _kernels(lambda k: torch.tensor(k, dtype=torch.float64))


def _solve(f0, f1, derivative: Callable, average: Callable, kernels: tuple, zeros_like: Callable,
           alpha: float, iters: int):
    """Horn & Schunck's iterations on numpy arrays or torch tensors alike: ``derivative(f, k)`` applies a
    2x2 kernel, ``average(f, avg)`` the 3x3 one. Returns (u, v), starting from zero flow."""
    kx, ky, kt, avg = kernels
    ix = derivative(f0, kx) + derivative(f1, kx)
    iy = derivative(f0, ky) + derivative(f1, ky)
    it = derivative(f1, kt) - derivative(f0, kt)
    u, v = zeros_like(f0), zeros_like(f0)
    denom = alpha ** 2 + ix ** 2 + iy ** 2
    for _ in range(iters):
        ub, vb = average(u, avg), average(v, avg)
        d = (ix * ub + iy * vb + it) / denom
        u, v = ub - ix * d, vb - iy * d
    return u, v


def grey(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 or (T, H, W) -> (T, H, W) float32 in [0, 1]."""
    f = frames.astype(np.float32)
    if f.ndim == 4:
        f = f @ np.array([0.299, 0.587, 0.114], np.float32)
    return f / 255.0 if frames.dtype == np.uint8 else f


def horn_schunck(f0: np.ndarray, f1: np.ndarray, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """Flow (2, H, W) = (u, v) in pixels/frame moving f0 towards f1 (Horn & Schunck 1981)."""
    f0, f1 = f0.astype(np.float32), f1.astype(np.float32)
    u, v = _solve(f0, f1, correlate, convolve, _NUMPY_KERNELS, np.zeros_like, alpha, iters)
    return np.stack([u, v])


def _pad_conv(x: torch.Tensor, k: torch.Tensor, pad: tuple) -> torch.Tensor:
    return F.conv2d(F.pad(x, pad, mode="replicate"), k[None, None])


def horn_schunck_batch(f0: torch.Tensor, f1: torch.Tensor, alpha: float = 0.1, iters: int = 100) -> torch.Tensor:
    """``horn_schunck`` on a batch: (N, H, W) grey pairs -> (N, 2, H, W) flow (u, v) in pixels/frame.

    Same kernels and update; scipy's "reflect" border equals edge replication for these 2x2 and 3x3
    kernels (a test checks equality with ``horn_schunck``)."""
    two, three = (1, 0, 1, 0), (1, 1, 1, 1)  # scipy's origin for even kernels: the window ends at the pixel
    u, v = _solve(f0[:, None].double(), f1[:, None].double(), lambda x, k: _pad_conv(x, k, two),
                  lambda x, k: _pad_conv(x, k, three), _TORCH_KERNELS, torch.zeros_like, alpha, iters)
    return torch.cat([u, v], 1).float()


def sequence_flow(grey: torch.Tensor, flow_size: int, alpha: float = 0.1, iters: int = 100) -> torch.Tensor:
    """(N, T, H, W) grey videos -> (N, T, 2, s, s) flow from frame t-1 to t at ``flow_size`` px (t = 0: zeros)."""
    n, t, h, w = grey.shape
    g = grey if (h, w) == (flow_size, flow_size) else F.interpolate(grey, size=(flow_size, flow_size), mode="area")
    flow = horn_schunck_batch(g[:, :-1].flatten(0, 1), g[:, 1:].flatten(0, 1), alpha, iters)
    flow = flow.view(n, t - 1, 2, flow_size, flow_size)
    return torch.cat([torch.zeros_like(flow[:, :1]), flow], 1)


def flow_sequence(frames: np.ndarray, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """(T, ...) frames -> (T - 1, 2, H, W) flow between each consecutive pair."""
    g = grey(frames)
    return np.stack([horn_schunck(g[t], g[t + 1], alpha, iters) for t in range(len(g) - 1)])


def cached_array(path: str | Path, compute, valid, want: str) -> np.ndarray:
    """The array at ``path`` if it loads and ``valid(array)``; else ``compute()`` written there (atomically:
    a per-process temp file, fsynced, renamed over, so readers see a whole file or none). A cut, garbage or
    wrong-shaped file is moved aside with the reason (``want``: the shape expected, for that reason)."""
    path = Path(path)
    if path.exists():
        try:
            arr = np.load(path)  # allow_pickle=False: an array, never code
            if valid(arr):
                return arr
            problem = f"holds an array of shape {arr.shape}, not {want}"
        except (OSError, ValueError, EOFError) as e:  # cut, empty or garbage
            problem = f"does not load ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:120]})"
        from ..heal import move_aside

        move_aside(path, problem)  # logged in the run that reads it
    arr = compute()
    from ..train.checkpoint import atomic_write_bytes

    atomic_write_bytes(path, lambda f: np.save(f, arr))
    return arr


def cached_flow(key: str, frames: np.ndarray, cache_dir: str | Path, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """``flow_sequence`` computed once per (key, shape, parameters) and kept in ``cache_dir``."""
    tag = hashlib.sha256(f"{key}|{frames.shape}|{alpha}|{iters}".encode()).hexdigest()[:16]
    return cached_array(Path(cache_dir) / f"flow_{tag}.npy", lambda: flow_sequence(frames, alpha, iters),
                        lambda a: a.ndim == 4 and a.shape[:2] == (len(frames) - 1, 2),
                        f"({len(frames) - 1}, 2, H, W)")
