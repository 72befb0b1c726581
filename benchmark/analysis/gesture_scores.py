"""Scores of gesture runs (``benchmark.train.gesture``; prernn sec. 4.2, Tables 4 and 6): best-path CTC
decoding of a batch's clip logits, and late fusion of several trained runs (e.g. the colour and the depth
stream, prernn Table 6): their clip-wise class probabilities averaged, then decoded and scored like
``gesture.evaluate``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..data.gesture_clips import BLANK, collate_gestures
from ..metrics import ctc_accuracy, ctc_greedy_decode

if TYPE_CHECKING:
    from ..config import RunConfig


def scores(logits: torch.Tensor, batch: dict) -> dict:
    """Decoded sequences, targets and the per-video averaged-probability class of a batch's logits."""
    log_probs = logits.float().log_softmax(-1)
    decoded, targets, avg_cls = [], [], []
    for b in range(logits.shape[0]):
        n, k = int(batch["input_lengths"][b]), int(batch["target_lengths"][b])
        decoded.append(ctc_greedy_decode(log_probs[b, :n], blank=BLANK))
        targets.append(batch["targets"][b, :k].tolist())
        avg_cls.append(int(log_probs[b, :n, 1:].exp().mean(0).argmax()) + 1)
    return {"decoded": decoded, "targets": targets, "avg_class": avg_cls}


@torch.no_grad()
def fused_accuracy(runs_root, cfgs: list[RunConfig], batch_size: int = 8) -> float:
    """Accuracy (%) of late fusion: the clip-wise class probabilities of several trained runs (e.g. the
    colour and the depth stream, prernn Table 6) averaged, then decoded and scored like ``gesture.evaluate``.
    The runs' test sets must hold the same videos in the same order (same targets, same clip counts)."""
    from ..train.loop import load_finished

    loaded = [load_finished(runs_root, c) for c in cfgs]
    n = len(loaded[0][1])
    if any(len(t) != n for _, t in loaded):
        raise ValueError(f"fused runs have test sets of different sizes: {[len(t) for _, t in loaded]}")
    decoded, targets = [], []
    for i in range(0, n, batch_size):
        idx = range(i, min(i + batch_size, n))
        probs, batch = 0.0, None
        for model, test_set in loaded:
            b = collate_gestures([test_set[j] for j in idx])
            if batch is not None and not (torch.equal(b["targets"], batch["targets"])
                                          and torch.equal(b["input_lengths"], batch["input_lengths"])):
                raise ValueError(f"fused runs disagree on the targets or clip counts of test videos {list(idx)}")
            batch = b
            probs = probs + model(b["clips"]).float().softmax(-1) / len(loaded)
        s = scores(probs.log(), batch)
        decoded += s["decoded"]
        targets += s["targets"]
    return 100.0 * ctc_accuracy(decoded, targets)
