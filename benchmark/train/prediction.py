"""Video future prediction (deeprnn section 4.3, Table 4): ``n_in`` observed frames -> the next frames.

Data (``cfg.data_kw``): ``n_in`` observed frames (10), ``n_out`` frames predicted in training (10, as
MCnet trains on KTH), ``n_out_test`` frames predicted at test (20, Table 4's T1..T20), ``size`` (a
multiple of 8). ``cfg.dataset == "builtin"``: ``source="motion"``: :class:`benchmark.data.motion_clips.
MotionClips` (windows with motion from every packaged video, clip-level split; ``n_train``, ``n_test``,
``seed``); other sources: :class:`benchmark.data.builtin_video.VideoClips` (grey clips of vtest.avi, else
bikes.mp4, else moving digits; ``n_train``, ``n_test``, ``source``, ``frame_stride``, ``seed``); ``"kth"``: :class:`benchmark.data.kth.KTH` under ``cfg.data_root`` (MCnet protocol: persons 1-16
train with one random window per action range per epoch, 17-25 test with fixed non-overlapping windows;
optional ``n_train`` / ``n_test`` keep the first items). Frames come in [0, 1].

Models: the MCnet family (``mcnet_convlstm``, ``mcnet_cbm15``: frames in [-1, 1], tanh output) and the
Shi et al. ConvLSTM encoder-decoder (``nowcast_convlstm``: frames in [0, 1], sigmoid output), the
"ConvLSTM [50]" row; with ``residual=True`` (the cpu scale) each gives the last frame plus a change instead
(no tanh / sigmoid; the metrics clamp to [0, 1]). Each model gets frames in its own range; the loss and the metrics see one range.

Loss (MCnet's image loss, on [-1, 1] frames as MCnet): ``L_img = L_2 + gdl * L_gdl`` with
``L_2 = mean((x_hat - x)^2)`` and the image-gradient-difference loss
``L_gdl = mean(| |dx x| - |dx x_hat| |^a) + mean(| |dy x| - |dy x_hat| |^a)`` over horizontal / vertical
neighbour differences (``cfg.scheme_kw``: ``gdl`` = 1.0 as MCnet's lambda, 0 turns it off; ``gdl_alpha``
= 1 as MCnet). Choice: differences inside the image only (MCnet's TF code pads the border with zeros,
which adds a border term). MCnet's adversarial term (beta = 0.02) is not used: deeprnn swaps only the
motion RNN and Table 4 compares the nets, the suite trains no discriminator.

Evaluation: every test clip predicted ``n_out_test`` frames ahead from its ``n_in`` frames; PSNR and SSIM
(``benchmark.metrics``, data range 1 on [0, 1] frames) at each step T1..Tn, averaged over clips, and their
mean over steps (``psnr_T1`` ... ``psnr_avg``, ``ssim_T1`` ... ``ssim_avg``), plus ``test_mse``.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Subset

from models import create_model
from models.nets.mcnet import MCNet

from ..config import RunConfig
from ..metrics import per_step, psnr, ssim
from .task import Task, register_task


def datasets(cfg: RunConfig):
    kw = cfg.data_kw
    n_in, n_out, n_test_out = kw["n_in"], kw["n_out"], kw.get("n_out_test", kw["n_out"])
    if cfg.dataset == "builtin" and kw.get("source") == "motion":
        from ..data.motion_clips import MotionClips

        common = dict(n_in=n_in, size=kw["size"], seed=kw.get("seed", 0))
        return (MotionClips("train", n=kw["n_train"], n_out=n_out, **common),
                MotionClips("test", n=kw["n_test"], n_out=n_test_out, **common))
    if cfg.dataset == "builtin":
        from ..data.builtin_video import VideoClips

        common = dict(n_in=n_in, size=kw["size"], seed=kw.get("seed", 0), source=kw.get("source", "auto"),
                      frame_stride=kw.get("frame_stride", 1))
        return (VideoClips("train", n=kw["n_train"], n_out=n_out, **common),
                VideoClips("test", n=kw["n_test"], n_out=n_test_out, **common))
    from ..data.kth import KTH

    protocol = kw.get("protocol", "mcnet")
    train = KTH(cfg.data_root, "train", protocol=protocol, size=kw["size"], n_in=n_in, n_out=n_out,
                random_start=True, generator=np.random.default_rng(cfg.seed))
    test = KTH(cfg.data_root, "test", protocol=protocol, size=kw["size"], n_in=n_in, n_out=n_test_out,
               step=kw.get("test_step"))
    if kw.get("n_train"):
        train = Subset(train, range(min(kw["n_train"], len(train))))
    if kw.get("n_test"):
        test = Subset(test, range(min(kw["n_test"], len(test))))
    return train, test


def collate(items: list[dict]) -> dict:
    """Stack the frames; KTH items also carry paths and ranges, which training does not need."""
    return {"inputs": torch.stack([it["inputs"] for it in items]),
            "targets": torch.stack([it["targets"] for it in items])}


def build(cfg: RunConfig, run_dir=None):
    train_set, test_set = datasets(cfg)
    kw = dict(cfg.model_kw)
    if cfg.model.startswith("mcnet"):
        kw.setdefault("n_in", cfg.data_kw["n_in"])
    model = create_model(cfg.model, n_out=cfg.data_kw["n_out"], **kw)
    return model, train_set, test_set, collate


def signed_range(model) -> bool:
    """True for nets that take and give frames in [-1, 1] (MCnet), False for [0, 1] (sigmoid nets)."""
    m = getattr(model, "module", model)  # a DDP wrapper
    return isinstance(m, MCNet)


def predict_frames(model, inputs: torch.Tensor, n_out: int) -> torch.Tensor:
    """(B, n_in, C, H, W) in [0, 1] -> (B, n_out, C, H, W) predictions in [-1, 1] (the loss's range)."""
    if signed_range(model):
        return model(inputs * 2 - 1, n_out)
    return model(inputs, n_out) * 2 - 1


def gdl_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """MCnet's gradient difference loss over the last two (H, W) axes, differences inside the image."""
    terms = []
    for dim in (-1, -2):
        dp, dt = pred.diff(dim=dim).abs(), target.diff(dim=dim).abs()
        terms.append((dt - dp).abs().pow(alpha).mean())
    return terms[0] + terms[1]


def image_loss(pred: torch.Tensor, target: torch.Tensor, gdl: float = 1.0, gdl_alpha: float = 1.0) -> torch.Tensor:
    """MCnet's L_img = L_2 + gdl * L_gdl (both frames in [-1, 1])."""
    loss = (pred - target).pow(2).mean()
    if gdl:
        loss = loss + gdl * gdl_loss(pred, target, gdl_alpha)
    return loss


def loss(model, batch, cfg: RunConfig) -> torch.Tensor:
    targets = batch["targets"] * 2 - 1
    pred = predict_frames(model, batch["inputs"], targets.shape[1])
    return image_loss(pred, targets, cfg.scheme_kw.get("gdl", 1.0), cfg.scheme_kw.get("gdl_alpha", 1.0))


@torch.no_grad()
def predictions(model, test_set, cfg: RunConfig, batch_size: int | None = None):
    """(predicted, true) future frames of the whole test set, (N, n_out_test, C, H, W) in [0, 1]."""
    bs = batch_size or cfg.batch_size
    preds, trues = [], []
    for i in range(0, len(test_set), bs):
        batch = collate([test_set[j] for j in range(i, min(i + bs, len(test_set)))])
        out = predict_frames(model, batch["inputs"], batch["targets"].shape[1])
        preds.append(((out + 1) / 2).clamp(0, 1))
        trues.append(batch["targets"])
    return torch.cat(preds), torch.cat(trues)


def frame_metrics(pred: torch.Tensor, true: torch.Tensor) -> dict:
    """PSNR and SSIM per predicted step (T1..Tn) and their average, frames (N, T, C, H, W) in [0, 1]."""
    p, t = pred.double().numpy(), true.double().numpy()
    if p.shape[2] == 1:  # grey: (N, T, H, W)
        p, t, extra = p[:, :, 0], t[:, :, 0], {}
    else:                # colour: channels first in each frame
        extra = {"channel_axis": 0}
    out = {"test_mse": float(np.mean((p - t) ** 2))}
    for name, metric in (("psnr", psnr), ("ssim", ssim)):
        kw = extra if name == "ssim" else {}
        res = per_step(metric, p, t, batch_axis=0, time_axis=1, data_range=1.0, **kw)
        out.update({f"{name}_T{k + 1}": float(v) for k, v in enumerate(res.steps)})
        out[f"{name}_avg"] = float(res.avg)
    return out


def evaluate(model, test_set, cfg: RunConfig) -> dict:
    return frame_metrics(*predictions(model, test_set, cfg))


TASK = register_task(Task("prediction", build=build, loss=loss, evaluate=evaluate))
