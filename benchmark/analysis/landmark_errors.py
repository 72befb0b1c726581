"""Per-frame errors of the landmark runs (prernn Table 2, Fig. 3): every test frame's point-to-point error
normalised by the inter-ocular distance (outer eye corners; ``benchmark.metrics.normalised_mean_error``),
summarised as the area under the cumulative error distribution up to ``MAX_ERROR`` (``test_auc`` in
[0, 1] like Table 2), the mean error and the failure rate. A finished run keeps its errors as
``errors.npy`` (written by ``landmarks.save_outputs``; ``run_errors`` computes it once from the checkpoint
where it is missing), so the CED figures need no retraining.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..data.landmark_sets import NUM_POINTS
from ..metrics import ced_auc, normalised_mean_error

if TYPE_CHECKING:
    from ..config import RunConfig

MAX_ERROR = 0.08          # AUC threshold (300VW, Chrysos et al. 2017; prernn does not state it)
ERRORS_FILE = "errors.npy"


def frame_errors(pred, gt, interocular=None) -> np.ndarray:
    """Per-frame normalised point-to-point errors of (N, T, 68, 2) predictions, flattened to (N * T,)."""
    p = torch.as_tensor(pred).reshape(-1, NUM_POINTS, 2)
    g = torch.as_tensor(gt).reshape(-1, NUM_POINTS, 2)
    d = None if interocular is None else torch.as_tensor(interocular).reshape(-1)
    return normalised_mean_error(p, g, d)


def summarise(errors: np.ndarray, max_error: float = MAX_ERROR) -> dict:
    """``test_auc`` (CED area up to ``max_error``), ``test_nme`` (mean) and ``test_failure`` (error above it)."""
    e = np.asarray(errors, np.float64)
    return {"test_auc": ced_auc(e, max_error), "test_nme": float(e.mean()),
            "test_failure": float((e > max_error).mean())}


def write_errors(path: Path, errors: np.ndarray) -> None:
    """``errors`` as ``path`` (written beside it, then renamed over it)."""
    tmp = path.with_name(f".{ERRORS_FILE}.tmp.npy")
    np.save(tmp, errors)
    tmp.replace(path)


def run_errors(runs_root: Path, cfg: RunConfig) -> np.ndarray:
    """Per-frame normalised errors of a finished run's test set: its ``errors.npy`` (written at the end of
    training, or computed once here from the checkpoint and cached)."""
    from ..rundir import run_dir
    from ..train.loop import load_finished
    from ..train.task import get_task

    path = run_dir(runs_root, cfg) / ERRORS_FILE
    if not path.exists():  # the task's own end-of-training output, from the finished weights
        model, test_set = load_finished(runs_root, cfg)
        get_task(cfg.task).save_outputs(model, test_set, cfg, path.parent)
    return np.load(path)
