"""Video action recognition and anticipation (deeprnn 4.1, Tables 1-3, 7, 8; prernn 4.3, Tables 5, 7).

Every net maps frames (B, T, C, H, W) to per-frame logits (B, T, K) (``models.nets.action`` deep nets,
``models.nets.prernn_nets`` PreRNN / traditional / LRCN nets). Training: cross-entropy of the video
logits (the model's ``video_logits``: the mean of the per-frame logits over time; a net without one is
averaged over time). Evaluation (deeprnn Table 1 caption): recognition = top-1 of the whole-video
logits; anticipation = top-1 of the mean of the first two frames' logits (``metrics.video_logits``,
``mode="first", n=2``). The nets are causal (per-frame backbone, forward recurrence, BN in eval mode),
so the first two frames' logits of a whole-video pass equal those of a pass over the first two frames
only; a test checks it.

Data (``datasets(cfg) -> (train_set, test_set)``): ``benchmark.data.action_sets`` (``"builtin"``:
``MovingShapes``; ``"ucf101"`` / ``"hmdb51"`` / ``"kinetics"``: the real loaders). ``data_kw["modality"]``:
``"rgb"`` (default) or ``"flow"`` (prernn Table 5's temporal stream: stacked Horn-Schunck flow, see there);
for flow the net's first 3-channel conv is replaced by one on 2 x ``flow_stack`` channels initialised with
the mean of its RGB filters (cross-modality initialisation of TSN; a fresh conv at cpu scale).

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
by the training loop); ``two_stream_accuracy`` (``benchmark.analysis.action_scores``) averages the colour
and flow runs' softmax scores.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model
from models.nets.action import run_frames

from ..analysis.action_scores import predict, save_outputs, scores
from ..analysis.action_scores import ensure_scores, two_stream_accuracy  # noqa: F401  (re-export: catalogue)
from ..analysis.action_scores import ANTICIPATION_FRAMES  # noqa: F401  (re-export: baselines)
from ..config import RunConfig
from ..schemes.clips import backward_terms
from ..schemes.coherence import coherence_loss
from ..schemes.overlap import overlap_terms
from ..schemes.clips import clip_plan as plan_clips
from ..data.action_sets import builtin_sets, real_sets, standin_frames
from ..metrics import top1_accuracy
from . import finetune
from .finetune import load_fitting
from .standin import cached_state, fit, standin_path
from .task import Task, register_task


def datasets(cfg: RunConfig):
    """(train_set, test_set) of frame sequences for ``cfg`` (see the module docstring)."""
    if cfg.dataset == "builtin":
        return builtin_sets(cfg.data_kw)
    return real_sets(cfg)


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

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.get("seed", 1000)))
        x, y, where = standin_frames(spec, STANDIN_SHAPES)
        kw = dict(drop_rate=0.0) if arch.startswith("vgg") else {}
        net = bb.create_backbone(arch, width=width, **kw)
        with torch.no_grad():
            dim = net(torch.zeros(2, 3, *x.shape[-2:])).flatten(1).shape[1]
        head = nn.Linear(dim, len(STANDIN_SHAPES) + 2)
        k = len(STANDIN_SHAPES)
        net.train()

        def step_loss(idx: torch.Tensor) -> torch.Tensor:
            out = head(net(x[idx].expand(-1, 3, -1, -1)).flatten(1))
            return (F.cross_entropy(out[:, :k], y[idx])
                    + float(spec.get("where", 1.0)) * F.mse_loss(out[:, k:], where[idx]))

        fit(list(net.parameters()) + list(head.parameters()), spec, len(x), step_loss)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def standin_weights(arch: str, width: float, spec: dict) -> Path:
    """The file of the stand-in pretrained backbone, trained once and cached; concurrent runs wait on a
    file lock instead of training it twice (under ``$BENCHMARK_CACHE/action_standin``, ``standin_path``)."""
    return cached_state(standin_path("action", arch, width, spec, STANDIN_VERSION),
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
    return finetune.pretrain_config(cfg, "action")


def pretrained_state(pre: RunConfig, run_dir) -> dict:
    """The final weights of the pre-training run ``pre`` (``finetune.pretraining_run``)."""
    if run_dir is None:
        raise ValueError("a fine-tuning run needs its run directory (task.build(cfg, run_dir)) to find its "
                         "pre-training run")
    return finetune.pretraining_run(pre, run_dir)[0]


def build(cfg: RunConfig, run_dir=None):
    from .checkpoint import seed_everything

    init, pre = None, pretrain_config(cfg)
    if pre is not None:
        init = pretrained_state(pre, run_dir)
        seed_everything(cfg.seed)  # draws from the seed after reading the pre-training run, as always
    train_set, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=train_set.num_classes, **model_kwargs(cfg))
    if input_channels(cfg) != 3:
        adapt_input_channels(model, input_channels(cfg))
    if init is not None:
        model.pretrained_fresh = load_fitting(model, init)
    return model, train_set, test_set, None


def test_model(cfg: RunConfig):
    """The untrained model (no fine-tuning start) and the test set, for a finished run's weights."""
    _, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=test_set.num_classes, **model_kwargs(cfg))
    if input_channels(cfg) != 3:
        adapt_input_channels(model, input_channels(cfg))
    return model, test_set


def _unwrap(model):
    return getattr(model, "module", model)  # DDP


def sequence_logits(model, frame_logits: torch.Tensor) -> torch.Tensor:
    """Video logits (B, K) for the loss: the model's ``video_logits`` (the time average, or the second
    half in training with ``train_average="second_half"``), else the mean over time."""
    fn = getattr(_unwrap(model), "video_logits", None)
    return fn(frame_logits) if fn is not None else frame_logits.mean(dim=1)


# ------------------------------------------------------------------------------------------- loss
def clip_plan(cfg: RunConfig, T: int) -> list[tuple[int, int]]:
    """The clips of a sequence of T frames (``schemes.clips.clip_plan``, the one planner)."""
    return plan_clips(cfg.scheme, cfg.scheme_kw, T, ("bptt", "overlap"), "action")


def _overlap_terms(model, frames, label, clips, lam: float, init: str):
    """Each clip's loss (cross-entropy of its video logits + lam * coherence with the clip before), in
    order (``schemes.overlap``: one clip's graph per term)."""
    def run(a, b, state0, cut):
        if cut is None:
            logits, end = run_frames(model, frames[:, a:b], state0)
            return logits, None, end
        l1, mid = run_frames(model, frames[:, a:cut], state0)  # up to the next clip's first frame: keep that state
        l2, end = run_frames(model, frames[:, cut:b], mid)
        return torch.cat([l1, l2], dim=1), mid, end

    return overlap_terms(clips, run, lambda logits, a, b: F.cross_entropy(sequence_logits(model, logits), label),
                         lambda out, prev, n, at: coherence_loss(out[:, :n], prev[:, at:at + n]), lam, init)


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    """Cross-entropy of the video logits (the time-averaged per-frame logits) against the label;
    ``scheme="overlap"``: the mean of the clips' terms."""
    frames, label = batch["frames"], batch["label"]
    if cfg is None or cfg.scheme == "bptt":
        logits, _ = run_frames(model, frames)
        return F.cross_entropy(sequence_logits(model, logits), label)
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
    return backward_terms(_overlap_terms(model, batch["frames"], batch["label"], clips,
                                         cfg.scheme_kw.get("lam", 0.8), cfg.scheme_kw.get("init", "timestamp")),
                          len(clips))


# ------------------------------------------------------------------------------------- evaluation
def evaluate(model, test_set, cfg: RunConfig) -> dict:
    """test_acc (recognition, %), test_atcp (anticipation, %), test_loss (cross-entropy, recognition)."""
    fl, labels = predict(model, test_set, cfg.batch_size)
    s = scores(fl)
    ce = F.cross_entropy(torch.from_numpy(s["recognition"]).float(), torch.from_numpy(labels).long()).item()
    return {"test_acc": 100.0 * top1_accuracy(s["recognition"], labels),
            "test_atcp": 100.0 * top1_accuracy(s["anticipation"], labels), "test_loss": ce}


TASK = register_task(Task("action", build=build, loss=loss, evaluate=evaluate, loss_backward=loss_backward,
                          save_outputs=save_outputs, test_model=test_model))
