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
  of the backbone net) each go through a small flow head that lives in this task (``model.flow_heads``:
  1x1 conv C -> ``flow_mid`` -> ReLU -> 1x1 conv -> 2 channels (u, v)); L_flow is the MSE to the
  Horn-Schunck flow (``benchmark.data.flow``), average-pooled to the map's size, averaged over the taps
  (the released code sums them: a constant factor) and over the frames that have a previous frame (the
  first frame of a sequence or of a training window has no target). Flow is in pixels per frame at
  ``flow_size`` px (the frames downsampled to that size: smaller motions suit Horn-Schunck better).
- The streams never touch the other stream's parameters (``models/cells/scs.py``), so dr_s/dPsi_t = 0 and
  dr_t/dPsi_s = 0 hold by construction; the flow heads get gradient from T^2 only (a test checks that
  without T^2 none reaches them). The heads are built for every SCS net (also with T^2 off) so that the
  ablation variants of one seed start from the same weights.

Non-SCS nets (``lrcn_vgg16_lstm``, ``*_cbm_*``, ``*_convlstm_*``) train with the main loss (+ LTSC's
overlap term) only.

Options (``cfg.scheme_kw``; defaults in ``OPTIONS``):
- ``subgoals`` (True): add T^1 (and T^2) to the loss; ``t2`` (True): add T^2.
- ``astsgd`` (False): Advanced STSGD (eq. 19): before every training forward every SCS cell gets
  ``set_stsgd_q(model, q)`` (block the T input with prob. q, the R input with prob. 1 - q); q from eq. 20
  (``schemes.gradient.astsgd_q``: q0 0.5, alpha 1, thresh 1, InitL_g = ln(number of classes)) with L_s and
  L_g the running (exponential, ``astsgd_ema`` = 0.9 per step) means of the training losses of r_s and g.
  ``astsgd_every="step"`` (default; the released code recomputes q after every clip) updates q after every
  optimisation step; ``"epoch"`` keeps it for a whole epoch and updates it from the epoch's mean losses.
  Before the first update L_s = L_g = InitL_g, so q starts at 1 (eq. 20; Fig. 4b: "at the beginning of
  training, q is about 1"). Without sub-goals L_s is still measured (no gradient), as released. q is
  logged per epoch (``astsgd_q`` at the end, ``astsgd_q_mean`` over the steps, ``astsgd_q_start``).
  ASTSGD and a fixed-p STSGD schedule (``cfg.stsgd_schedule``, set by the loop) exclude each other.
- LTSC (``cfg.scheme = "ltsc"``, scs 5.3): the T training frames are cut by ``schemes.clips.ltsc_partition``
  into clips of ``clip_len`` (neighbours share ``overlap`` = 25% frames), run in order, each from the
  detached state the previous clip had at this clip's first time stamp (``init="timestamp"``, the paper;
  ``"previous_last"``: the released code); each clip adds ``lam`` (0.8) * the overlap MSE of eq. 23
  (``schemes.coherence``). The loss is the mean over clips; ``loss_backward`` back-propagates clip by clip.
  ``cfg.scheme = "bptt"`` trains on the whole T frames at once; "without LTSC" is ``bptt`` with
  ``data_kw["train_window"] = L``: one random window of L frames per video ("the model can only access a
  short clip", section 5.5).

Data (``cfg.data_kw``): ``dataset="builtin"`` is ``MovingShapes`` (grey frames repeated to 3 channels) in
one of ``BUILTIN_VARIANTS`` (``variant``: the cpu-scale stand-ins of Kinetics / UCF-101 / HMDB-51, see
there), ``n_train``, ``n_test``, ``T``, ``size``; the flow of every training sample is computed once at
build (``horn_schunck_batch``, the Horn-Schunck of ``benchmark.data.flow`` on a batch). Real data
(``ucf101``, ``hmdb51``, ``kinetics``): the loaders of ``benchmark/data``, ``VideoAugment`` (shorter side
``shorter``, ``size`` crop, flip, colour; centre crop at test), a random window of ``T`` frames for
training and the whole video (every ``stride``-th frame, at most ``test_max_frames``) for testing; the flow
of each video is computed once on its frames resized so that the crop becomes ``flow_size`` px and cached
(``flow.cached_flow``, ``flow_cache`` = ``<data_root>/flow_cache``); each sample takes its frames' flow
with the same crop and flip.

Pre-training (``data_kw["pretrain"]``: the config dict of a run of this task on another data set, e.g.
Kinetics before UCF-101): that run lives beside this one (``<runs>/<its experiment>/<its hash>``); if it is
not done, ``build`` trains it first (under a file lock, so parallel fine-tune runs train it once), then
starts this run from its final weights (every tensor whose shape fits: all but the classifier's last
layer), re-seeded so the result does not depend on which run trained it.

``evaluate``: top-1 of the whole video (per-frame logits averaged over every frame, from a zero state),
the spatial stream's top-1 (T^1, SCS nets), the test loss, and the epoch's training-loss parts and q.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from models import create_model
from models.cells.scs import SCSCell, set_stsgd_q

from ..config import RunConfig
from ..schemes.clips import ltsc_partition
from ..schemes.coherence import coherence_loss
from ..schemes.gradient import astsgd_q, initial_main_loss

OPTIONS = dict(subgoals=True, t2=True, t1_weight=1.0, t2_weight=1.0, t2_taps="stages", flow_mid=16,
               astsgd=False, q0=0.5, alpha=1.0, thresh=1.0, astsgd_every="step", astsgd_ema=0.9,
               lam=0.8, init="timestamp", flow_alpha=0.1, flow_iters=100)

# Built-in stand-ins of the three action data sets (cpu scale): MovingShapes, class = (shape, direction).
# Kinetics: the big pre-training set (all six shapes, 24 classes); UCF-101: three shapes (12 classes);
# HMDB-51: the three other shapes under more noise (12 classes; harder, as HMDB-51 is). Each has its own
# data seed so that the sets are not drawn from one random stream.
BUILTIN_VARIANTS = {
    "kinetics": dict(shapes=("triangle", "square", "circle", "star", "rhombus", "cross"), noise=0.2, data_seed=1),
    "ucf101": dict(shapes=("triangle", "square", "circle"), noise=0.2, data_seed=2),
    "hmdb51": dict(shapes=("star", "rhombus", "cross"), noise=0.5, data_seed=3),
}


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
    return opts


# ------------------------------------------------------------------------------------------ optical flow
def _pad_conv(x: torch.Tensor, k: torch.Tensor, pad: tuple) -> torch.Tensor:
    return F.conv2d(F.pad(x, pad, mode="replicate"), k[None, None])


def horn_schunck_batch(f0: torch.Tensor, f1: torch.Tensor, alpha: float = 0.1, iters: int = 100) -> torch.Tensor:
    """``flow.horn_schunck`` on a batch: (N, H, W) grey pairs -> (N, 2, H, W) flow (u, v) in pixels/frame.

    Same kernels and update; scipy's "reflect" border equals edge replication for these 2x2 and 3x3
    kernels (a test checks equality with ``flow.horn_schunck``)."""
    f0, f1 = f0[:, None].double(), f1[:, None].double()
    kx = torch.tensor([[-1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64) * 0.25
    ky = torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64) * 0.25
    kt = torch.ones(2, 2, dtype=torch.float64) * 0.25
    avg = torch.tensor([[1, 2, 1], [2, 0, 2], [1, 2, 1]], dtype=torch.float64) / 12.0
    two, three = (1, 0, 1, 0), (1, 1, 1, 1)  # scipy's origin for even kernels: the window ends at the pixel
    ix = _pad_conv(f0, kx, two) + _pad_conv(f1, kx, two)
    iy = _pad_conv(f0, ky, two) + _pad_conv(f1, ky, two)
    it = _pad_conv(f1, kt, two) - _pad_conv(f0, kt, two)
    u, v = torch.zeros_like(f0), torch.zeros_like(f0)
    denom = alpha ** 2 + ix ** 2 + iy ** 2
    for _ in range(iters):
        ub, vb = _pad_conv(u, avg, three), _pad_conv(v, avg, three)
        d = (ix * ub + iy * vb + it) / denom
        u, v = ub - ix * d, vb - iy * d
    return torch.cat([u, v], 1).float()


def sequence_flow(grey: torch.Tensor, flow_size: int, alpha: float = 0.1, iters: int = 100) -> torch.Tensor:
    """(N, T, H, W) grey videos -> (N, T, 2, s, s) flow from frame t-1 to t at ``flow_size`` px (t = 0: zeros)."""
    n, t, h, w = grey.shape
    g = grey if (h, w) == (flow_size, flow_size) else F.interpolate(grey, size=(flow_size, flow_size), mode="area")
    flow = horn_schunck_batch(g[:, :-1].flatten(0, 1), g[:, 1:].flatten(0, 1), alpha, iters)
    flow = flow.view(n, t - 1, 2, flow_size, flow_size)
    return torch.cat([torch.zeros_like(flow[:, :1]), flow], 1)


# ------------------------------------------------------------------------------------------------ data
class BuiltinActions(Dataset):
    """MovingShapes as a 3-channel action set with flow targets: items ``frames`` (T, 3, H, W), ``label``,
    ``flow`` (T, 2, s, s) and ``flow_valid`` (T,) (False on the first frame of the item)."""

    def __init__(self, split: str, variant: str = "ucf101", n: int = 256, T: int = 8, size: int = 32,
                 window: int | None = None, **overrides):
        from ..data.builtin_sequences import MovingShapes

        if variant not in BUILTIN_VARIANTS:
            raise ValueError(f"variant must be one of {sorted(BUILTIN_VARIANTS)}, got {variant!r}")
        v = {**BUILTIN_VARIANTS[variant], **overrides}
        self.base = MovingShapes(split, n=n, T=T, size=size, seed=v["data_seed"], shapes=v["shapes"],
                                 target="both", noise=v["noise"])
        self.num_classes, self.variant, self.window = self.base.num_classes, variant, window
        self.source = (f"{self.base.source}[{variant} stand-in: {len(v['shapes'])} shapes x 4 directions, "
                       f"noise {v['noise']}]")
        self.flow = None

    def add_flow(self, flow_size: int, alpha: float = 0.1, iters: int = 100) -> None:
        """Horn-Schunck flow of every sample, once (all frames of the set as one batch)."""
        grey = torch.from_numpy(self.base.frames[:, :, 0])
        self.flow = sequence_flow(grey, flow_size, alpha, iters)

    def fingerprint(self) -> str:
        return self.base.fingerprint()

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        frames = torch.from_numpy(self.base.frames[i]).expand(-1, 3, -1, -1).contiguous()
        T = frames.shape[0]
        a, b = 0, T
        if self.window is not None and self.window < T:  # one random training window (torch's seeded RNG)
            a = int(torch.randint(0, T - self.window + 1, ()).item())
            b = a + self.window
        item = {"frames": frames[a:b], "label": torch.as_tensor(int(self.base.labels[i]))}
        if self.flow is not None:
            item["flow"] = self.flow[i, a:b]
            valid = torch.ones(b - a, dtype=torch.bool)
            valid[0] = False
            item["flow_valid"] = valid
        return item


class _Window:
    """Sampling callable for the video loaders: a random window of T frames (train; short videos repeat
    their last frame) or every frame up to ``max_frames`` (test). Keeps the last indices it gave."""

    def __init__(self, T: int | None, train: bool, max_frames: int | None = None, seed: int = 0):
        self.T, self.train, self.max_frames = T, train, max_frames
        self.generator = np.random.default_rng(seed)
        self.last = None

    def __call__(self, n: int) -> np.ndarray:
        from ..data.augment import worker_generator

        if self.train:
            start = int(worker_generator(self).integers(0, max(1, n - self.T + 1)))
            idx = np.minimum(start + np.arange(self.T), n - 1)
        else:
            idx = np.arange(n if self.max_frames is None else min(n, self.max_frames))
        self.last = idx
        return idx


class RealActions(Dataset):
    """UCF-101 / HMDB-51 (split ``split``) / Kinetics-400 clips with per-video cached flow targets."""

    def __init__(self, name: str, root: str, train: bool, T: int = 25, size: int = 224, shorter: int = 368,
                 flow_size: int = 56, stride: int = 1, test_max_frames: int | None = None, split: int = 1,
                 frames: bool = False, flow_cache: str | None = None, seed: int = 0, window: int | None = None):
        from ..data.augment import VideoAugment

        self.sampler = _Window(window or T, train, test_max_frames, seed)
        self.augment = VideoAugment(crop=size, train=train, shorter=shorter,
                                    generator=np.random.default_rng(seed + 1))
        kw = dict(transform=self.augment, sampling=self.sampler, stride=stride, as_float=True, frames=frames)
        if name == "ucf101":
            from ..data.ucf101 import UCF101

            self.base = UCF101(root, split=split, subset="train" if train else "test", **kw)
        elif name == "hmdb51":
            from ..data.hmdb51 import HMDB51

            self.base = HMDB51(root, split=split, subset="train" if train else "test", **kw)
        elif name == "kinetics":
            from ..data.kinetics import Kinetics400

            kw.pop("frames")
            self.base = Kinetics400(root, subset="train" if train else "val", **kw)
        else:
            raise ValueError(f"no action loader for data set {name!r}")
        self.num_classes, self.source = len(self.base.classes), name
        self.size, self.shorter, self.flow_size = size, shorter, flow_size
        self.flow_cache = Path(flow_cache or Path(root) / "flow_cache")
        self.with_flow, self.flow_alpha, self.flow_iters = False, 0.1, 100

    def add_flow(self, flow_size: int, alpha: float = 0.1, iters: int = 100) -> None:
        self.with_flow, self.flow_size, self.flow_alpha, self.flow_iters = True, flow_size, alpha, iters

    @property
    def skipped_count(self) -> int:
        return self.base.skipped_count

    def __len__(self) -> int:
        return len(self.base)

    def _video_flow(self, path: str) -> np.ndarray:
        """(N - 1, 2, h, w) flow of the whole video (``flow.flow_sequence``) on its frames resized so that
        the crop is ``flow_size`` px; computed once per video and kept in ``flow_cache``."""
        import hashlib

        from ..data.augment import resize_shorter
        from ..data.flow import flow_sequence

        low = int(round(self.shorter * self.flow_size / self.size))
        key = f"{path}|stride={self.base.stride}|shorter={low}|{self.flow_alpha}|{self.flow_iters}"
        file = self.flow_cache / f"video_flow_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
        if file.exists():
            return np.load(file, mmap_mode="r")
        flow = flow_sequence(resize_shorter(self.base.read(path), low), self.flow_alpha, self.flow_iters)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp.npy")
        np.save(tmp, flow.astype(np.float32))
        tmp.replace(file)
        return flow

    def __getitem__(self, i):
        item = self.base[i]
        out = {"frames": item["frames"], "label": torch.as_tensor(int(item["label"]))}
        if self.with_flow:
            idx, p = self.sampler.last, self.augment.last_params
            flow = self._video_flow(item["video"])                       # (N - 1, 2, h, w)
            s = self.flow_size / self.size
            y0, x0 = int(round(p["y0"] * s)), int(round(p["x0"] * s))
            f = np.zeros((len(idx), 2, self.flow_size, self.flow_size), np.float32)
            valid = np.zeros(len(idx), bool)
            for k, t in enumerate(idx):
                if k > 0 and t >= 1 and idx[k - 1] == t - 1:             # flow from the previous frame
                    crop = flow[t - 1, :, y0:y0 + self.flow_size, x0:x0 + self.flow_size]
                    if crop.shape[-2:] == (self.flow_size, self.flow_size):
                        f[k], valid[k] = crop, True
            if p["flip"]:
                f = f[..., ::-1].copy()
                f[:, 0] *= -1
            out["flow"], out["flow_valid"] = torch.from_numpy(f), torch.from_numpy(valid)
        return out


def datasets(cfg: RunConfig):
    """(train, test) sets of ``cfg`` (no flow yet: ``build`` adds it where T^2 needs it)."""
    kw = dict(cfg.data_kw)
    kw.pop("pretrain", None)
    window = kw.pop("train_window", None)
    kw.pop("flow_size", None)
    if cfg.dataset == "builtin":
        n_train, n_test = kw.pop("n_train"), kw.pop("n_test")
        return (BuiltinActions("train", n=n_train, window=window, **kw),
                BuiltinActions("test", n=n_test, **kw))
    if cfg.dataset not in ("ucf101", "hmdb51", "kinetics"):
        raise ValueError(f"task 'subgoal' has no loader for dataset {cfg.dataset!r}")
    return (RealActions(cfg.dataset, cfg.data_root, True, window=window, seed=cfg.seed, **kw),
            RealActions(cfg.dataset, cfg.data_root, False, seed=cfg.seed, **kw))


# ------------------------------------------------------------------------------------- model helpers
def _unwrap(model):
    return getattr(model, "module", model)  # a DDP wrapper's model


def scs_cells(model) -> list:
    return [m for m in _unwrap(model).modules() if isinstance(m, SCSCell)]


def has_subgoals(model) -> bool:
    """An SCS net whose cells keep the sub-goal streams (T^1 / T^2 can be computed)."""
    cells = scs_cells(model)
    return bool(cells) and all(c.sub_goals for c in cells)


def tap_cells(model, taps="stages") -> list[int]:
    """Indices (in ``model.rnn.cells``) of the cells whose temporal stream feeds T^2's flow heads.

    ``"stages"``: the last cell of every run of cells of one width (stand-alone 17: 4, 8, 12, 16, the
    released taps); where that gives a single cell (backbone 15: one width), the last cell of every block
    (4, 9, 14). ``"top"``: the last cell. A list: those cells."""
    rnn = _unwrap(model).rnn
    n = len(rnn.cells)
    if taps == "top":
        return [n - 1]
    if taps != "stages":
        return [int(i) % n for i in taps]
    widths = [c.hidden_channels for c in rnn.cells]
    out = [i for i in range(n) if i == n - 1 or widths[i + 1] != widths[i]]
    if len(out) == 1 and hasattr(rnn, "block_ranges"):
        out = [r[-1] for r in rnn.block_ranges()]
    return out


class FlowHead(nn.Module):
    """T^2's head on one temporal-stream map: 1x1 conv -> ReLU -> 1x1 conv to (u, v)."""

    def __init__(self, in_channels: int, mid: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, mid, 1), nn.ReLU(), nn.Conv2d(mid, 2, 1))

    def forward(self, x):
        return self.net(x)


class SubgoalState(nn.Module):
    """Training state kept in the model (so it is checkpointed and resumed with it): ASTSGD's q and its
    running losses, and the epoch's sums of the loss parts (read and reset by ``evaluate``)."""

    PARTS = ("main", "t1", "t2", "coherence", "q")

    def __init__(self, init_loss: float):
        super().__init__()
        self.init_loss = float(init_loss)
        for name, value in (("q", 1.0), ("ema_spatial", init_loss), ("ema_main", init_loss), ("q_start", -1.0)):
            self.register_buffer(name, torch.tensor(float(value), dtype=torch.float64))
        for p in self.PARTS:
            self.register_buffer(f"sum_{p}", torch.zeros((), dtype=torch.float64))
            self.register_buffer(f"n_{p}", torch.zeros((), dtype=torch.float64))

    def add(self, part: str, value: float) -> None:
        getattr(self, f"sum_{part}").add_(float(value))
        getattr(self, f"n_{part}").add_(1.0)

    def mean(self, part: str) -> float:
        n = float(getattr(self, f"n_{part}"))
        return float(getattr(self, f"sum_{part}")) / n if n else float("nan")

    def reset_epoch(self) -> None:
        for p in self.PARTS:
            getattr(self, f"sum_{p}").zero_()
            getattr(self, f"n_{p}").zero_()
        self.q_start.fill_(-1.0)


def attach_heads(model, opts: dict, num_classes: int):
    """Add the task's parts to a built model: ``subgoal_state`` always, ``flow_heads`` for SCS nets."""
    model.add_module("subgoal_state", SubgoalState(initial_main_loss(num_classes)))
    if has_subgoals(model):
        taps = tap_cells(model, opts["t2_taps"])
        model.tap_indices = taps
        model.add_module("flow_heads", nn.ModuleList(
            FlowHead(model.rnn.cells[i].hidden_channels, opts["flow_mid"]) for i in taps))
    return model


@contextmanager
def capture_temporal(model, indices):
    """Collect, per tap cell and call (time step), the cell's temporal-stream output (SCSState.temporal)."""
    got = {i: [] for i in indices}
    hooks = [model.rnn.cells[i].register_forward_hook(
        lambda mod, inp, out, i=i: got[i].append(out[1].temporal)) for i in indices]
    try:
        yield got
    finally:
        for h in hooks:
            h.remove()


def _video_logits(model, frame_logits: torch.Tensor) -> torch.Tensor:
    fn = getattr(_unwrap(model), "video_logits", None)
    return fn(frame_logits) if fn is not None else frame_logits.mean(1)


def _run(net, frames, states, streams: bool, taps):
    """One forward over ``frames`` (B, T, ...) from ``states``: (logits, spatial logits or None,
    [temporal maps (B, T, C, h, w) per tap] or None, final states)."""
    model = _unwrap(net)
    if not streams:
        out = net(frames, states, return_states=True)
        logits, states = out if isinstance(out, tuple) else (out, None)
        return logits, None, None, states
    with capture_temporal(model, taps or []) as got:
        out, states = net(frames, states, return_states=True, return_streams=True)
    temporal = [torch.stack(got[i], 1) for i in taps] if taps else None
    return out["logits"], out["spatial_logits"], temporal, states


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


from .sequence import _detach  # noqa: E402  (one state-detaching helper for every clip scheme)


def _cat_time(parts):
    if parts[0] is None:
        return None
    if isinstance(parts[0], list):
        return [torch.cat(ps, 1) for ps in zip(*parts)]
    return torch.cat(parts, 1)


# ------------------------------------------------------------------------------------------------ loss
def clip_plan(cfg: RunConfig | None, T: int) -> list[tuple[int, int]]:
    if cfg is None or cfg.scheme == "bptt":
        return [(0, T)]
    if cfg.scheme != "ltsc":
        raise ValueError(f"task 'subgoal' trains with scheme 'bptt' or 'ltsc', got {cfg.scheme!r}")
    L = cfg.scheme_kw["clip_len"]
    return ltsc_partition(T, L, cfg.scheme_kw.get("overlap", max(1, round(L * 0.25))))


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
        set_stsgd_q(model, float(model.subgoal_state.q))
    clips = clip_plan(cfg, frames.shape[1])
    handed, prev = None, None
    for i, (a, b) in enumerate(clips):
        nxt = clips[i + 1][0] if i + 1 < len(clips) else None
        cuts = [a, nxt, b] if (opts["init"] == "timestamp" and nxt is not None and a < nxt < b) else [a, b]
        outs, states = [], handed
        for s, e in zip(cuts, cuts[1:]):
            outs.append(_run(net, frames[:, s:e], states, streams, taps))
            states = outs[-1][3]
            if e == nxt:
                handed = _detach(states)        # the state at the next clip's first time stamp (the paper)
        if nxt is not None and cuts == [a, b]:
            handed = _detach(states)            # released: the previous clip's last state
        logits = _cat_time([o[0] for o in outs])
        spatial = _cat_time([o[1] for o in outs])
        temporal = _cat_time([o[2] for o in outs])
        parts = {}
        main = F.cross_entropy(_video_logits(model, logits), label)
        parts["main"] = main.item()
        total = main
        if spatial is not None:
            t1 = F.cross_entropy(_video_logits(model, spatial), label)
            parts["t1"] = t1.item()
            if use_sub:
                total = total + opts["t1_weight"] * t1
        if use_t2 and temporal is not None:
            t2 = flow_loss(model.flow_heads, temporal, batch["flow"][:, a:b], batch["flow_valid"][:, a:b])
            parts["t2"] = t2.item()
            total = total + opts["t2_weight"] * t2
        if prev is not None and a < prev[0]:
            n = prev[0] - a
            coh = coherence_loss(logits[:, :n], prev[1][:, -n:], probabilities=True)
            parts["coherence"] = coh.item()
            total = total + opts["lam"] * coh
        prev = (b, logits.detach())
        yield total, parts
    # (ASTSGD's update and the epoch sums are done by the caller once the step's clips are through)


def _record(model, parts_list: list[dict], cfg: RunConfig | None) -> None:
    """Epoch sums of the loss parts; ASTSGD's q from eq. 20 on the running losses (per step)."""
    model = _unwrap(model)
    state = getattr(model, "subgoal_state", None)
    if state is None or not model.training:
        return
    opts = options(cfg)
    means = {k: float(np.mean([p[k] for p in parts_list if k in p])) for k in ("main", "t1", "t2", "coherence")
             if any(k in p for p in parts_list)}
    for k, v in means.items():
        state.add(k, v)
    if not (opts["astsgd"] and has_subgoals(model)):
        return
    if float(state.q_start) < 0:
        state.q_start.fill_(float(state.q))
    state.add("q", float(state.q))
    m = opts["astsgd_ema"]
    state.ema_main.mul_(m).add_((1 - m) * means["main"])
    state.ema_spatial.mul_(m).add_((1 - m) * means["t1"])
    if opts["astsgd_every"] == "step":
        update_q(model, cfg, float(state.ema_spatial), float(state.ema_main))


def update_q(model, cfg: RunConfig | None, loss_spatial: float, loss_main: float) -> float:
    """q = eq. 20 (``astsgd_q``) for these losses; stored in the model and set in every SCS cell."""
    opts, state = options(cfg), _unwrap(model).subgoal_state
    q = astsgd_q(loss_spatial, loss_main, state.init_loss, q0=opts["q0"], alpha=opts["alpha"],
                 thresh=opts["thresh"])
    state.q.fill_(q)
    set_stsgd_q(_unwrap(model), q)
    return q


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
    spec = cfg.data_kw.get("pretrain")
    if not spec:
        return None
    pre = RunConfig.from_dict({**spec, "threads": cfg.threads})
    if pre.task != "subgoal" or pre.model != cfg.model or pre.data_kw.get("pretrain"):
        raise ValueError("data_kw['pretrain'] must be a 'subgoal' run of the same model, itself not pre-trained")
    return pre


def pretrained_state(pre: RunConfig, run_dir) -> tuple[dict, Path]:
    """The final weights of the pre-training run ``pre`` beside ``run_dir``; trained here if not done."""
    import fcntl

    from ..results import run_dir as dir_of, run_status, write_config
    from .checkpoint import read_checkpoint
    from .loop import CHECKPOINT_FILE, run_training

    if run_dir is None:
        raise ValueError("a pre-trained run needs its run directory (build(cfg, run_dir=...)) to find the "
                         "pre-training run beside it")
    path = dir_of(Path(run_dir).parent.parent, pre)
    if run_status(path) != "done":
        path.mkdir(parents=True, exist_ok=True)
        write_config(path, pre)
        with open(path / "pretrain.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # a parallel fine-tune run may be training it: wait for it
            if run_status(path) != "done":
                run_training(pre, path, progress=False)
    ckpt = read_checkpoint(path / CHECKPOINT_FILE)
    return ckpt["model"], path


def load_pretrained(model, state: dict) -> list[str]:
    """Copy every tensor of ``state`` whose name and shape fit (not the task's training state); returns
    the names left at their fresh values (the classifier's last layer when the class counts differ)."""
    own = model.state_dict()
    fit = {k: v for k, v in state.items()
           if k in own and own[k].shape == v.shape and not k.startswith("subgoal_state.")}
    model.load_state_dict(fit, strict=False)
    return sorted(k for k in own if k not in fit and not k.startswith("subgoal_state."))


def build(cfg: RunConfig, run_dir=None):
    from .checkpoint import seed_everything

    opts = options(cfg)
    if opts["astsgd"] and cfg.stsgd_schedule:
        raise ValueError("ASTSGD (scheme_kw astsgd=True) and a fixed STSGD schedule exclude each other")
    init = None
    pre = pretrain_config(cfg)
    if pre is not None:
        init, _ = pretrained_state(pre, run_dir)
        seed_everything(cfg.seed)  # the same fine-tune run whether or not the pre-training ran just now
    train_set, test_set = datasets(cfg)
    model = create_model(cfg.model, num_classes=train_set.num_classes, **cfg.model_kw)
    attach_heads(model, opts, train_set.num_classes)
    if init is not None:
        model.pretrained_fresh = load_pretrained(model, init)
    if has_subgoals(model) and opts["subgoals"] and opts["t2"]:
        train_set.add_flow(cfg.data_kw.get("flow_size", 16), opts["flow_alpha"], opts["flow_iters"])
    return model, train_set, test_set, None


# -------------------------------------------------------------------------------------------- evaluate
@torch.no_grad()
def predict(model, dataset, batch_size: int = 32, streams: bool = False):
    """Per-video logits (whole video, zero state) and, with ``streams``, the spatial stream's; a batch whose
    videos differ in length (real data) runs video by video."""
    logits, spatial, labels = [], [], []
    for i in range(0, len(dataset), batch_size):
        items = [dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]
        same = all(it["frames"].shape == items[0]["frames"].shape for it in items)
        for group in ([items] if same else [[it] for it in items]):
            frames = torch.stack([it["frames"] for it in group])
            if streams:
                out = model(frames, return_streams=True)
                logits.append(_video_logits(model, out["logits"]))
                spatial.append(_video_logits(model, out["spatial_logits"]))
            else:
                out = model(frames)
                logits.append(_video_logits(model, out[0] if isinstance(out, tuple) else out))
            labels.append(torch.stack([it["label"] for it in group]))
    return torch.cat(logits), (torch.cat(spatial) if spatial else None), torch.cat(labels)


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
    state = getattr(model, "subgoal_state", None)
    if state is not None:
        for k in ("main", "t1", "t2", "coherence"):
            if float(getattr(state, f"n_{k}")):
                out[f"train_loss_{k}"] = state.mean(k)
        if sub and opts["astsgd"]:
            if opts["astsgd_every"] == "epoch" and float(state.n_t1):  # q for the next epoch
                out["astsgd_q_start"] = float(state.q)
                out["astsgd_q_mean"] = float(state.q)
                update_q(model, cfg, state.mean("t1"), state.mean("main"))
            else:
                out["astsgd_q_start"] = float(state.q_start)
                out["astsgd_q_mean"] = state.mean("q")
            out["astsgd_q"] = float(state.q)
        state.reset_epoch()
    return out
