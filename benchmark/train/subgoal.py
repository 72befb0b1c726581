"""SCS action recognition with its sub-goals (scs sections 4-5.5, eqs. 9-12 and 17-23; Tables 2, 3, Fig. 4).

Loss of one (clip of a) video, for an SCS net whose cells keep their sub-goal streams:

    L = CE(g) + [sub-goals] (t1_weight * CE(r_s) + [t2] t2_weight * L_flow) + [LTSC] lam * L_overlap

- main goal g: the per-frame logits averaged over the frames (the model's ``video_logits``), cross-entropy.
- T^1 (spatial sub-goal r_s, eqs. 9-10): the same head on the spatial stream
  (``forward(frames, return_streams=True)["spatial_logits"]``), averaged over frames, cross-entropy with
  the same label ("the spatial goal r_s is the same as the main goal", section 5.5).
- T^2 (temporal sub-goal r_t, eqs. 11-12): "estimate the optical flow between the current and last input
  frames". The temporal streams of some layers (``t2_taps``; default ``"stages"`` = the last cell of
  every stage, i.e. cells 4/8/12/16 of the stand-alone net as in the released code, the block ends 4/9/14
  of the backbone net) each go through a small flow head that the task adds to the net
  (``model.flow_heads``: ``models.nets.subgoal_heads.FlowHead``, ``flow_mid`` channels); L_flow is the
  MSE to the Horn-Schunck flow (``benchmark.data.flow``), average-pooled to the map's size, averaged over
  the taps (the released code sums them: a constant factor) and over the frames that have a previous
  frame (the first frame of a sequence or of a training window has no target). Flow is in pixels per frame at
  ``flow_size`` px (the frames downsampled to that size: smaller motions suit Horn-Schunck better).
- The streams never touch the other stream's parameters (``models/cells/scs.py``), so dr_s/dPsi_t = 0 and
  dr_t/dPsi_s = 0 hold by construction; the flow heads get gradient from T^2 only (a test checks that
  without T^2 none reaches them). The heads are built for every SCS net (also with T^2 off) so that the
  ablation variants of one seed start from the same weights.

Non-SCS nets (``lrcn_vgg16_lstm``, ``*_cbm_*``, ``*_convlstm_*``) train with the main loss (+ LTSC's
overlap term) only.

Options (``cfg.scheme_kw``; defaults in ``OPTIONS``):
- ``subgoals`` (True): add T^1 (and T^2) to the loss; ``t2`` (True): add T^2.
- ``astsgd`` (False): Advanced STSGD (eqs. 19-20; ``train.astsgd``): every SCS cell's STSGD draw follows
  q, updated from the running losses of r_s and g (``astsgd_every``, ``astsgd_ema``, ``q0``, ``alpha``,
  ``thresh``) by eq. 20 or, ``q_rule="network"``, by the learned 3-layer q network (``qnet_*``).
  ASTSGD and a fixed-p STSGD schedule (``cfg.stsgd_schedule``, set by the loop) exclude each other.
- LTSC (``cfg.scheme = "ltsc"``, scs 5.3): the T training frames are cut by ``schemes.clips.ltsc_partition``
  into clips of ``clip_len`` (neighbours share ``overlap`` = 25% frames), run in order, each from the
  detached state the previous clip had at this clip's first time stamp (``init="timestamp"``, the paper;
  ``"previous_last"``: the released code); each clip adds ``lam`` (0.8) * the overlap MSE of eq. 23
  (``schemes.coherence``). The loss is the mean over clips; ``loss_backward`` back-propagates clip by clip.
  ``cfg.scheme = "bptt"`` trains on the whole T frames at once; "without LTSC" is ``bptt`` with
  ``data_kw["train_window"] = L``: one random window of L frames per video ("the model can only access a
  short clip", section 5.5).

Data (``cfg.data_kw``): ``benchmark.data.subgoal_sets`` (``dataset="builtin"``: MovingShapes in one of
``BUILTIN_VARIANTS``, the cpu-scale stand-ins of Kinetics / UCF-101 / HMDB-51; ``ucf101``, ``hmdb51``,
``kinetics``: the real loaders); ``build`` adds the Horn-Schunck flow targets (``flow_size`` px) where T^2
needs them. Pre-training (``data_kw["pretrain"]``, e.g. Kinetics before UCF-101): ``train.finetune``.

``evaluate``: top-1 of the whole video (per-frame logits averaged over every frame, from a zero state),
the spatial stream's top-1 (T^1, SCS nets), the test loss, and the epoch's training-loss parts and q.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import create_model, set_schedule
from models.nets.subgoal_heads import FlowHead, SubgoalState, has_subgoals, run_streams, tap_cells, video_logits

from ..analysis.subgoal_scores import predict
from ..config import RunConfig
from ..data.subgoal_sets import datasets
from ..schemes.clips import clip_plan as plan_clips
from ..schemes.coherence import coherence_loss
from ..schemes.gradient import initial_main_loss
from . import astsgd, finetune

OPTIONS = dict(subgoals=True, t2=True, t1_weight=1.0, t2_weight=1.0, t2_taps="stages", flow_mid=16,
               astsgd=False, q0=0.5, alpha=1.0, thresh=1.0, astsgd_every="step", astsgd_ema=0.9, q_rule="eq20",
               qnet_hidden=16, qnet_sigma=0.05, qnet_lr=1e-2, lam=0.8, init="timestamp", flow_alpha=0.1, flow_iters=100)


def options(cfg: RunConfig | None) -> dict:
    opts = dict(OPTIONS)
    if cfg is not None:
        unknown = set(cfg.scheme_kw) - set(OPTIONS) - {"clip_len", "overlap", "clips", "overlap_rate"}
        if unknown:
            raise ValueError(f"unknown subgoal option(s) {sorted(unknown)}; known: {sorted(OPTIONS)} "
                             f"+ clip_len, overlap")
        opts.update(cfg.scheme_kw)
    if opts["astsgd_every"] not in ("step", "epoch"):
        raise ValueError(f"astsgd_every must be 'step' or 'epoch', got {opts['astsgd_every']!r}")
    if opts["init"] not in ("timestamp", "previous_last"):
        raise ValueError(f"init must be 'timestamp' or 'previous_last', got {opts['init']!r}")
    astsgd.check_options(opts)
    return opts


# ------------------------------------------------------------------------------------- model helpers
def _unwrap(model):
    return getattr(model, "module", model)  # a DDP wrapper's model


def attach_heads(model, opts: dict, num_classes: int):
    """Add the task's parts to a built model: ``subgoal_state`` always, ``flow_heads`` for SCS nets."""
    model.add_module("subgoal_state", SubgoalState(initial_main_loss(num_classes)))
    if has_subgoals(model):
        taps = tap_cells(model, opts["t2_taps"])
        model.tap_indices = taps
        model.add_module("flow_heads", nn.ModuleList(
            FlowHead(model.rnn.cells[i].hidden_channels, opts["flow_mid"]) for i in taps))
    astsgd.attach(model, opts)  # the learned-q network (q_rule "network")
    return model


def flow_loss(heads, temporal: list, flow: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """T^2: mean over taps of the MSE between each head's flow and the target pooled to the map's size,
    over the frames with a target (``valid``)."""
    losses = []
    for head, maps in zip(heads, temporal):
        b, t, c, h, w = maps.shape
        pred = head(maps.flatten(0, 1))
        target = F.adaptive_avg_pool2d(flow.flatten(0, 1), (h, w))
        err = ((pred - target) ** 2).mean(dim=(1, 2, 3)).view(b, t)
        m = valid.float()
        losses.append((err * m).sum() / m.sum().clamp(min=1.0))
    return torch.stack(losses).mean()


from ..schemes.overlap import overlap_terms  # noqa: E402
from .task import Task, register_task  # noqa: E402


def _cat_time(parts):
    if parts[0] is None:
        return None
    if isinstance(parts[0], list):
        return [torch.cat(ps, 1) for ps in zip(*parts)]
    return torch.cat(parts, 1)


# ------------------------------------------------------------------------------------------------ loss
def clip_plan(cfg: RunConfig | None, T: int) -> list[tuple[int, int]]:
    """The clips of a sequence of T frames (``schemes.clips.clip_plan``, the one planner)."""
    return [(0, T)] if cfg is None else plan_clips(cfg.scheme, cfg.scheme_kw, T, ("bptt", "ltsc"), "subgoal")


def _terms(net, batch, cfg: RunConfig | None):
    """Yield, clip by clip, (loss of the clip, {part: value}) for one batch (see the module docstring)."""
    model = _unwrap(net)
    opts = options(cfg)
    frames, label = batch["frames"], batch["label"]
    sub = has_subgoals(model)
    astsgd = sub and opts["astsgd"] and model.training
    use_sub = sub and opts["subgoals"]
    use_t2 = use_sub and opts["t2"] and "flow" in batch
    streams = use_sub or astsgd
    taps = getattr(model, "tap_indices", None) if use_t2 else None
    if astsgd:
        set_schedule(model, "stsgd_q", float(model.subgoal_state.q))
    clips = clip_plan(cfg, frames.shape[1])
    parts_of = []  # each clip's {part: value}, in clip order

    def run(a, b, state0, cut):
        """The clip's (logits, spatial, temporal) streams from ``state0``, split at ``cut`` to keep that state."""
        outs, states, mid = [], state0, None
        bounds = [a, b] if cut is None else [a, cut, b]
        for s, e in zip(bounds, bounds[1:]):
            outs.append(run_streams(net, frames[:, s:e], states, streams, taps))
            states = outs[-1][3]
            mid = states if e == cut else mid
        return tuple(_cat_time([o[k] for o in outs]) for k in range(3)), mid, states

    def term(out, a, b):
        logits, spatial, temporal = out
        main = F.cross_entropy(video_logits(model, logits), label)
        parts, total = {"main": main.item()}, main
        if spatial is not None:
            t1 = F.cross_entropy(video_logits(model, spatial), label)
            parts["t1"] = t1.item()
            if use_sub:
                total = total + opts["t1_weight"] * t1
        if use_t2 and temporal is not None:
            t2 = flow_loss(model.flow_heads, temporal, batch["flow"][:, a:b], batch["flow_valid"][:, a:b])
            parts["t2"] = t2.item()
            total = total + opts["t2_weight"] * t2
        parts_of.append(parts)
        return total

    def coherence(out, prev, n, at):
        coh = coherence_loss(out[0][:, :n], prev[0][:, at:at + n], probabilities=True)
        parts_of[-1]["coherence"] = coh.item()
        return coh

    for total in overlap_terms(clips, run, term, coherence, opts["lam"], opts["init"]):
        yield total, parts_of[-1]
    # (ASTSGD's update and the epoch sums are done by the caller once the step's clips are through)


def _record(model, parts_list: list[dict], cfg: RunConfig | None) -> None:
    """Epoch sums of the loss parts and ASTSGD's q (``astsgd.record``) under the options of ``cfg``."""
    astsgd.record(model, parts_list, options(cfg))


def update_q(model, cfg: RunConfig | None, loss_spatial: float, loss_main: float) -> float:
    """q = eq. 20 for these losses (``astsgd.update_q``); stored in the model and set in every SCS cell."""
    return astsgd.update_q(model, options(cfg), loss_spatial, loss_main)


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    """The whole loss of the batch (mean over its clips) as one graph."""
    terms = list(_terms(model, batch, cfg))
    _record(model, [p for _, p in terms], cfg)
    return sum(t for t, _ in terms) / len(terms)


def loss_backward(model, batch, cfg: RunConfig) -> float:
    """``loss`` back-propagated clip by clip (each clip's graph is freed before the next one runs)."""
    n = len(clip_plan(cfg, batch["frames"].shape[1]))
    total, parts = 0.0, []
    for term, p in _terms(model, batch, cfg):
        (term / n).backward()
        total += term.item() / n
        parts.append(p)
    _record(model, parts, cfg)
    return total


# ----------------------------------------------------------------------------------------------- build
def pretrain_config(cfg: RunConfig) -> RunConfig | None:
    """``data_kw["pretrain"]``: a 'subgoal' run of the same model (``finetune.pretrain_config``)."""
    return finetune.pretrain_config(cfg, "subgoal")


def pretrained_state(pre: RunConfig, run_dir) -> tuple[dict, Path]:
    """The final weights of the pre-training run ``pre`` beside ``run_dir``; trained here if not done."""
    if run_dir is None:
        raise ValueError("a pre-trained run needs its run directory (build(cfg, run_dir=...)) to find the "
                         "pre-training run beside it")
    return finetune.pretraining_run(pre, run_dir)


def load_pretrained(model, state: dict) -> list[str]:
    """``finetune.load_fitting`` without the task's training state (``subgoal_state``; ``q_net`` keeps its weights)."""
    fresh = finetune.load_fitting(model, state, skip="subgoal_state.")
    return fresh if getattr(model, "q_net", None) is None else (model.q_net.reset_episode() or fresh)


def build(cfg: RunConfig, run_dir=None):
    from .checkpoint import seed_everything

    opts = options(cfg)
    if opts["astsgd"] and cfg.stsgd_schedule:
        raise ValueError("ASTSGD (scheme_kw astsgd=True) and a fixed STSGD schedule exclude each other")
    init = None
    pre = pretrain_config(cfg)
    if pre is not None:
        init, _ = pretrained_state(pre, run_dir)
        seed_everything(cfg.seed)  # draws from the seed after reading the pre-training run, as always
    train_set, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=train_set.num_classes, **cfg.model_kw)
    attach_heads(model, opts, train_set.num_classes)
    if init is not None:
        model.pretrained_fresh = load_pretrained(model, init)
    if has_subgoals(model) and opts["subgoals"] and opts["t2"]:
        train_set.add_flow(cfg.data_kw.get("flow_size", 16), opts["flow_alpha"], opts["flow_iters"])
    return model, train_set, test_set, None


def test_model(cfg: RunConfig):
    """The untrained model (heads attached) and the test set, for a finished run's weights."""
    _, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=test_set.num_classes, **cfg.model_kw)
    attach_heads(model, options(cfg), test_set.num_classes)
    return model, test_set


# -------------------------------------------------------------------------------------------- evaluate
def evaluate(model, test_set, cfg: RunConfig) -> dict:
    from ..metrics import top1_accuracy

    opts = options(cfg)
    sub = has_subgoals(model)
    logits, spatial, labels = predict(model, test_set, cfg.batch_size, sub)
    out = {"test_acc": 100.0 * top1_accuracy(logits.numpy(), labels.numpy()),
           "test_loss": F.cross_entropy(logits, labels).item()}
    if spatial is not None:
        out["test_acc_spatial"] = 100.0 * top1_accuracy(spatial.numpy(), labels.numpy())
    # BN with the test batch's own statistics (per time step, as in training; running statistics untouched):
    # the sub-goal streams normalise with batch statistics in training but with the main stream's running
    # statistics in eval mode, so T^1's accuracy as trained is this one; the main accuracy is logged too
    from .sequence import batch_statistics_bn

    with batch_statistics_bn(model):
        logits_b, spatial_b, _ = predict(model, test_set, cfg.batch_size, sub)
    out["test_acc_bn_batch"] = 100.0 * top1_accuracy(logits_b.numpy(), labels.numpy())
    if spatial_b is not None:
        out["test_acc_spatial_bn_batch"] = 100.0 * top1_accuracy(spatial_b.numpy(), labels.numpy())
    out.update(astsgd.epoch_metrics(model, opts, sub))
    return out


TASK = register_task(Task("subgoal", build=build, loss=loss, evaluate=evaluate, loss_backward=loss_backward,
                          test_model=test_model))
