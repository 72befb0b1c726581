"""The polygon outline task (Polygon-RNN, deeprnn 4.2): vertex cross-entropy with teacher forcing,
greedy decoding at test, IoU of the rasterised predicted and ground-truth polygons."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from models import create_model

from ..config import RunConfig
from ..data.polygon import collate_polygons, target_to_polygon
from ..metrics_polygon import polygon_iou
from .task import Task, register_task


def datasets(cfg: RunConfig):
    """(train, test) of ``cfg``; built once per process for the same data settings (the sets are read-only
    and drawn from their own seeded generators, so a seed's run is the same whether they are cached or
    not: seeds of one configuration, trained one after another or stacked, share them)."""
    return _datasets(cfg.dataset, cfg.data_root, json.dumps(cfg.data_kw, sort_keys=True))


@lru_cache(maxsize=2)
def _datasets(dataset: str, data_root: str | None, data_kw: str):
    kw = json.loads(data_kw)
    common = dict(image_size=kw["image_size"], grid=kw["grid"], max_vertices=kw["max_vertices"])
    if dataset in ("builtin", "masks"):
        from ..data.builtin_polygons import BuiltinPolygons

        src, seed = kw.get("source", "auto"), kw.get("seed", 0)
        if "margin" in kw:  # crop margins per side (position and size jitter), else the default 12-18%
            common["margin"] = tuple(kw["margin"])
        train = BuiltinPolygons("train", n=kw["n_train"], seed=seed, source=src, **common)
        if dataset == "masks":  # held-out real outlines: trained on the built-in silhouettes, tested on ROOT/*.png
            from ..data.masks import MaskPolygons

            common.pop("margin", None)
            return train, MaskPolygons(data_root, limit=kw["n_test"], seed=seed, **common)
        return train, BuiltinPolygons("test", n=kw["n_test"], seed=seed, source=src, **common)
    from ..data.cityscapes import CityscapesPolygons

    return (CityscapesPolygons(data_root, "train", limit=kw.get("n_train"), **common),
            CityscapesPolygons(data_root, "val", limit=kw.get("n_test"), **common))


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    return test_model(cfg, test_set)[0], train_set, test_set, collate_polygons


def test_model(cfg: RunConfig, test_set=None):
    """The untrained model and the test set, for a finished run's weights."""
    test_set = datasets(cfg)[1] if test_set is None else test_set
    return create_model(cfg.model, grid=cfg.data_kw["grid"], image_size=cfg.data_kw["image_size"],
                        **cfg.model_kw), test_set


def _trim(target: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Cut the padded target to the longest sequence in the batch (+1 for the end token)."""
    return target[:, : int(length.max()) + 1]


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    if cfg is not None and cfg.scheme == "overlap":
        return overlap_loss(model, batch, cfg)
    return _vertex_loss(model, batch["image"], _trim(batch["target"], batch["length"]))


def overlap_loss(model, batch, cfg: RunConfig) -> torch.Tensor:
    """deeprnn 3.2 on the vertex sequence (the paper's 10/15-layer polygon nets): the teacher-forced
    sequence cut into clips (``sequence.clip_plan``: clip_len, overlap_rate 0.25), each clip started from
    the detached state an earlier clip had at its first step (``init="timestamp"``, the paper) or the
    previous clip's final state (``"previous_last"``, the released code), its loss the vertex cross-entropy plus
    ``lam`` x the coherence of its overlap with the clip before (MSE of softmax probabilities, the earlier
    clip detached), averaged over clips. The image encoder runs once and takes every clip's gradient."""
    from ..schemes.coherence import coherence_loss
    from ..schemes.overlap import overlap_terms
    from .sequence import clip_plan

    target = _trim(batch["target"], batch["length"])
    feats = model.encoder(batch["image"])
    clips = clip_plan(cfg, target.shape[1])

    def run(a, b, state0, cut):
        logits, states = model.run_steps(feats, target, a, b, state0, keep_states=True)
        return logits, None if cut is None else states[cut - a - 1], states[-1]

    terms = overlap_terms(clips, run, lambda logits, a, b: F.cross_entropy(
        logits.flatten(0, 1), target[:, a:b].flatten(), ignore_index=-100),
        lambda out, prev, n, at: coherence_loss(out[:, :n], prev[:, at:at + n]),
        cfg.scheme_kw.get("lam", 0.8), cfg.scheme_kw.get("init", "timestamp"))
    return sum(terms) / len(clips)


def _vertex_loss(model, images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    logits = model(images, target)
    return F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=-100)


# ---- seed-batched training (benchmark.train.seed_batch): one batch per seed, stacked along dim 0
def stack_batches(batches: list[dict]) -> dict:
    """The seeds' batches as one: targets cut to the longest of all of them (+1 for the end token). A
    seed whose own batch is shorter sees padding (-100) there, which the loss ignores and which, the RNN
    being causal, changes none of its logits."""
    steps = max(int(b["length"].max()) for b in batches) + 1
    return {"image": torch.stack([b["image"] for b in batches]),
            "target": torch.stack([b["target"][:, :steps] for b in batches])}


def loss_stacked(model, batch: dict, cfg: RunConfig | None = None) -> torch.Tensor:
    """One seed's loss on its slice of ``stack_batches`` (called under ``torch.func.vmap``)."""
    return _vertex_loss(model, batch["image"], batch["target"])


@torch.no_grad()
def evaluate(model, test_set, cfg: RunConfig) -> dict:
    ious, losses = [], []
    for i in range(0, len(test_set), cfg.batch_size):
        batch = collate_polygons([test_set[j] for j in range(i, min(i + cfg.batch_size, len(test_set)))])
        losses.append(loss(model, batch).item())
        pred = model.decode(batch["image"], max_len=test_set.max_len).numpy()
        for p, gt in zip(pred, batch["polygon"]):
            poly = target_to_polygon(p, test_set.grid, test_set.image_size)
            ious.append(polygon_iou(poly, gt, test_set.image_size))
    return {"test_loss": float(np.mean(losses)), "test_iou": 100.0 * float(np.mean(ious))}


TASK = register_task(Task("polygon", build=build, loss=loss, evaluate=evaluate, stack_batches=stack_batches,
                          loss_stacked=loss_stacked, test_model=test_model))
