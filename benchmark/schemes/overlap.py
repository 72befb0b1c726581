"""The clip loop of Overlap Coherence (deeprnn 3.2) and LTSC (scs 5.3), shared by the tasks that train on
clips (``clips.clip_plan`` cuts the sequence; ``clips.backward_terms`` back-propagates the terms one by one).

``overlap_terms(clips, run, term, coherence, lam, init)`` yields each clip's loss, in clip order:

- clip i starts from a detached state of clip i-1: the state it had at clip i's first frame
  (``init="timestamp"``, the papers) or its final state (``"previous_last"``, the released code; also what
  "timestamp" means when clip i starts where clip i-1 ends); the first clip starts from zeros (``None``);
- the loss of clip i is ``term(out, a, b)`` plus ``lam`` x ``coherence(out, prev, n, offset)`` over the n
  frames both clips saw (``prev``: clip i-1's outputs, detached; ``offset``: where clip i starts in them);
- every term's graph covers one clip (hand-over and coherence target detached), so back-propagating term
  by term gives the gradients of their sum with one clip's activations held at a time.

``run(a, b, state0, cut)`` runs frames [a, b) from ``state0`` and returns (outputs, state after frame
``cut - 1`` or None when ``cut`` is None, final state); ``cut`` is the next clip's first frame when the
hand-over is that time stamp's state.
"""
from __future__ import annotations

from typing import Callable, Iterator

import torch

INITS = ("timestamp", "previous_last")


def detach_state(states):
    """``states`` (tensors in lists, tuples or NamedTuples, or None) cut from the graph."""
    if isinstance(states, torch.Tensor):
        return states.detach()
    if isinstance(states, (list, tuple)):
        out = [detach_state(s) for s in states]
        return type(states)(*out) if hasattr(states, "_fields") else type(states)(out)
    return states


def overlap_terms(clips: list[tuple[int, int]], run: Callable, term: Callable, coherence: Callable, lam: float,
                  init: str) -> Iterator:
    """Each clip's loss (see the module docstring)."""
    if init not in INITS:
        raise ValueError(f"scheme_kw init must be 'timestamp' or 'previous_last', got {init!r}")
    prev, handover = None, None
    for i, (a, b) in enumerate(clips):
        nxt = clips[i + 1][0] if i + 1 < len(clips) else None
        cut = nxt if init == "timestamp" and nxt is not None and a < nxt < b else None
        out, at_cut, final = run(a, b, handover, cut)
        handover = None if nxt is None else detach_state(at_cut if cut is not None else final)
        loss = term(out, a, b)
        if prev is not None and a < prev[1]:  # frames [a, prev_end) seen by both clips
            loss = loss + lam * coherence(out, prev[2], prev[1] - a, a - prev[0])
        yield loss
        prev = (a, b, detach_state(out))
