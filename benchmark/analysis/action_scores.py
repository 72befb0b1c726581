"""Predictions and scores of action runs (``benchmark.train.action``; deeprnn Table 1, prernn Table 5).

``predict``: the per-frame logits of every test video (whole sequence, eval mode); ``scores``: the video
logits of recognition (every frame) and anticipation (the first ``ANTICIPATION_FRAMES`` frames). Each
finished run saves the per-video softmax of both and the labels as ``test_scores.npz`` in its run directory
(``save_outputs``, called by the training loop; ``ensure_scores`` makes it from the checkpoint of a run
trained before the file existed); ``two_stream_accuracy`` averages the colour and flow runs' softmax scores
(prernn Table 5 "Comb": "simple averaging softmax scores").
"""
from __future__ import annotations

import os
from models.nets.action import run_frames
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..metrics import top1_accuracy, video_logits

if TYPE_CHECKING:
    from ..config import RunConfig

ANTICIPATION_FRAMES = 2      # deeprnn Table 1: anticipation sees the first two frames
SCORES_FILE = "test_scores.npz"


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def scores(frame_logits: np.ndarray) -> dict[str, np.ndarray]:
    """Video logits: recognition (every frame) and anticipation (the first two frames)."""
    return {"recognition": video_logits(frame_logits, mode="all"),
            "anticipation": video_logits(frame_logits, mode="first", n=ANTICIPATION_FRAMES)}


def load_scores(path) -> dict[str, np.ndarray]:
    """The arrays of a run's ``test_scores.npz``."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def two_stream_scores(paths, key: str = "recognition") -> tuple[np.ndarray, np.ndarray]:
    """The average of the streams' per-video softmax scores (prernn: "simple averaging softmax scores")
    and the labels (which must agree: the same test videos in the same order)."""
    loaded = [load_scores(p) for p in paths]
    labels = loaded[0]["labels"]
    for z, p in zip(loaded[1:], paths[1:]):
        if z["labels"].shape != labels.shape or not np.array_equal(z["labels"], labels):
            raise ValueError(f"two-stream average: {p} holds other test videos than {paths[0]}")
    return np.mean([z[key] for z in loaded], axis=0), labels


def two_stream_accuracy(paths, key: str = "recognition") -> float:
    """Top-1 (%) of the averaged softmax scores of the runs whose ``test_scores.npz`` are ``paths``."""
    avg, labels = two_stream_scores(paths, key)
    return 100.0 * top1_accuracy(avg, labels)


@torch.no_grad()
def predict(model, test_set, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame logits (N, T, K) of every test video (whole sequence, eval mode) and the labels (N,)."""
    model.eval()
    logits, labels = [], []
    for batch in DataLoader(test_set, batch_size=batch_size, shuffle=False):
        logits.append(run_frames(model, batch["frames"])[0].float().numpy())
        labels.append(batch["label"].numpy())
    return np.concatenate(logits), np.concatenate(labels)


def save_outputs(model, test_set, cfg: RunConfig, run_dir: Path) -> Path:
    """``test_scores.npz`` in the run directory: per-video softmax of the recognition and anticipation
    logits and the labels (the two-stream average reads these; no retraining)."""
    fl, labels = predict(model, test_set, cfg.batch_size)
    s = scores(fl)
    path = Path(run_dir) / SCORES_FILE
    tmp = path.with_name(f".{SCORES_FILE}.{os.getpid()}.tmp.npz")
    np.savez(tmp, recognition=softmax(s["recognition"]), anticipation=softmax(s["anticipation"]),
             labels=labels)
    tmp.replace(path)
    return path


def ensure_scores(runs_root, cfg: RunConfig) -> Path | None:
    """The run's ``test_scores.npz``; a finished run without one (trained before the file existed) gets
    it from its checkpoint. None while the run is not done."""
    from ..rundir import CHECKPOINT_FILE, run_dir, run_status
    from ..train.loop import load_finished

    d = run_dir(runs_root, cfg)
    if (d / SCORES_FILE).exists():
        return d / SCORES_FILE
    if run_status(d) != "done" or not (d / CHECKPOINT_FILE).exists():
        return None
    model, test_set = load_finished(runs_root, cfg)
    return save_outputs(model.eval(), test_set, cfg, d)
