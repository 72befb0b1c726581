"""Precipitation nowcasting (scs section 5.8, Table 7): 5 radar echo maps in, the next 5 out.

Data (``cfg.data_kw``): ``n_in`` / ``n_out`` (5 / 5), ``size``. ``cfg.dataset == "builtin"``:
:class:`benchmark.data.builtin_standins.RadarEchoes` (``n_train``, ``n_test``, ``seed``); ``"radar"``:
:class:`benchmark.data.radar.RadarEcho` under ``cfg.data_root`` (train / val split, ``crop``, ``step``,
per-image min-max normalisation as scs 5.8; optional ``n_train`` / ``n_test`` keep the first items).
Intensities are in [0, 1]; the models (``nowcast_convlstm``, ``nowcast_scs15``) output sigmoid maps, or with
``residual=True`` (the cpu scale) the last map plus a change, not clamped (the MSE sees the raw output, CSI /
FAR / POD threshold it).

Loss: the main goal g is the MSE of the predicted maps (scs 5.8). For SCS nets with sub-goal streams
(``cfg.scheme_kw["sub_goals"]``, default True) the two sub-goals are added, each with weight 1
(``w_spatial``, ``w_temporal``; the paper gives no weights):
- r_s "is the same as the main goal": MSE of the T^1 prediction (the model's head on the top spatial
  stream, ``return_streams=True``);
- r_t estimates "the optical flow and pixel-wise difference between frames": a 1x1 conv head
  (``temporal_head``, added to the model here, 3 x patch^2 channels, pixel-shuffled to the frame size)
  on the top temporal stream predicts, at every decoder step k, the flow (2 channels, px/frame) and the
  difference x_k - x_{k-1} (x_0 = the last observed map); loss = MSE(flow) + MSE(difference). Flow
  targets: the built-in stand-in's wind (``velocity``, the common advection of its rain cells, the same
  at every pixel); real maps: Horn-Schunck flow between consecutive maps (``benchmark.data.flow``),
  cached per sample under ``data_kw["flow_cache"]`` (default ``~/.cache/benchmark/radar_flow``).
STSGD (cfg.stsgd_schedule) is applied by the training loop.

Evaluation: pixel level, rain = intensity >= ``data_kw["threshold"]`` (0.5, "a threshold of 0.5" on the
normalised maps). ``scheme_kw["score_pooling"]``: ``"step"`` (default; Shi et al. report each of the
predicted frames and their average): ``benchmark.metrics.nowcast_scores`` over all test pixels of one
predicted step, then the mean over the n_out steps; ``"all"``: one count over every predicted pixel.
Keys: ``test_mse``, ``test_csi``, ``test_far``, ``test_pod``, ``test_cor`` (eqs. 25-28).
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Subset

from models import create_model

from ..config import RunConfig
from ..data.radar_flow import RadarWithFlow
from ..metrics import nowcast_scores
from .task import Task, register_task

SCORE_KEYS = {"mse": "test_mse", "csi": "test_csi", "far": "test_far", "pod": "test_pod", "correlation": "test_cor"}


def datasets(cfg: RunConfig):
    kw = cfg.data_kw
    if cfg.dataset == "builtin":
        from ..data.builtin_standins import RadarEchoes

        common = dict(n_in=kw["n_in"], n_out=kw["n_out"], size=kw["size"], seed=kw.get("seed", 0))
        return RadarEchoes("train", n=kw["n_train"], **common), RadarEchoes("test", n=kw["n_test"], **common)
    from ..data.radar import RadarEcho

    size = kw.get("size")
    common = dict(n_in=kw["n_in"], n_out=kw["n_out"], step=kw.get("step", 1), crop=kw.get("crop"),
                  size=None if size is None else (size, size) if isinstance(size, int) else tuple(size))
    train, test = RadarEcho(cfg.data_root, "train", **common), RadarEcho(cfg.data_root, "val", **common)
    if kw.get("n_train"):
        train = Subset(train, range(min(kw["n_train"], len(train))))
    if kw.get("n_test"):
        test = Subset(test, range(min(kw["n_test"], len(test))))
    cache = kw.get("flow_cache") or os.path.expanduser("~/.cache/benchmark/radar_flow")
    return RadarWithFlow(train, cache), test


def collate(items: list[dict]) -> dict:
    """Stack maps (builtin items say ``inputs``/``targets``, RadarEcho ``input``/``target``) and the flow
    source: ``velocity`` (B, 2) of the stand-in or ``flow`` (B, n_out, 2, H, W) of real maps."""
    get = lambda it, a, b: it[a] if a in it else it[b]  # noqa: E731
    out = {"inputs": torch.stack([get(it, "inputs", "input") for it in items]),
           "targets": torch.stack([get(it, "targets", "target") for it in items])}
    for key in ("velocity", "flow"):
        if all(key in it for it in items):
            out[key] = torch.stack([it[key] for it in items])
    return out


def has_subgoals(model) -> bool:
    return any(getattr(m, "sub_goals", False) for m in model.modules())


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    model = create_model(cfg.model, n_out=cfg.data_kw["n_out"], **cfg.model_kw)
    if cfg.scheme_kw.get("sub_goals", True) and has_subgoals(model):
        # r_t's head: flow (2) + difference (1) per pixel of each patch
        model.temporal_head = nn.Conv2d(model.rnn["decoder"].widths[-1], 3 * model.patch ** 2, 1)
    return model, train_set, test_set, collate


def flow_target(batch: dict, n_out: int, shape) -> torch.Tensor:
    """(B, n_out, 2, H, W): the real maps' flow, or the stand-in's wind (x, y) at every pixel."""
    if "flow" in batch:
        return batch["flow"]
    B, H, W = shape[0], shape[-2], shape[-1]
    return batch["velocity"][:, None, :, None, None].expand(B, n_out, 2, H, W)


def temporal_loss(model, temporal: torch.Tensor, batch: dict) -> torch.Tensor:
    """r_t: MSE of the predicted flow and frame difference from the top temporal-stream maps."""
    B, T = temporal.shape[:2]
    y = model.temporal_head(temporal.flatten(0, 1))
    y = y if model.patch == 1 else F.pixel_shuffle(y, model.patch)
    y = y.view(B, T, 3, *y.shape[-2:])
    targets = batch["targets"]
    prev = torch.cat([batch["inputs"][:, -1:], targets[:, :-1]], dim=1)
    flow = flow_target(batch, T, targets.shape)
    return F.mse_loss(y[:, :, :2], flow) + F.mse_loss(y[:, :, 2:], targets - prev)


def loss_terms(model, batch: dict, cfg: RunConfig | None = None) -> dict:
    """{"main": g, and for SCS with sub-goals "spatial": r_s, "temporal": r_t} (unweighted)."""
    targets, inner = batch["targets"], getattr(model, "module", model)  # ``module``: a DDP wrapper
    if hasattr(inner, "temporal_head"):
        out = model(batch["inputs"], targets.shape[1], return_streams=True)
        return {"main": F.mse_loss(out["prediction"], targets),
                "spatial": F.mse_loss(out["spatial_prediction"], targets),
                "temporal": temporal_loss(inner, out["temporal"], batch)}
    return {"main": F.mse_loss(model(batch["inputs"], targets.shape[1]), targets)}


def loss(model, batch, cfg: RunConfig) -> torch.Tensor:
    terms = loss_terms(model, batch, cfg)
    kw = cfg.scheme_kw
    return (terms["main"] + kw.get("w_spatial", 1.0) * terms.get("spatial", 0.0)
            + kw.get("w_temporal", 1.0) * terms.get("temporal", 0.0))


@torch.no_grad()
def predictions(model, test_set, cfg: RunConfig):
    """(predicted, true) future maps of the whole test set, (N, n_out, C, H, W) in [0, 1]."""
    preds, trues = [], []
    for i in range(0, len(test_set), cfg.batch_size):
        batch = collate([test_set[j] for j in range(i, min(i + cfg.batch_size, len(test_set)))])
        preds.append(model(batch["inputs"], batch["targets"].shape[1]))
        trues.append(batch["targets"])
    return torch.cat(preds), torch.cat(trues)


def scores(pred: torch.Tensor, true: torch.Tensor, threshold: float = 0.5, pooling: str = "step") -> dict:
    """Table 7's MSE, CSI, FAR, POD and correlation (see the module doc for ``pooling``)."""
    p, t = pred.double().numpy(), true.double().numpy()
    if pooling == "all":
        per = [nowcast_scores(p, t, threshold)]
    elif pooling == "step":
        per = [nowcast_scores(p[:, k], t[:, k], threshold) for k in range(p.shape[1])]
    else:
        raise ValueError(f"score_pooling must be 'step' or 'all', got {pooling!r}")
    out = {}
    for key, name in SCORE_KEYS.items():
        vals = np.array([s[key] for s in per], dtype=np.float64)
        out[name] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    return scores(*predictions(model, test_set, cfg), threshold=cfg.data_kw.get("threshold", 0.5),
                  pooling=cfg.scheme_kw.get("score_pooling", "step"))


TASK = register_task(Task("nowcast", build=build, loss=loss, evaluate=evaluate))
