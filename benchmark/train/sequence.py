"""Frame-sequence classification (the toy experiments) under any sequence scheme.

Labels are per sequence (moving shapes: the logits are averaged over time) or per frame (gap
sequences: distance to the odd frame, learnt by regression: one output per frame, the distance divided
by ``max_gap``, -1/``max_gap`` before the odd frame; MSE loss; the reported error is
|round(prediction) - distance| in frames). Schemes (``cfg.scheme``, options in ``cfg.scheme_kw``):

- ``bptt``: the whole sequence, full back-propagation through time.
- ``clips``: plain short clips of ``clip_len`` frames, each from a zero state (the weak baseline).
- ``overlap`` (deeprnn 3.2) / ``ltsc`` (scs 5.3, same mechanics; ``batched=True`` computes every initialised
  clip together as one batch, see ``_batched_overlap_loss``): overlapping clips (``clip_len``,
  ``overlap_rate`` = 0.25, ``clips`` = S or all; ``random=True`` draws random lengths and starts), run in
  order; clip i starts from a detached state of clip i-1: ``init="timestamp"`` (default, the paper: the
  state clip i-1 had at clip i's first time stamp) or ``"previous_last"`` (the released code: clip
  i-1's final state); loss = task loss + ``lam`` * MSE between the softmax outputs of the overlapping
  frames, the earlier clip detached (``lam`` 0.8 as in the CBM paper).
Evaluation always runs the whole sequence from a zero state.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models import create_model

from ..config import RunConfig
from ..schemes.clips import backward_terms
from ..schemes.clips import clip_plan as plan_clips
from ..schemes.coherence import coherence_loss
from ..schemes.overlap import detach_state, overlap_terms
from .task import Task, register_task


def datasets(cfg: RunConfig):
    from ..data.builtin_sequences import GapSequences, MovingShapes

    kw = dict(cfg.data_kw)
    gen = kw.pop("generator")
    test_kw = kw.pop("test_kw", {})
    n_train, n_test = kw.pop("n_train"), kw.pop("n_test")
    cls = {"moving_shapes": MovingShapes, "gap": GapSequences}[gen]
    return cls("train", n=n_train, **kw), cls("test", n=n_test, **{**kw, **test_kw})


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    outputs = 1 if _is_regression(train_set) else train_set.num_classes
    model = create_model(cfg.model, num_classes=outputs, **cfg.model_kw)
    return model, train_set, test_set, None


def test_model(cfg: RunConfig):
    """The untrained model and the test set, for a finished run's weights."""
    _, test_set = datasets(cfg)
    outputs = 1 if _is_regression(test_set) else test_set.num_classes
    return create_model(cfg.model, num_classes=outputs, **cfg.model_kw), test_set


def _is_regression(dataset) -> bool:
    return hasattr(dataset, "max_gap")


def _distance_target(label: torch.Tensor, max_gap: int) -> torch.Tensor:
    """Class 0 ("not seen yet") -> -1, class d + 1 -> d; scaled by 1/max_gap."""
    return (label - 1).float() / max_gap


def _task_loss(logits: torch.Tensor, label: torch.Tensor, max_gap: int) -> torch.Tensor:
    if label.dim() == 1:  # one label per sequence: logits averaged over time
        return F.cross_entropy(logits.mean(dim=1), label)
    if logits.shape[-1] == 1:  # per-frame distance regression
        return F.mse_loss(logits.squeeze(-1), _distance_target(label, max_gap))
    return F.cross_entropy(logits.flatten(0, 1), label.flatten())


def _slice_label(label: torch.Tensor, a: int, b: int) -> torch.Tensor:
    return label if label.dim() == 1 else label[:, a:b]


def clip_plan(cfg: RunConfig, T: int) -> list[tuple[int, int]]:
    """The clips of a sequence of T frames (``schemes.clips.clip_plan``, the one planner)."""
    return plan_clips(cfg.scheme, cfg.scheme_kw, T, task="sequence")


def loss(model, batch, cfg: RunConfig | None = None) -> torch.Tensor:
    frames, label = batch["frames"], batch["label"]
    scheme = cfg.scheme if cfg is not None else "bptt"
    max_gap = cfg.data_kw.get("max_gap", 50) if cfg is not None else 50
    if scheme == "bptt":
        logits, _ = model(frames)
        return _task_loss(logits, label, max_gap)
    clips = clip_plan(cfg, frames.shape[1])
    if scheme == "clips":
        return sum(_task_loss(model(frames[:, a:b])[0], _slice_label(label, a, b), max_gap)
                   for a, b in clips) / len(clips)
    lam, init = cfg.scheme_kw.get("lam", 0.8), cfg.scheme_kw.get("init", "timestamp")
    if cfg.scheme_kw.get("batched"):
        return _batched_overlap_loss(model, frames, label, clips, lam, max_gap)
    return sum(_overlap_terms(model, frames, label, clips, lam, init, max_gap)) / len(clips)


def _overlap_terms(model, frames, label, clips, lam, init, max_gap):
    """Each clip's loss (task loss + lam * coherence with the clip before), in clip order
    (``schemes.overlap``: one clip's graph per term, so ``loss_backward`` holds one clip's activations)."""
    def run(a, b, state0, cut):
        logits, states = model(frames[:, a:b], state0, keep_states=True)
        return logits, None if cut is None else states[cut - a - 1], states[-1]

    def coherence(out, prev, n, at):  # regression: raw outputs
        return coherence_loss(out[:, :n], prev[:, at:at + n], probabilities=out.shape[-1] > 1)

    return overlap_terms(clips, run, lambda logits, a, b: _task_loss(logits, _slice_label(label, a, b), max_gap),
                         coherence, lam, init)


def loss_backward(model, batch, cfg: RunConfig) -> float:
    """Loss and its gradients with the least memory: the overlap / LTSC schemes back-propagate clip by
    clip (memory flat in the sequence length); every other scheme back-propagates its loss once."""
    if cfg.scheme not in ("overlap", "ltsc") or cfg.scheme_kw.get("batched"):
        value = loss(model, batch, cfg)
        value.backward()
        return value.item()
    clips = clip_plan(cfg, batch["frames"].shape[1])
    return backward_terms(_overlap_terms(model, batch["frames"], batch["label"], clips, cfg.scheme_kw.get("lam", 0.8),
                                         cfg.scheme_kw.get("init", "timestamp"), cfg.data_kw.get("max_gap", 50)),
                          len(clips))


def _map_states(fn, *trees):
    """Apply ``fn`` leaf-wise over matching state trees (tensors in lists/tuples/NamedTuples, or None)."""
    first = trees[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return fn(*trees)
    out = [_map_states(fn, *leaves) for leaves in zip(*trees)]
    return type(first)(*out) if hasattr(first, "_fields") else type(first)(out)


def _batched_overlap_loss(model, frames, label, clips, lam, max_gap):
    """``scheme_kw["batched"]``: every initialised clip computed together as one batch.

    A no-grad pass over the whole sequence gives the state at every time stamp (BN running statistics are
    left untouched); then all clips, each started from the (detached) state at its first time stamp, run
    as one batch of B x S sequences with gradients; the coherence term pairs each clip with the one before
    (the earlier clip detached). In eval mode this equals the sequential ``init="timestamp"`` scheme
    exactly (a test checks it); in training, TD draws and BN batch statistics are per batch of clips."""
    lengths = {b - a for a, b in clips}
    if len(lengths) != 1:
        raise ValueError("batched overlap clips need clips of one length (the released L x S scheme)")
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    with torch.no_grad():
        for m in bns:
            m.momentum = 0.0  # the warm pass must not move the running statistics
        try:
            _, every = model(frames, keep_states=True)
        finally:
            for m, mom in zip(bns, saved):
                m.momentum = mom
    B, S = frames.shape[0], len(clips)
    starts = [None if a == 0 else detach_state(every[a - 1]) for a, _ in clips]
    if starts[0] is None:  # the first clip starts from zeros: build them from a later clip's shapes
        ref = next(s for s in starts if s is not None) if S > 1 else None
        starts[0] = None if ref is None else _map_states(torch.zeros_like, ref)
    init = None if starts[0] is None else _map_states(lambda *xs: torch.cat(xs), *starts)
    batch = torch.cat([frames[:, a:b] for a, b in clips])           # (S * B, L, ...), clip-major
    logits, _ = model(batch, init)
    logits = logits.view(S, B, *logits.shape[1:])
    total = sum(_task_loss(logits[i], _slice_label(label, a, b), max_gap) for i, (a, b) in enumerate(clips))
    for i in range(1, S):
        (pa, pb), (a, _) = clips[i - 1], clips[i]
        if a < pb:
            n = pb - a
            total = total + lam * coherence_loss(logits[i][:, :n], logits[i - 1][:, a - pa:a - pa + n],
                                                 probabilities=logits.shape[-1] > 1)
    return total / S


@torch.no_grad()
def predict(model, dataset, batch_size: int = 32):
    logits, labels = [], []
    for i in range(0, len(dataset), batch_size):
        items = [dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]
        frames = torch.stack([it["frames"] for it in items])
        logits.append(model(frames)[0])
        labels.append(torch.stack([it["label"] for it in items]))
    return torch.cat(logits), torch.cat(labels)


class batch_statistics_bn:
    """Context: BatchNorm layers normalise with the evaluated batch's own statistics (per time step, as
    in training) and leave their running averages untouched; everything else stays in eval mode.

    Why: the cells' BN statistics are per time step (as released) and the state's distribution drifts
    along a long sequence, so running averages pooled over every step describe no single step; on the
    gap sequences that mismatch alone turns a 3-frame error into 30 (measured). ``eval_bn="running"``
    (scheme_kw) keeps the usual eval mode; both are logged."""

    def __init__(self, model):
        self.bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]

    def __enter__(self):
        self.saved = [(m.momentum, m.training) for m in self.bns]
        for m in self.bns:
            m.momentum, m.training = 0.0, True  # momentum 0: running stats unchanged

    def __exit__(self, *exc):
        for m, (mom, tr) in zip(self.bns, self.saved):
            m.momentum, m.training = mom, tr


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    """Test metrics; for per-frame tasks both BN modes are reported, the one named by
    ``scheme_kw['eval_bn']`` (default "batch") without suffix, the other with ``_bn_<mode>``."""
    primary = cfg.scheme_kw.get("eval_bn", "batch")
    out = {}
    for mode in (primary, "running" if primary == "batch" else "batch"):
        if mode == "batch":
            with batch_statistics_bn(model):
                m = _metrics(model, test_set, cfg)
        else:
            m = _metrics(model, test_set, cfg)
        out.update(m if mode == primary else {f"{k}_bn_{mode}": v for k, v in m.items()})
    return out


def _metrics(model, test_set, cfg: RunConfig) -> dict:
    logits, labels = predict(model, test_set, cfg.batch_size)
    if labels.dim() == 1:
        return {"test_acc": 100.0 * (logits.mean(1).argmax(-1) == labels).float().mean().item()}
    if logits.shape[-1] == 1:  # regression: predicted distance in frames, "not seen" = -1
        pred = (logits.squeeze(-1) * test_set.max_gap).round().clamp(-1, test_set.max_gap).long() + 1
    else:
        pred = logits.argmax(-1)
    out = {"test_acc": 100.0 * (pred == labels).float().mean().item()}
    # distance error: class 0 = "not seen yet" (distance -1), class d + 1 = distance d
    err = ((pred - 1) - (labels - 1)).abs().float()
    for lo, hi in ((0, 9), (10, 19), (20, 29), (30, 50)):
        mask = (labels - 1 >= lo) & (labels - 1 <= hi)
        if mask.any():
            out[f"err_gap_{lo}_{hi}"] = err[mask].mean().item()
    return out


TASK = register_task(Task("sequence", build=build, loss=loss, evaluate=evaluate, loss_backward=loss_backward,
                          test_model=test_model))
