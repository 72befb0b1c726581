"""Video action recognition and anticipation (deeprnn 4.1, Tables 1-3, 7, 8; prernn 4.3, Tables 5, 7).

Every net maps frames (B, T, C, H, W) to per-frame logits (B, T, K) (``models.nets.action`` deep nets,
``models.nets.prernn_nets`` PreRNN / traditional / LRCN nets). Training: cross-entropy of the video
logits (the model's ``video_logits``: the mean of the per-frame logits over time; a net without one is
averaged over time). Evaluation (deeprnn Table 1 caption): recognition = top-1 of the whole-video
logits; anticipation = top-1 of the mean of the first two frames' logits (``metrics.video_logits``,
``mode="first", n=2``). The nets are causal (per-frame backbone, forward recurrence, BN in eval mode),
so the first two frames' logits of a whole-video pass equal those of a pass over the first two frames
only; a test checks it.

Data (``datasets(cfg) -> (train_set, test_set)``; items ``{"frames": float (T, C, H, W), "label":
int64}``, sets have ``num_classes``, ``source`` and ``fingerprint()``):

- ``cfg.dataset == "builtin"``: ``MovingShapes`` (shape x direction classes, grey frames repeated to 3
  channels). ``data_kw``: ``n_train``, ``n_test``, ``T``, ``size``, ``shapes``, ``target``, ``noise``,
  ``seed`` (the data draw; distinct draws/shape sets stand in for distinct data sets).
- ``"ucf101"`` / ``"hmdb51"`` (``split`` 1-3) / ``"kinetics"`` (train vs val): the loaders of
  ``benchmark.data``; ``T`` consecutive frames from the start of the video (every ``stride``-th; a
  shorter video repeats its last frame), resized to ``shorter`` and cropped to ``crop`` (random crop,
  flip and colour jitter shared by the frames of a video in training, centre crop at test; deeprnn 4.1),
  ImageNet-normalised. ``frames=True`` reads extracted frame folders.

``data_kw["modality"]``: ``"rgb"`` (default) or ``"flow"`` (prernn Table 5's temporal stream): the input
at step t is the Horn-Schunck flow (``benchmark.data.flow``) from frame t to t+1 of ``flow_stack``
consecutive steps (u, v channels stacked, the last step repeating the one before), clipped to +-20 px and
divided by 20 (the two-stream convention). The net's first 3-channel conv is replaced by one on
2 x ``flow_stack`` channels initialised with the mean of its RGB filters (cross-modality initialisation
of TSN; a fresh conv at cpu scale). Flow is computed once per video and cached as ``.npy``
(``flow_cache``; default ``$BENCHMARK_CACHE/flow``, else ``~/.cache/benchmark/flow``).

Schemes (``cfg.scheme``): ``bptt`` (the whole sequence) or ``overlap`` (deeprnn 3.2, the deep nets of
Tables 1-3: clips of ``clip_len`` frames overlapping by ``overlap_rate`` = 0.25, ``clips`` = S; clip i
starts from the detached state clip i-1 had at clip i's first frame (``init="timestamp"``, the paper)
or at its own end (``"previous_last"``, the released code); loss = mean over clips of cross-entropy of
the clip's video logits + ``lam`` (0.8) x MSE between the softmax outputs of the shared frames, the
earlier clip detached). Evaluation always runs the whole sequence.

Initialisation: ``model_kw["pretrained"]`` may be a dict, a stand-in pretraining spec for a narrow
backbone (``pretrain_standin``: trained once per backbone / width / spec and cached; no ImageNet weights
exist at a narrow width); ``data_kw["pretrain"]`` (a whole run config) starts the net from the final
weights of another action run of the same model (deeprnn Table 3: Kinetics, then fine-tuning), trained
first if it has not finished.

Two-stream (prernn Table 5 "Comb"): each finished run saves ``test_scores.npz`` in its run directory
(per-video softmax of the recognition and anticipation logits, and the labels; ``save_outputs``, called
by the training loop); ``two_stream_accuracy`` averages the colour and flow runs' softmax scores.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from models import create_model

from ..config import RunConfig
from .standin import cached_state, standin_dir
from ..metrics import top1_accuracy, video_logits

ANTICIPATION_FRAMES = 2      # deeprnn Table 1: anticipation sees the first two frames
FLOW_CLIP = 20.0             # two-stream convention: flow clipped to +-20 px, scaled to [-1, 1]
SCORES_FILE = "test_scores.npz"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
REAL_SETS = ("ucf101", "hmdb51", "kinetics")


# ------------------------------------------------------------------------------------------- data
class _View(Dataset):
    """A labelled frame-sequence set seen through ``fn(frames (T, C, H, W) tensor, index) -> tensor``."""

    def __init__(self, base, fn, num_classes: int, source: str, fingerprint: str):
        self.base, self.fn, self.num_classes, self.source = base, fn, int(num_classes), source
        self._fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        return {"frames": self.fn(item["frames"], i, item), "label": torch.as_tensor(int(item["label"]))}

    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def skipped_count(self) -> int:
        return getattr(self.base, "skipped_count", 0)


def flow_cache_dir(kw: dict) -> Path:
    if kw.get("flow_cache"):
        return Path(kw["flow_cache"])
    return Path(os.environ.get("BENCHMARK_CACHE", Path.home() / ".cache" / "benchmark")) / "flow"


def stack_flow(flow: np.ndarray, T: int, stack: int = 1) -> np.ndarray:
    """(T - 1, 2, H, W) flow between consecutive frames -> (T, 2 * stack, H, W) network input: step t holds
    the flows t .. t + stack - 1 (indices past the end repeat the last flow), clipped and scaled."""
    if len(flow) == 0:  # a one-frame video has no motion
        flow = np.zeros((1, 2) + flow.shape[2:], np.float32)
    idx = np.minimum(np.arange(T)[:, None] + np.arange(stack)[None, :], len(flow) - 1)  # (T, stack)
    out = flow[idx].reshape(T, 2 * stack, *flow.shape[2:])
    return np.clip(out, -FLOW_CLIP, FLOW_CLIP) / FLOW_CLIP


def _builtin_flows(ds, kw: dict) -> np.ndarray:
    """Horn-Schunck flow of every video of a built-in set (N, T - 1, 2, H, W), cached on disk by the set's
    fingerprint and the flow parameters."""
    from ..data.flow import flow_sequence

    alpha, iters = float(kw.get("flow_alpha", 0.1)), int(kw.get("flow_iters", 100))
    tag = hashlib.sha256(f"{ds.fingerprint()}|{alpha}|{iters}".encode()).hexdigest()[:16]
    path = flow_cache_dir(kw) / f"builtin_flow_{tag}.npy"
    if path.exists():
        return np.load(path)
    flows = np.stack([flow_sequence(v[:, 0], alpha, iters) for v in ds.frames]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npy")
    np.save(tmp, flows)
    tmp.replace(path)
    return flows


def _builtin_sets(kw: dict):
    from ..data.builtin_sequences import MovingShapes

    kw = dict(kw)
    gen = kw.pop("generator", "moving_shapes")
    if gen != "moving_shapes":
        raise ValueError(f"action task: built-in generator must be 'moving_shapes', got {gen!r}")
    modality, stack = kw.pop("modality", "rgb"), int(kw.pop("flow_stack", 1))
    flow_kw = {k: kw.pop(k) for k in ("flow_alpha", "flow_iters", "flow_cache") if k in kw}
    kw.pop("pretrain", None)  # the pre-training run (see ``pretrain_config``), not a data option
    n_train, n_test = kw.pop("n_train"), kw.pop("n_test")
    sets = []
    for split, n in (("train", n_train), ("test", n_test)):
        ds = MovingShapes(split, n=n, **kw)
        tag = f"{ds.source}({','.join(ds.shapes)}; target {ds.target}; seed {kw.get('seed', 0)})"
        if modality == "rgb":
            fn = lambda f, i, item: f.expand(-1, 3, -1, -1).contiguous()  # noqa: E731  grey -> 3 channels
        elif modality == "flow":
            flows = _builtin_flows(ds, flow_kw)
            T = ds.frames.shape[1]
            fn = lambda f, i, item, flows=flows, T=T: torch.from_numpy(stack_flow(flows[i], T, stack))  # noqa: E731
            tag += f" optical flow (Horn-Schunck, stack {stack})"
        else:
            raise ValueError(f"modality must be 'rgb' or 'flow', got {modality!r}")
        sets.append(_View(ds, fn, ds.num_classes, tag, f"{ds.fingerprint()}:{modality}:{stack}"))
    return tuple(sets)


def _real_base(cfg: RunConfig, subset: str, **video_kw):
    kw = cfg.data_kw
    if cfg.dataset == "ucf101":
        from ..data.ucf101 import UCF101

        return UCF101(cfg.data_root, split=int(kw.get("split", 1)), subset=subset,
                      frames=bool(kw.get("frames", False)), **video_kw)
    if cfg.dataset == "hmdb51":
        from ..data.hmdb51 import HMDB51

        return HMDB51(cfg.data_root, split=int(kw.get("split", 1)), subset=subset,
                      frames=bool(kw.get("frames", False)), **video_kw)
    if cfg.dataset == "kinetics":
        from ..data.kinetics import Kinetics400

        return Kinetics400(cfg.data_root, subset="val" if subset == "test" else subset, **video_kw)
    raise ValueError(f"action task: dataset must be 'builtin' or one of {REAL_SETS}, got {cfg.dataset!r}")


class _FlowCrop:
    """Flow of the resized frames (cached per video), then one crop / flip per video (u negated on flip)."""

    def __init__(self, kw: dict, train: bool, seed: int, T: int):
        self.kw, self.train, self.T = kw, train, int(T)
        self.crop, self.shorter = int(kw.get("crop", 224)), kw.get("shorter", 368)
        self.generator = np.random.default_rng(seed)

    def __call__(self, frames: torch.Tensor, i: int, item: dict) -> torch.Tensor:
        from ..data.augment import resize_shorter, worker_generator
        from ..data.flow import cached_flow

        video = frames.permute(0, 2, 3, 1).numpy()  # (T, H, W, 3) uint8
        if self.shorter:
            video = resize_shorter(video, int(self.shorter))
        flow = cached_flow(f"{item['video']}|{self.kw.get('stride', 1)}", video, flow_cache_dir(self.kw),
                           float(self.kw.get("flow_alpha", 0.1)), int(self.kw.get("flow_iters", 100)))
        x = stack_flow(flow, self.T, int(self.kw.get("flow_stack", 1)))  # (T, 2L, H, W)
        H, W, c = x.shape[-2], x.shape[-1], min(self.crop, x.shape[-2], x.shape[-1])
        if self.train:
            g = worker_generator(self)
            y0, x0, flip = int(g.integers(0, H - c + 1)), int(g.integers(0, W - c + 1)), bool(g.random() < 0.5)
        else:
            y0, x0, flip = (H - c) // 2, (W - c) // 2, False
        x = x[..., y0:y0 + c, x0:x0 + c]
        if flip:
            x = x[..., ::-1].copy()
            x[:, 0::2] *= -1  # horizontal flip reverses u
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _real_sets(cfg: RunConfig):
    from ..data.augment import VideoAugment, first_frames

    kw = cfg.data_kw
    T, stride, modality = int(kw.get("T", 55)), int(kw.get("stride", 1)), kw.get("modality", "rgb")
    sampling = lambda n: first_frames(n, T)  # noqa: E731  T frames from the start, the last one repeated
    sets = []
    for subset, train in (("train", True), ("test", False)):
        if modality == "rgb":
            aug = VideoAugment(crop=int(kw.get("crop", 224)), shorter=kw.get("shorter", 368), train=train,
                               generator=np.random.default_rng(cfg.seed))
            base = _real_base(cfg, subset, transform=aug, sampling=sampling, max_frames=T, stride=stride,
                              as_float=True)
            mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            fn = lambda f, i, item, m=mean, s=std: (f - m) / s  # noqa: E731
        elif modality == "flow":
            # T + 1 frames give the T flows of the T steps
            base = _real_base(cfg, subset, sampling=lambda n: first_frames(n, T + 1), max_frames=T + 1,
                              stride=stride)
            fn = _FlowCrop(kw, train, cfg.seed, T)
        else:
            raise ValueError(f"modality must be 'rgb' or 'flow', got {modality!r}")
        limit = kw.get("n_train" if train else "n_test")
        if limit is not None and limit < len(base.samples):  # a fixed random subset (quick runs)
            keep = np.sort(np.random.default_rng(0).choice(len(base.samples), int(limit), replace=False))
            base.samples = [base.samples[j] for j in keep]
        fp = hashlib.sha256("|".join(f"{p}:{l}" for p, l in base.samples).encode()).hexdigest()[:16]
        sets.append(_View(base, fn, len(base.classes), f"{cfg.dataset}:{modality}", fp))
    return tuple(sets)


def datasets(cfg: RunConfig):
    """(train_set, test_set) of frame sequences for ``cfg`` (see the module docstring)."""
    if cfg.dataset == "builtin":
        return _builtin_sets(cfg.data_kw)
    return _real_sets(cfg)


def input_channels(cfg: RunConfig) -> int:
    return 2 * int(cfg.data_kw.get("flow_stack", 1)) if cfg.data_kw.get("modality", "rgb") == "flow" else 3


# ------------------------------------------------------------------------------------------ model
def adapt_input_channels(model: nn.Module, channels: int) -> nn.Module:
    """Replace the first conv on 3 input channels with one on ``channels``, its filters initialised with
    the mean over the RGB filters (TSN's cross-modality initialisation); returns the model."""
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Conv3d)) and mod.in_channels == 3:
            new = type(mod)(channels, mod.out_channels, mod.kernel_size, stride=mod.stride, padding=mod.padding,
                            dilation=mod.dilation, groups=mod.groups, bias=mod.bias is not None)
            with torch.no_grad():
                mean = mod.weight.mean(dim=1, keepdim=True)
                new.weight.copy_(mean.expand_as(new.weight))
                if mod.bias is not None:
                    new.bias.copy_(mod.bias)
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            setattr(parent, name.rsplit(".", 1)[-1], new)
            return model
    raise ValueError("adapt_input_channels: the model has no conv on 3 input channels")


# ------------------------------------------------------------- stand-in pretrained backbones
STANDIN_VERSION = 2   # bump when the stand-in pretraining changes (part of the cache key)
STANDIN_SHAPES = ("triangle", "square", "circle", "star", "rhombus", "cross")


def backbone_of(model: str, model_kw: dict) -> tuple[str | None, float]:
    """(``models.backbones`` name, width) of the CNN a registered action net is built on; (None, 1) for
    the stand-alone nets."""
    if model.startswith("deep15_"):
        arch = model.rsplit("_", 1)[1]
        return ("inception_v1" if arch == "googlenet" else arch), float(model_kw.get("backbone_width", 1.0))
    width = float(model_kw.get("width", 1.0))
    for key, arch in (("googlenet", "inception_v1"), ("resnet50", "resnet50"), ("vgg16", "vgg16"),
                      ("c3d", "c3d")):
        if key in model:
            return arch, width
    return None, 1.0


def standin_cache_dir() -> Path:
    """``$BENCHMARK_CACHE/action_standin`` or ``~/.cache/benchmark/action_standin`` (like timm's cache)."""
    return standin_dir("action")


def pretrain_standin(arch: str, width: float, spec: dict) -> dict:
    """A stand-in for ImageNet weights of a narrow backbone (none exist): the backbone trained on still
    frames to say *what* is in the frame and *where* (its default feature tap -> a linear layer: cross-
    entropy over the 6 shapes + ``spec["where"]`` (1.0) x MSE of the shape's centre in [-1, 1]^2, the
    centroid of the pixels above 0.5; dropout off). Frames of moving shapes drawn with their own data seed
    (``spec["seed"]``, 1000: disjoint from every task draw). Why "where": at 32 px VGG's pool5 is 1x1, so
    without it the features keep no position and no net could see motion. Still frames only: motion
    (direction) is left to the recurrent part, as an ImageNet network leaves it. ``spec``: n (videos
    drawn), T, size, noise, seed, steps, batch, lr, where. Deterministic (its own RNG; the caller's RNG
    state is untouched). Returns the backbone's state dict (head dropped)."""
    from models import backbones as bb

    from ..data.builtin_sequences import MovingShapes

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.get("seed", 1000)))
        data = MovingShapes("train", n=int(spec["n"]), T=int(spec.get("T", 4)), size=int(spec["size"]),
                            seed=int(spec.get("seed", 1000)), shapes=STANDIN_SHAPES, target="shape",
                            noise=float(spec.get("noise", 0.1)))
        x = torch.from_numpy(data.frames).flatten(0, 1)                              # (N T, 1, H, W)
        y = torch.from_numpy(data.labels).repeat_interleave(data.frames.shape[1])   # shape of every frame
        mask = (x[:, 0] > 0.5).float()
        grid = (torch.arange(x.shape[-1], dtype=torch.float32) + 0.5) / x.shape[-1] * 2 - 1
        area = mask.sum((1, 2)).clamp_min(1.0)
        where = torch.stack([(mask.sum(1) * grid).sum(1) / area, (mask.sum(2) * grid).sum(1) / area], 1)
        kw = dict(drop_rate=0.0) if arch.startswith("vgg") else {}
        net = bb.create_backbone(arch, width=width, **kw)
        with torch.no_grad():
            dim = net(torch.zeros(2, 3, *x.shape[-2:])).flatten(1).shape[1]
        head = nn.Linear(dim, len(STANDIN_SHAPES) + 2)
        k = len(STANDIN_SHAPES)
        params = list(net.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=float(spec["lr"]))
        net.train()
        for _ in range(int(spec["steps"])):
            idx = torch.randint(0, len(x), (int(spec["batch"]),))
            out = head(net(x[idx].expand(-1, 3, -1, -1)).flatten(1))
            value = (F.cross_entropy(out[:, :k], y[idx])
                     + float(spec.get("where", 1.0)) * F.mse_loss(out[:, k:], where[idx]))
            opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_value_(params, 5.0)
            opt.step()
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def standin_weights(arch: str, width: float, spec: dict) -> Path:
    """The file of the stand-in pretrained backbone, trained once and cached; concurrent runs wait on a
    file lock instead of training it twice."""
    import json

    key = hashlib.sha256(json.dumps({"arch": arch, "width": float(width), "spec": spec, "v": STANDIN_VERSION},
                                    sort_keys=True).encode()).hexdigest()[:12]
    return cached_state(standin_cache_dir() / f"{arch}_w{float(width):g}_{key}.pt",
                        lambda: pretrain_standin(arch, width, spec))


def model_kwargs(cfg: RunConfig) -> dict:
    """``cfg.model_kw`` with ``pretrained`` resolved: a dict is a stand-in pretraining spec
    (``pretrain_standin``), replaced by the cached weights file the backbone loads."""
    kw = dict(cfg.model_kw)
    spec = kw.get("pretrained")
    if isinstance(spec, dict):
        arch, width = backbone_of(cfg.model, kw)
        if arch is None:
            raise ValueError(f"{cfg.model}: a stand-in pretraining spec needs a backbone-supported net")
        kw["pretrained"] = str(standin_weights(arch, width, spec))
    return kw


# ------------------------------------------------------------------- pre-training then fine-tuning
def pretrain_config(cfg: RunConfig) -> RunConfig | None:
    """``data_kw["pretrain"]``: the whole config (a dict) of an action run of the same model whose final
    weights initialise this one (deeprnn Table 3: Kinetics, then fine-tuning on UCF-101 / HMDB-51)."""
    spec = cfg.data_kw.get("pretrain")
    if not spec:
        return None
    pre = RunConfig.from_dict({**spec, "threads": cfg.threads})
    if pre.task != "action" or pre.model != cfg.model or pre.data_kw.get("pretrain"):
        raise ValueError("data_kw['pretrain'] must be an 'action' run of the same model, itself not pre-trained")
    return pre


def pretrained_state(pre: RunConfig, run_dir) -> dict:
    """The final weights of the pre-training run ``pre`` (found beside ``run_dir`` in the runs tree); trained
    here, under a file lock, if it has not finished (a parallel run may be training it: wait for it)."""
    import fcntl

    from ..results import run_dir as dir_of, run_status, write_config
    from .checkpoint import read_checkpoint
    from .loop import CHECKPOINT_FILE, run_training

    if run_dir is None:
        raise ValueError("a fine-tuning run needs its run directory (build(cfg, run_dir=...)) to find its "
                         "pre-training run")
    path = dir_of(Path(run_dir).parent.parent, pre)
    if run_status(path) != "done":
        path.mkdir(parents=True, exist_ok=True)
        write_config(path, pre)
        with open(path / "pretrain.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if run_status(path) != "done":
                run_training(pre, path, progress=False)
    return read_checkpoint(path / CHECKPOINT_FILE)["model"]


def load_fitting(model: nn.Module, state: dict) -> list[str]:
    """Copy every tensor of ``state`` whose name and shape fit; returns the names left fresh (the last
    classifier layer when the class counts differ)."""
    own = model.state_dict()
    fit = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fit, strict=False)
    return sorted(k for k in own if k not in fit)


def build(cfg: RunConfig, run_dir=None):
    from .checkpoint import seed_everything

    init, pre = None, pretrain_config(cfg)
    if pre is not None:
        init = pretrained_state(pre, run_dir)
        seed_everything(cfg.seed)  # the same fine-tuning run whether or not the pre-training ran just now
    train_set, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=train_set.num_classes, **model_kwargs(cfg))
    if input_channels(cfg) != 3:
        adapt_input_channels(model, input_channels(cfg))
    if init is not None:
        model.pretrained_fresh = load_fitting(model, init)
    return model, train_set, test_set, None


def _unwrap(model):
    return getattr(model, "module", model)  # DDP


def run_frames(model, frames: torch.Tensor, states=None):
    """(per-frame logits (B, T, K), final states) of ``frames`` (B, T, C, H, W) from ``states``."""
    out = model(frames, states, return_states=True)
    logits, states = out
    if isinstance(logits, dict):  # SCS nets asked for streams elsewhere
        logits = logits["logits"]
    return logits, states


def sequence_logits(model, frame_logits: torch.Tensor) -> torch.Tensor:
    """Video logits (B, K) for the loss: the model's ``video_logits`` (the time average, or the second
    half in training with ``train_average="second_half"``), else the mean over time."""
    fn = getattr(_unwrap(model), "video_logits", None)
    return fn(frame_logits) if fn is not None else frame_logits.mean(dim=1)


# ------------------------------------------------------------------------------------------- loss
def _detach(states):
    from .sequence import _detach as detach

    return detach(states)


def clip_plan(cfg: RunConfig, T: int) -> list[tuple[int, int]]:
    from ..schemes.clips import overlap_clips

    kw = cfg.scheme_kw
    return overlap_clips(T, int(kw["clip_len"]), kw.get("clips"), kw.get("overlap_rate", 0.25))


def _overlap_terms(model, frames, label, clips, lam: float, init: str):
    """Each clip's loss (cross-entropy of its video logits + lam * coherence with the clip before), in
    order; handed-over states and the coherence target are detached (one clip's graph per term)."""
    from ..schemes.coherence import coherence_loss

    prev, prev_logits, handover = None, None, None
    for k, (a, b) in enumerate(clips):
        nxt = clips[k + 1][0] if k + 1 < len(clips) else None
        state0 = handover
        if nxt is not None and init == "timestamp" and a < nxt < b:
            # run up to the next clip's first frame, keep that state, then the rest of the clip
            l1, s_mid = run_frames(model, frames[:, a:nxt], state0)
            l2, _ = run_frames(model, frames[:, nxt:b], s_mid)
            logits, handover = torch.cat([l1, l2], dim=1), _detach(s_mid)
        else:
            logits, s_end = run_frames(model, frames[:, a:b], state0)
            handover = _detach(s_end) if nxt is not None and (init == "previous_last" or nxt >= b) else None
        term = F.cross_entropy(sequence_logits(model, logits), label)
        if prev is not None and a < prev[1]:  # frames [a, prev_end) seen by both clips
            n = prev[1] - a
            term = term + lam * coherence_loss(logits[:, :n], prev_logits[:, a - prev[0]:a - prev[0] + n])
        yield term
        prev, prev_logits = (a, b), logits.detach()


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    """Cross-entropy of the video logits (the time-averaged per-frame logits) against the label;
    ``scheme="overlap"``: the mean of the clips' terms."""
    frames, label = batch["frames"], batch["label"]
    if cfg is None or cfg.scheme == "bptt":
        logits, _ = run_frames(model, frames)
        return F.cross_entropy(sequence_logits(model, logits), label)
    if cfg.scheme != "overlap":
        raise ValueError(f"action task: scheme must be 'bptt' or 'overlap', got {cfg.scheme!r}")
    clips = clip_plan(cfg, frames.shape[1])
    terms = list(_overlap_terms(model, frames, label, clips, cfg.scheme_kw.get("lam", 0.8),
                                cfg.scheme_kw.get("init", "timestamp")))
    return sum(terms) / len(terms)


def loss_backward(model, batch, cfg: RunConfig) -> float:
    """The overlap scheme back-propagates clip by clip (one clip's activations held at a time; the same
    gradients as ``loss``); bptt back-propagates once."""
    if cfg.scheme != "overlap":
        value = loss(model, batch, cfg)
        value.backward()
        return value.item()
    clips = clip_plan(cfg, batch["frames"].shape[1])
    total = 0.0
    for term in _overlap_terms(model, batch["frames"], batch["label"], clips, cfg.scheme_kw.get("lam", 0.8),
                               cfg.scheme_kw.get("init", "timestamp")):
        (term / len(clips)).backward()
        total += term.item() / len(clips)
    return total


# ------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def predict(model, test_set, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame logits (N, T, K) of every test video (whole sequence, eval mode) and the labels (N,)."""
    model.eval()
    logits, labels = [], []
    for batch in DataLoader(test_set, batch_size=batch_size, shuffle=False):
        logits.append(run_frames(model, batch["frames"])[0].float().numpy())
        labels.append(batch["label"].numpy())
    return np.concatenate(logits), np.concatenate(labels)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def scores(frame_logits: np.ndarray) -> dict[str, np.ndarray]:
    """Video logits: recognition (every frame) and anticipation (the first two frames)."""
    return {"recognition": video_logits(frame_logits, mode="all"),
            "anticipation": video_logits(frame_logits, mode="first", n=ANTICIPATION_FRAMES)}


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    """test_acc (recognition, %), test_atcp (anticipation, %), test_loss (cross-entropy, recognition)."""
    fl, labels = predict(model, test_set, cfg.batch_size)
    s = scores(fl)
    ce = F.cross_entropy(torch.from_numpy(s["recognition"]).float(), torch.from_numpy(labels).long()).item()
    return {"test_acc": 100.0 * top1_accuracy(s["recognition"], labels),
            "test_atcp": 100.0 * top1_accuracy(s["anticipation"], labels), "test_loss": ce}


def save_outputs(model, test_set, cfg: RunConfig, run_dir: Path) -> Path:
    """``test_scores.npz`` in the run directory: per-video softmax of the recognition and anticipation
    logits and the labels (the two-stream average reads these; no retraining)."""
    fl, labels = predict(model, test_set, cfg.batch_size)
    s = scores(fl)
    path = Path(run_dir) / SCORES_FILE
    tmp = path.with_name(f".{SCORES_FILE}.{os.getpid()}.tmp.npz")
    np.savez(tmp, recognition=_softmax(s["recognition"]), anticipation=_softmax(s["anticipation"]),
             labels=labels)
    tmp.replace(path)
    return path


def load_scores(path) -> dict[str, np.ndarray]:
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


def ensure_scores(runs_root, cfg: RunConfig) -> Path | None:
    """The run's ``test_scores.npz``; a finished run without one (trained before the file existed) gets
    it from its checkpoint. None while the run is not done."""
    from ..results import run_dir, run_status
    from .checkpoint import read_checkpoint
    from .loop import CHECKPOINT_FILE

    d = run_dir(runs_root, cfg)
    if (d / SCORES_FILE).exists():
        return d / SCORES_FILE
    if run_status(d) != "done" or not (d / CHECKPOINT_FILE).exists():
        return None
    model, _, test_set, _ = build(cfg, run_dir=d)
    ckpt = read_checkpoint(d / CHECKPOINT_FILE)
    model.load_state_dict(ckpt["model"])
    return save_outputs(model.eval(), test_set, cfg, d)
