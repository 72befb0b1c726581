"""Face-landmark clips of 300-VW for the landmarks task (``benchmark.train.landmarks``; prernn sec. 4.1): each
frame cropped to the face by :class:`FaceCrops` (the paper runs a Faster R-CNN face detector; offline we
crop the ground-truth landmarks' box enlarged by ``margin``, a documented stand-in) and resized to
``size`` x ``size``; ``IndexSubset`` / ``evenly`` keep a number of clips spread evenly over a split.
The task's coordinates: ``normalise`` maps pixel landmarks to [-1, 1] over the frame (``denormalise``
back), ``mean_shape`` is a training set's mean normalised shape, ``inputs`` turns frames into the
3-channel ImageNet-normalised input the pretrained VGG16 expects.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

NUM_POINTS = 68
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


class IndexSubset(Dataset):
    """The items ``indices`` of ``base``, with its ``source`` and skipped-file count."""

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


def evenly(n_total: int, n: int | None) -> list[int]:
    """``n`` indices spread evenly over ``range(n_total)`` (all of them when n is None or >= n_total)."""
    if n is None or n >= n_total:
        return list(range(n_total))
    return sorted(set(np.linspace(0, n_total - 1, n).round().astype(int).tolist()))


def mean_shape(train_set) -> np.ndarray:
    """(68, 2) mean landmarks of the training set, in normalised coordinates."""
    if hasattr(train_set, "landmarks") and hasattr(train_set, "frames"):  # built-in: arrays in memory
        size = train_set.frames.shape[-1]
        return 2 * train_set.landmarks.reshape(-1, NUM_POINTS, 2).mean(0) / size - 1
    acc, n = np.zeros((NUM_POINTS, 2)), 0
    for i in evenly(len(train_set), 64):  # a real set: a sample of clips
        item = train_set[i]
        acc += normalise(item["landmarks"], item["frames"].shape[-2:]).mean(0).numpy()
        n += 1
    return acc / max(n, 1)


def normalise(landmarks: torch.Tensor, hw) -> torch.Tensor:
    """Pixel (..., 68, 2) -> normalised coordinates in [-1, 1] over the frame (2 x / W - 1, 2 y / H - 1)."""
    H, W = int(hw[0]), int(hw[1])
    return 2 * landmarks / landmarks.new_tensor([W, H]) - 1


def denormalise(coords: torch.Tensor, hw) -> torch.Tensor:
    """Inverse of ``normalise``: normalised coordinates -> pixels."""
    H, W = int(hw[0]), int(hw[1])
    return (coords + 1) * coords.new_tensor([W, H]) / 2


def inputs(frames: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) in [0, 1] -> 3-channel ImageNet-normalised frames."""
    if frames.shape[2] == 1:
        frames = frames.expand(-1, -1, 3, -1, -1)
    mean = frames.new_tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1)
    std = frames.new_tensor(IMAGENET_STD).view(1, 1, 3, 1, 1)
    return (frames - mean) / std
