"""How a long sequence of T frames is cut into the clips a deep RNN is trained on.

Every function returns a list of ``(start, stop)`` half-open frame ranges. ``clip_plan`` is the one
planner the tasks use: it reads a run's ``scheme`` and ``scheme_kw`` and calls one of the others.

- ``full_sequence``: one clip, the whole sequence (full BPTT).
- ``plain_clips``: disjoint short clips (the "simple sampling" baseline of deeprnn Fig. 4, row 2): no
  overlap, each clip starts from a zero state, nothing ties clips together.
- ``overlap_clips``: the released Overlap Coherence scheme: S clips of length L, overlap rate r,
  stride = L(1 - r), clip i starts at stride * i (NOTES.md); with ``S=None`` as many clips as needed
  to cover the sequence, the last one shifted to end at T.
- ``random_overlap_clips``: the paper's version (deeprnn 3.2): clips of random length and start whose
  overlaps chain the whole sequence together (every frame covered, every adjacent pair overlapping).
- ``ltsc_partition``: scs eqs. 21-22: short sequences whose union is the whole sequence and whose
  neighbours intersect (identical rule to ``overlap_clips`` with a given overlap in frames).
"""
from __future__ import annotations

import math

import numpy as np

SCHEMES = ("bptt", "clips", "overlap", "ltsc")


def clip_plan(scheme: str, kw: dict, T: int, allowed: tuple = SCHEMES, task: str = "") -> list[tuple[int, int]]:
    """The clips a sequence of T frames is trained on under ``RunConfig.scheme`` / ``scheme_kw`` (``kw``):

    - ``bptt``: the whole sequence; ``clips``: disjoint clips of ``clip_len``;
    - ``ltsc``: scs eqs. 21-22, clips of ``clip_len`` sharing ``overlap`` frames (default 25% of a clip);
    - ``overlap``: the released Overlap Coherence plan (``clip_len``, ``clips``, ``overlap_rate`` 0.25), or
      with ``random`` the paper's random clips (``min_len`` default half a clip), seeded from torch's RNG.

    ``allowed``: the schemes the calling task trains with; any other is one clear error naming them."""
    if scheme not in allowed:
        raise ValueError(f"task {task!r} trains with scheme {' or '.join(map(repr, allowed))}, got {scheme!r}")
    if scheme == "bptt":
        return full_sequence(T)
    L = int(kw["clip_len"])
    if scheme == "clips":
        return plain_clips(T, L)
    if scheme == "ltsc":
        return ltsc_partition(T, L, kw.get("overlap", max(1, round(L * 0.25))))
    if kw.get("random"):
        import torch

        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))  # from the seeded torch RNG
        return random_overlap_clips(T, kw.get("min_len", max(2, L // 2)), L, rng)
    return overlap_clips(T, L, kw.get("clips"), kw.get("overlap_rate", 0.25))


def backward_terms(terms, n: int) -> float:
    """Back-propagate each clip's loss term / ``n`` as it comes (one clip's graph held at a time: memory flat
    in the sequence length, the gradients of the mean of the terms); returns that mean's value."""
    total = 0.0
    for term in terms:
        (term / n).backward()
        total += term.item() / n
    return total


def full_sequence(T: int) -> list[tuple[int, int]]:
    return [(0, T)]


def plain_clips(T: int, L: int) -> list[tuple[int, int]]:
    _check(T, L)
    return [(s, min(s + L, T)) for s in range(0, T, L)]


def overlap_clips(T: int, L: int, S: int | None = None, overlap_rate: float = 0.25) -> list[tuple[int, int]]:
    _check(T, L)
    if not 0 < overlap_rate < 1:
        raise ValueError(f"overlap_rate must lie in (0, 1), got {overlap_rate}")
    if L >= T:
        return [(0, T)]
    stride = max(1, int(round(L * (1 - overlap_rate))))
    n = S if S is not None else 1 + math.ceil((T - L) / stride)
    clips = []
    for i in range(n):
        start = min(stride * i, T - L)
        clips.append((start, start + L))
        if start + L >= T:
            break
    return clips


def random_overlap_clips(T: int, min_len: int, max_len: int, rng: np.random.Generator,
                         min_overlap: int = 1) -> list[tuple[int, int]]:
    """Random lengths in [min_len, max_len] and random starts, each clip overlapping the previous by at
    least ``min_overlap`` frames (and at most len - 1, so it always advances) until T is covered."""
    _check(T, max_len)
    if not 1 <= min_overlap < min_len <= max_len:
        raise ValueError("need 1 <= min_overlap < min_len <= max_len")
    clips, end = [], 0
    while end < T:
        length = int(rng.integers(min_len, max_len + 1))
        if not clips:
            start = 0
        else:  # start inside the previous clip so the overlap is in [min_overlap, length - 1]
            lo, hi = max(end - length + 1, clips[-1][0] + 1), end - min_overlap
            start = int(rng.integers(lo, hi + 1))
        stop = min(start + length, T)
        clips.append((start, stop))
        end = stop
    return clips


def ltsc_partition(T: int, L: int, overlap: int) -> list[tuple[int, int]]:
    """scs eqs. 21-22: cover [0, T) with clips of length L, neighbours sharing ``overlap`` frames."""
    if not 0 < overlap < L:
        raise ValueError(f"overlap must lie in (0, L={L}), got {overlap}")
    return overlap_clips(T, L, overlap_rate=overlap / L)


def overlaps(clips: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The shared frame range of each adjacent pair of clips (empty range = no overlap)."""
    return [(b0, min(a1, b1)) for (a0, a1), (b0, b1) in zip(clips, clips[1:])]


def _check(T: int, L: int) -> None:
    if T < 1 or L < 1:
        raise ValueError(f"sequence length and clip length must be >= 1, got T={T}, L={L}")
