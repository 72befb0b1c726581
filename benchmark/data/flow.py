"""Optical-flow targets for SCS's temporal sub-goal (T2 predicts flow from intermediate layers).

Dense flow between consecutive grey frames by Horn-Schunck (pure numpy: the suite ships no OpenCV),
computed once per video and cached as ``.npy`` next to a key of the video path and the parameters.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve, correlate

_AVG = np.array([[1, 2, 1], [2, 0, 2], [1, 2, 1]], np.float32) / 12.0


def grey(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 or (T, H, W) -> (T, H, W) float32 in [0, 1]."""
    f = frames.astype(np.float32)
    if f.ndim == 4:
        f = f @ np.array([0.299, 0.587, 0.114], np.float32)
    return f / 255.0 if frames.dtype == np.uint8 else f


def horn_schunck(f0: np.ndarray, f1: np.ndarray, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """Flow (2, H, W) = (u, v) in pixels/frame moving f0 towards f1 (Horn & Schunck 1981)."""
    f0, f1 = f0.astype(np.float32), f1.astype(np.float32)
    kx = np.array([[-1, 1], [-1, 1]], np.float32) * 0.25
    ky = np.array([[-1, -1], [1, 1]], np.float32) * 0.25
    kt = np.ones((2, 2), np.float32) * 0.25
    ix = correlate(f0, kx) + correlate(f1, kx)  # correlate: the kernels are written as differences
    iy = correlate(f0, ky) + correlate(f1, ky)
    it = correlate(f1, kt) - correlate(f0, kt)
    u = np.zeros_like(f0)
    v = np.zeros_like(f0)
    denom = alpha ** 2 + ix ** 2 + iy ** 2
    for _ in range(iters):
        ub, vb = convolve(u, _AVG), convolve(v, _AVG)
        d = (ix * ub + iy * vb + it) / denom
        u, v = ub - ix * d, vb - iy * d
    return np.stack([u, v])


def flow_sequence(frames: np.ndarray, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """(T, ...) frames -> (T - 1, 2, H, W) flow between each consecutive pair."""
    g = grey(frames)
    return np.stack([horn_schunck(g[t], g[t + 1], alpha, iters) for t in range(len(g) - 1)])


def cached_flow(key: str, frames: np.ndarray, cache_dir: str | Path, alpha: float = 0.1, iters: int = 100) -> np.ndarray:
    """``flow_sequence`` computed once per (key, shape, parameters) and kept in ``cache_dir``."""
    tag = hashlib.sha256(f"{key}|{frames.shape}|{alpha}|{iters}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"flow_{tag}.npy"
    if path.exists():
        try:
            flow = np.load(path)  # allow_pickle=False: an array, never code
            if flow.shape[:2] == (len(frames) - 1, 2) and flow.ndim == 4:
                return flow
            problem = f"holds an array of shape {flow.shape}, not ({len(frames) - 1}, 2, H, W)"
        except (OSError, ValueError, EOFError) as e:  # cut, empty or garbage
            problem = f"does not load ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:120]})"
        from ..heal import move_aside

        move_aside(path, problem)  # logged in the run that reads it
    flow = flow_sequence(frames, alpha, iters)
    from ..train.checkpoint import atomic_write_bytes

    # own temp file per process (mkstemp), fsynced, then renamed over: readers see a whole file or none
    atomic_write_bytes(path, lambda f: np.save(f, flow))
    return flow
