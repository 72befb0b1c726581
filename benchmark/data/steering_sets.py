"""The steering windows of the steering task (``benchmark.train.steering``; scs section 5.7) and its label
scale: label = sigmoid(angle / s), angle in degrees ("we adopt sigmoid function to normalize the angles");
``logistic_scale`` fits s to the training angles (the logistic distribution's scale, at least
``MIN_SCALE``), ``label_to_angle`` maps a prediction back to degrees.

``BuiltinWindows``: windows of ``observed`` frames cut from the stand-in's ``SteeringSequences``, the
target the last frame's steering-wheel angle (``STEERING_RATIO`` x the generator's road-wheel angle).
``Labelled`` adds the angle's label to any set whose items hold ``frames`` and ``steering``; ``spread``
keeps an evenly spread subset of a real set and ``real_angles`` reads its training angles.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

ROAD_TYPES = ("crossroads", "t-junction", "curve", "straight")   # = builtin_standins / livi ROAD_TYPES
MIN_SCALE = 1.0                      # degrees: floor of the "auto" sigmoid scale (an all-zero label set)
STEERING_RATIO = 15.0                # steering-wheel / road-wheel angle of the stand-in (a typical car)
EPS = 1e-6                           # keeps logit finite when mapping a prediction back to degrees


def angle_to_label(angle, scale: float) -> torch.Tensor:
    """Degrees -> sigmoid(angle / scale) in (0, 1) (scs 5.7's normalisation)."""
    return torch.sigmoid(torch.as_tensor(angle, dtype=torch.float32) / float(scale))


def label_to_angle(label, scale: float) -> torch.Tensor:
    """Inverse of :func:`angle_to_label` (clamped to [EPS, 1 - EPS] first)."""
    y = torch.as_tensor(label, dtype=torch.float64).clamp(EPS, 1 - EPS)
    return float(scale) * torch.log(y / (1 - y))


def logistic_scale(angles) -> float:
    """std * sqrt(3) / pi of the finite ``angles`` (the logistic distribution's scale), >= MIN_SCALE."""
    a = np.asarray(angles, dtype=np.float64).reshape(-1)
    a = a[np.isfinite(a)]
    s = float(a.std()) * math.sqrt(3.0) / math.pi if len(a) else 0.0
    return max(s, MIN_SCALE)


class BuiltinWindows(Dataset):
    """Windows of ``observed`` frames cut from :class:`SteeringSequences`; target = the last frame's
    steering-wheel angle (``steering_ratio`` x the generator's road-wheel angle), degrees."""

    def __init__(self, split: str, n: int, observed: int, size=(24, 72), seed: int = 0, road_types=ROAD_TYPES,
                 first_end: int = 6, windows_per_seq: int = 1, window_step: int = 1,
                 steering_ratio: float = STEERING_RATIO):
        from .builtin_standins import SteeringSequences

        if observed < 1 or observed > first_end + 1:
            raise ValueError(f"observed must be in 1..first_end + 1 = {first_end + 1}, got {observed}")
        T = first_end + 1 + (windows_per_seq - 1) * window_step
        n_seq = -(-int(n) // windows_per_seq)
        self.base = SteeringSequences(split, n=n_seq, T=T, size=tuple(size), seed=seed, road_types=tuple(road_types))
        self.source = f"{self.base.source} [{', '.join(road_types)}; seed {seed}]"
        self.observed, self.ratio = int(observed), float(steering_ratio)
        self.index = [(i, first_end + k * window_step) for i in range(n_seq) for k in range(windows_per_seq)][:int(n)]

    def fingerprint(self) -> str:
        return f"{self.base.fingerprint()}-o{self.observed}-n{len(self.index)}"

    def __len__(self) -> int:
        return len(self.index)

    def angles(self) -> np.ndarray:
        return np.array([self.ratio * self.base.steering[i, e] for i, e in self.index], dtype=np.float64)

    def __getitem__(self, k: int) -> dict:
        i, e = self.index[k]
        return {"frames": torch.from_numpy(self.base.frames[i, e - self.observed + 1:e + 1]),
                "steering": torch.tensor(self.ratio * float(self.base.steering[i, e]), dtype=torch.float32),
                "road_type": int(self.base.road_types[i])}


class Labelled(Dataset):
    """Items ``{"frames", "angle" (degrees), "label" (sigmoid-normalised), "road_type" (-1 unknown)}`` of
    any data set whose items hold ``frames`` and ``steering`` (+ optional ``road_type``)."""

    def __init__(self, base, angle_scale: float):
        self.base, self.angle_scale = base, float(angle_scale)

    def __len__(self) -> int:
        return len(self.base)

    def __getattr__(self, name):  # source, fingerprint, skipped, skipped_count of the wrapped set
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def __getitem__(self, i: int) -> dict:
        item = self.base[i]
        angle = torch.as_tensor(item["steering"], dtype=torch.float32).reshape(())
        return {"frames": item["frames"], "angle": angle, "label": angle_to_label(angle, self.angle_scale),
                "road_type": int(item.get("road_type", -1))}


def spread(ds, n):
    """The first ``n``-sized evenly spread subset of ``ds`` (all of it when n is None or >= len)."""
    if not n or n >= len(ds):
        return ds
    sub = Subset(ds, np.linspace(0, len(ds) - 1, int(n)).round().astype(int).tolist())
    for attr in ("source", "skipped"):
        if hasattr(ds, attr):
            setattr(sub, attr, getattr(ds, attr))
    return sub


def real_angles(ds) -> np.ndarray:
    base = ds.dataset if isinstance(ds, Subset) else ds
    if hasattr(base, "samples"):   # LiViSet: the last frame of every sample
        return np.array([s[-1]["steering"] for s in base.samples], dtype=np.float64)
    return np.concatenate([np.asarray(v, np.float64) for v in base.steering.values()])  # CommaAI: every frame
