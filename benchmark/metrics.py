"""Evaluation metrics of the three papers the suite reproduces.

Papers (text in ``shared/papers``):

* deeprnn -- Pang et al., "Deep RNN Framework for Visual Sequential Applications" (CBM):
  top-1 accuracy for action recognition (whole video) and anticipation (first two frames,
  Table 1 caption), PSNR / SSIM per predicted frame T1..Tn and their average (Table 4, KTH),
  polygon IoU (Polygon-RNN; lives in :mod:`benchmark.metrics_polygon`, re-exported here).
* prernn -- Yang, Molchanov & Kautz, "Making Convolutional Networks Recurrent for Visual
  Sequence Learning": 300VW landmark AUC of the cumulative error distribution (Sec. 4.1,
  Table 2, Fig. 3) and NVGesture classification accuracy of a CTC-trained model (Table 4).
* scs -- Pang et al., "Complex Sequential Understanding through the Awareness of Spatial and
  Temporal Concepts": steering accuracy, eq. (24), and MSE (Table 5); precipitation
  nowcasting MSE / CSI / FAR / POD / correlation, eqs. (25)-(28) (Table 7).

Every function takes numpy arrays, torch tensors or (nested) lists and returns Python floats
or numpy arrays; shapes that do not match raise ``ValueError`` naming both shapes.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .metrics_polygon import polygon_iou  # re-exported (deeprnn Polygon-RNN / scs outline IoU)

__all__ = [
    "polygon_iou",
    "video_logits", "top1_accuracy",
    "psnr", "ssim", "per_step", "PerStep",
    "LEFT_OUTER_EYE", "RIGHT_OUTER_EYE", "interocular_distance", "normalised_mean_error",
    "ced_curve", "ced_auc",
    "ctc_greedy_decode", "ctc_accuracy",
    "steering_accuracy", "steering_mse",
    "nowcast_counts", "nowcast_scores",
]


# --------------------------------------------------------------------------- helpers
def _np(x, dtype=np.float64) -> np.ndarray:
    """numpy copy of ``x`` (torch tensor, array or list) as ``dtype``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    return a.astype(dtype, copy=False) if dtype is not None else a


def _same_shape(a: np.ndarray, b: np.ndarray, what: str, a_name="pred", b_name="target") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: {a_name} shape {tuple(a.shape)} does not match "
                         f"{b_name} shape {tuple(b.shape)}")


# --------------------------------------------------------------------------- classification
def video_logits(frame_logits, mode: str = "all", n: int = 2, time_axis: int = -2) -> np.ndarray:
    """Video-level logits: the mean of per-frame logits over a video's frames.

    deeprnn Table 1 caption: "For action recognition, the whole sequence is taken as input,
    while for anticipation, only the first two frames are used to do inference."
    ``mode="all"`` (recognition) averages over every frame; ``mode="first"`` (anticipation)
    over the first ``n`` frames (default 2).  ``frame_logits`` is (T, C) or (N, T, C); the time
    axis is ``time_axis`` (default: the one before the class axis).  Returns (C,) or (N, C).
    """
    a = _np(frame_logits)
    if a.ndim < 2:
        raise ValueError(f"video_logits: frame_logits must be (T, C) or (N, T, C), got shape {a.shape}")
    t_len = a.shape[time_axis]
    if mode == "all":
        idx = slice(None)
    elif mode == "first":
        if n < 1 or n > t_len:
            raise ValueError(f"video_logits: mode='first' needs 1 <= n <= T, got n={n}, "
                             f"frame_logits shape {a.shape} (T={t_len})")
        idx = slice(0, n)
    else:
        raise ValueError(f"video_logits: mode must be 'all' or 'first', got {mode!r}")
    a = np.moveaxis(a, time_axis, 0)[idx]
    return a.mean(axis=0)


def top1_accuracy(logits_or_labels, targets) -> float:
    """Top-1 classification accuracy (deeprnn Tables 1-3, prernn Tables 5-7).

    ``logits_or_labels`` is either scores of shape (N, C) (argmax over the last axis; ties go
    to the lowest class index) or predicted labels of shape (N,); ``targets`` is (N,) integer
    labels.  For recognition / anticipation pass :func:`video_logits` of the frame logits.
    Returns the fraction in [0, 1].
    """
    p = _np(logits_or_labels, dtype=None)
    t = _np(targets, dtype=None)
    if p.ndim == t.ndim + 1:
        if p.shape[:-1] != t.shape:
            raise ValueError(f"top1_accuracy: logits shape {p.shape} does not match targets shape {t.shape} "
                             f"(expected logits (N, C) for targets (N,))")
        p = p.argmax(axis=-1)
    elif p.shape != t.shape:
        raise ValueError(f"top1_accuracy: predictions shape {p.shape} does not match targets shape {t.shape}")
    if t.size == 0:
        raise ValueError("top1_accuracy: no samples")
    return float(np.mean(p.astype(np.int64) == t.astype(np.int64)))


# --------------------------------------------------------------------------- images
def psnr(pred, target, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio of one image, 10 log10(data_range^2 / MSE) in dB.

    deeprnn Sec. 4.3 / Table 4 ("PSNR [31]"), per predicted frame.  The MSE is over every
    pixel (and channel).  Identical images give ``inf``.  Matches
    ``skimage.metrics.peak_signal_noise_ratio(target, pred, data_range=data_range)``.
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "psnr")
    mse = float(np.mean((p - t) ** 2))
    if mse == 0.0:
        return math.inf
    return float(10.0 * np.log10(float(data_range) ** 2 / mse))


def _gaussian_window(win_size: int, sigma: float) -> torch.Tensor:
    r = (win_size - 1) / 2.0
    x = torch.arange(win_size, dtype=torch.float64) - r
    g = torch.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def ssim(pred, target, data_range: float = 1.0, channel_axis: int | None = None, *,
         win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> float:
    """Structural similarity of one image (Wang, Bovik, Sheikh & Simoncelli, IEEE TIP 2004).

    deeprnn Table 4 ("SSIM [47]").  The standard definition: local means, variances and
    covariance under an 11x11 circular-symmetric Gaussian window (sigma 1.5, normalised to
    sum 1), C1 = (K1 L)^2, C2 = (K2 L)^2 with K1 = 0.01, K2 = 0.03, L = ``data_range``,

        SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    evaluated at every window position that lies fully inside the image ("valid" filtering,
    as MATLAB's ``filter2(w, x, 'valid')`` in the authors' reference code) and averaged (the
    mean SSIM).  Variances use the window weights directly (population, not sample,
    covariance); Wang et al.'s automatic down-sampling of large images is not applied.  For
    colour images (``channel_axis`` given) the SSIM of each channel is averaged.  Numerically
    equal to ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range)``, which is computed independently.
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "ssim")
    if channel_axis is None:
        if p.ndim != 2:
            raise ValueError(f"ssim: expected a 2-D grey image (or pass channel_axis for colour), got shape {p.shape}")
        p, t = p[None], t[None]
    else:
        if p.ndim != 3:
            raise ValueError(f"ssim: channel_axis={channel_axis} needs a 3-D image, got shape {p.shape}")
        p, t = np.moveaxis(p, channel_axis, 0), np.moveaxis(t, channel_axis, 0)
    if min(p.shape[1:]) < win_size:
        raise ValueError(f"ssim: image shape {tuple(p.shape[1:])} is smaller than the {win_size}x{win_size} window")
    if not data_range or data_range <= 0:
        raise ValueError(f"ssim: data_range must be positive, got {data_range}")

    x = torch.from_numpy(np.ascontiguousarray(p))[:, None]   # (C, 1, H, W)
    y = torch.from_numpy(np.ascontiguousarray(t))[:, None]
    g = _gaussian_window(win_size, sigma)
    wr, wc = g.view(1, 1, 1, -1), g.view(1, 1, -1, 1)

    def filt(z):
        return F.conv2d(F.conv2d(z, wr), wc)   # separable Gaussian, 'valid'

    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x * mu_x
    syy = filt(y * y) - mu_y * mu_y
    sxy = filt(x * y) - mu_x * mu_y
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean(dim=(1, 2, 3)).mean())


class PerStep(NamedTuple):
    """Per-step values (T1..Tn) and their average, one row of deeprnn Table 4."""
    steps: np.ndarray
    avg: float

    def as_row(self, prefix: str = "T") -> dict:
        """``{"T1": v1, ..., "Tn": vn, "Avg": avg}`` as in Table 4's header."""
        row = {f"{prefix}{i + 1}": float(v) for i, v in enumerate(self.steps)}
        row["Avg"] = float(self.avg)
        return row


def per_step(metric: Callable[..., float], pred_seq, target_seq, *, time_axis: int = 0,
             batch_axis: int | None = None, **metric_kwargs) -> PerStep:
    """A per-image metric at every predicted step T1..Tn, and their average (deeprnn Table 4).

    ``pred_seq`` / ``target_seq`` hold predicted and ground-truth future frames with time on
    ``time_axis``: (T, H, W[, C]) for one sequence, or with a batch of sequences on
    ``batch_axis`` (e.g. (N, T, H, W) with ``batch_axis=0, time_axis=1``), in which case step t
    is the mean over the N sequences of ``metric`` on frame t (the MCnet/KTH protocol: a
    (sequences x T) table averaged over sequences).  ``avg`` is the mean over the T steps (the
    "Avg" column).  ``metric_kwargs`` (``data_range``, ``channel_axis`` of a single frame) go
    to ``metric``.
    """
    p, t = _np(pred_seq), _np(target_seq)
    _same_shape(p, t, "per_step", "pred_seq", "target_seq")
    if batch_axis is None:
        p, t = np.moveaxis(p, time_axis, 0)[None], np.moveaxis(t, time_axis, 0)[None]
    else:
        if p.ndim < 2 or (batch_axis % p.ndim) == (time_axis % p.ndim):
            raise ValueError(f"per_step: batch_axis and time_axis must differ, shape {p.shape}")
        p = np.moveaxis(p, (batch_axis, time_axis), (0, 1))
        t = np.moveaxis(t, (batch_axis, time_axis), (0, 1))
    n, T = p.shape[:2]
    if n == 0 or T == 0:
        raise ValueError(f"per_step: empty sequence, shape {p.shape}")
    vals = np.array([[metric(p[i, k], t[i, k], **metric_kwargs) for k in range(T)] for i in range(n)],
                    dtype=np.float64)
    steps = vals.mean(axis=0)
    return PerStep(steps=steps, avg=float(steps.mean()))


# --------------------------------------------------------------------------- landmarks (300VW)
LEFT_OUTER_EYE, RIGHT_OUTER_EYE = 36, 45   # 0-based indices of the outer eye corners, 68-point markup


def interocular_distance(gt) -> np.ndarray:
    """Distance between the outer eye corners (points 37 and 46 1-based; 36 and 45 0-based)
    of (N, 68, 2) or (68, 2) ground-truth landmarks; returns (N,)."""
    g = _np(gt)
    if g.ndim == 2:
        g = g[None]
    if g.ndim != 3 or g.shape[1] != 68 or g.shape[2] != 2:
        raise ValueError(f"interocular_distance: expected (N, 68, 2) landmarks, got shape {g.shape}")
    return np.linalg.norm(g[:, LEFT_OUTER_EYE] - g[:, RIGHT_OUTER_EYE], axis=-1)


def normalised_mean_error(pred, gt, interocular=None) -> np.ndarray:
    """Per-image normalised point-to-point error of landmarks (prernn Sec. 4.1, 300VW).

    e_i = mean_j ||pred_ij - gt_ij||_2 / d_i, where d_i is the inter-ocular distance, i.e.
    the distance between the outer eye corners (0-based points 36 and 45 of the 68-point
    markup) -- the 300VW normalisation (Chrysos et al., IJCV 2017, prernn ref. [7]).  ``pred``
    and ``gt`` are (N, L, 2) (or (L, 2)); ``interocular`` is None (computed from ``gt``,
    needs L = 68), a scalar, or an (N,) array.  Returns the (N,) errors.
    """
    p, g = _np(pred), _np(gt)
    _same_shape(p, g, "normalised_mean_error", "pred", "gt")
    if p.ndim == 2:
        p, g = p[None], g[None]
    if p.ndim != 3 or p.shape[-1] != 2:
        raise ValueError(f"normalised_mean_error: expected (N, L, 2) landmarks, got shape {p.shape}")
    if interocular is None:
        d = interocular_distance(g)
    else:
        d = np.broadcast_to(_np(interocular), (p.shape[0],)) if np.ndim(_np(interocular)) == 0 else _np(interocular)
        if d.shape != (p.shape[0],):
            raise ValueError(f"normalised_mean_error: interocular shape {d.shape} does not match "
                             f"the {p.shape[0]} images of pred/gt shape {p.shape}")
    if np.any(~(d > 0)):
        raise ValueError("normalised_mean_error: inter-ocular distance must be positive")
    return np.linalg.norm(p - g, axis=-1).mean(axis=-1) / d


def ced_curve(errors, max_error: float = 0.08, steps: int = 801) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution (prernn Sec. 4.1, Fig. 3).

    ``x = linspace(0, max_error, steps)`` and ``y[k]`` = fraction of images with normalised
    error <= x[k] (the 300VW / menpo convention of counting ``error <= x``).  The default
    grid has a step of 1e-4 for ``max_error = 0.08``.  Returns ``(x, y)``.
    """
    e = _np(errors).ravel()
    if e.size == 0:
        raise ValueError("ced_curve: no errors")
    if steps < 2 or not max_error > 0:
        raise ValueError(f"ced_curve: need steps >= 2 and max_error > 0, got steps={steps}, max_error={max_error}")
    x = np.linspace(0.0, float(max_error), int(steps))
    y = np.searchsorted(np.sort(e), x, side="right") / e.size
    return x, y


def ced_auc(errors, max_error: float = 0.08, steps: int = 801) -> float:
    """Area under the CED up to ``max_error``, normalised to [0, 1] (prernn Table 2).

    AUC = (1 / max_error) * integral_0^max_error CED(x) dx, by the trapezoidal rule on the grid
    of :func:`ced_curve`.  The prernn paper does not state the threshold; 0.08 is the one of
    the 300VW evaluation (Chrysos et al., IJCV 2017, the benchmark paper prernn cites as [7]).
    As ``steps`` grows it tends to the exact value mean_i max(0, 1 - e_i / max_error).
    """
    x, y = ced_curve(errors, max_error, steps)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0 / float(max_error))


# --------------------------------------------------------------------------- CTC (NVGesture)
def ctc_greedy_decode(log_probs, blank: int = 0):
    """Best-path (greedy) CTC decoding (Graves et al. 2006, prernn ref. [15]).

    Takes the argmax class per frame of ``log_probs`` (T, C), collapses runs of repeated
    classes, then drops ``blank``: [1, 1, 0, 2, 2, 0, 0, 2] -> [1, 2, 2].  A batch (N, T, C)
    gives a list of such lists.
    """
    a = _np(log_probs)
    if a.ndim == 3:
        return [ctc_greedy_decode(x, blank) for x in a]
    if a.ndim != 2:
        raise ValueError(f"ctc_greedy_decode: expected (T, C) or (N, T, C) log-probs, got shape {a.shape}")
    if not 0 <= blank < a.shape[1]:
        raise ValueError(f"ctc_greedy_decode: blank={blank} outside the {a.shape[1]} classes of shape {a.shape}")
    path = a.argmax(axis=1)
    out, prev = [], None
    for c in path.tolist():
        if c != prev and c != blank:
            out.append(int(c))
        prev = c
    return out


def ctc_accuracy(decoded: Sequence, targets: Sequence) -> float:
    """Sequence-level exact-match accuracy of CTC outputs (prernn Table 4, NVGesture).

    prernn reports "classification accuracy" on NVGesture (Sec. 4.2, Table 4) for a
    CTC-trained network, each test video holding one gesture.  Reading used here: a video
    counts as correct iff its decoded label sequence equals the target sequence exactly; an
    integer target ``k`` means the sequence ``[k]`` (so an empty decoding, a wrong label, or
    an extra detected gesture is an error).  ``decoded`` is a list of label sequences (e.g.
    from :func:`ctc_greedy_decode`), ``targets`` a list of ints or sequences.
    """
    if len(decoded) != len(targets):
        raise ValueError(f"ctc_accuracy: decoded has {len(decoded)} sequences, targets has {len(targets)} "
                         f"(shapes ({len(decoded)},) vs ({len(targets)},))")
    if len(targets) == 0:
        raise ValueError("ctc_accuracy: no samples")

    def seq(x):
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        if np.ndim(x) == 0:
            return [int(x)]
        return [int(v) for v in np.asarray(x).ravel().tolist()]

    return float(np.mean([seq(d) == seq(t) for d, t in zip(decoded, targets)]))


# --------------------------------------------------------------------------- steering (scs)
def steering_accuracy(pred, target, lam: float, eps: float = 1e-6, reading: str = "eq24") -> float:
    """Steering-angle accuracy, scs eq. (24), in [0, 1] (Table 5 reports it x100).

        Acc = (1/I) sum_i [ min( lam / (|pred_i - label_i| + eps), 1 ) ]

    ``pred``/``target`` are angles in degrees (convert back from the sigmoid-normalised
    network output first), ``lam`` the threshold in degrees (3 and 6 in Table 5), ``eps``
    keeps the denominator non-zero.

    ``reading="eq24"`` (default) takes the formula literally, brackets as grouping: a sample
    within ``lam`` scores 1, one further away scores lam / (|error| + eps) < 1 (partial credit).
    ``reading="floor"`` reads [.] as the integer part, which gives the paper's prose ("if the
    difference ... is less than the threshold, we treat it as an accurate prediction"):
    a sample scores 1 iff |error| + eps <= lam, else 0.
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "steering_accuracy")
    if p.size == 0:
        raise ValueError("steering_accuracy: no samples")
    if not lam > 0 or not eps > 0:
        raise ValueError(f"steering_accuracy: lam and eps must be positive, got lam={lam}, eps={eps}")
    score = np.minimum(float(lam) / (np.abs(p - t) + float(eps)), 1.0)
    if reading == "floor":
        score = np.floor(score)
    elif reading != "eq24":
        raise ValueError(f"steering_accuracy: reading must be 'eq24' or 'floor', got {reading!r}")
    return float(score.mean())


def steering_mse(pred, target) -> float:
    """Mean squared error of steering angles (scs Table 5 "MSE"; the main training goal g).

    Computed on whatever scale is passed; the values in Table 5 (~0.05) are on the
    sigmoid-normalised angle scale, not in degrees^2.
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "steering_mse")
    if p.size == 0:
        raise ValueError("steering_mse: no samples")
    return float(np.mean((p - t) ** 2))


# --------------------------------------------------------------------------- nowcasting (scs)
def nowcast_counts(pred, target, threshold: float = 0.5) -> tuple[int, int, int]:
    """(hits, misses, false_alarms) at pixel level, scs Sec. on REEC-2018 / eqs. (25)-(27).

    A pixel is "rain" when its value is >= ``threshold``.  hit: pred = label = 1; miss:
    pred = 0, label = 1; false alarm: pred = 1, label = 0.  Counted over every element given.
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "nowcast_counts")
    bp, bt = p >= threshold, t >= threshold
    return int(np.sum(bp & bt)), int(np.sum(~bp & bt)), int(np.sum(bp & ~bt))


def nowcast_scores(pred, target, threshold: float = 0.5, eps: float = 1e-8) -> dict:
    """Precipitation-nowcasting scores of scs Table 7 (REEC-2018), following ConvLSTM (ref. [50]).

    ``pred``/``target`` are composite-reflectance (CR) images, any shape (one frame or a
    stack), on the paper's normalised scale Z' = (Z - min Z) / (max Z - min Z) in [0, 1].
    scs: "We convert the prediction and the label to a 0/1 matrix using a threshold of 0.5";
    so ``threshold`` defaults to 0.5 on that normalised intensity (ConvLSTM used 0.5 mm/h of
    rain rate; scs applies 0.5 to the normalised CR values and gives no Z-R conversion).
    Counts are summed over all pixels passed (evaluate per frame and average for per-frame
    scores).  Returns a dict:

    * ``mse``  mean squared error over all pixels;
    * ``csi``  = hit / (hit + miss + falsealarm)             eq. (25) (printed "SCI");
    * ``far``  = falsealarm / (hit + falsealarm)             eq. (26);
    * ``pod``  = hit / (hit + miss)                          eq. (27);
    * ``correlation`` = sum(P L) / sqrt(sum(P^2) sum(L^2) + eps)   eq. (28), uncentred, over
      the raw (not thresholded) values;
    * ``hits``, ``misses``, ``false_alarms``.

    A ratio whose denominator is 0 is ``nan`` (undefined).
    """
    p, t = _np(pred), _np(target)
    _same_shape(p, t, "nowcast_scores")
    if p.size == 0:
        raise ValueError("nowcast_scores: no pixels")
    hit, miss, fa = nowcast_counts(p, t, threshold)

    def ratio(a, b):
        return float(a / b) if b > 0 else math.nan

    corr = float(np.sum(p * t) / np.sqrt(np.sum(p * p) * np.sum(t * t) + eps))
    return {
        "mse": float(np.mean((p - t) ** 2)),
        "csi": ratio(hit, hit + miss + fa),
        "far": ratio(fa, hit + fa),
        "pod": ratio(hit, hit + miss),
        "correlation": corr,
        "hits": hit, "misses": miss, "false_alarms": fa,
    }
