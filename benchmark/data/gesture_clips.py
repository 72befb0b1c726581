"""The clip sequences of the gesture task (``benchmark.train.gesture``; prernn sec. 4.2): each video (T
frames) cut into consecutive clips of ``clip_len`` frames (``clip_stride`` = ``clip_len`` by default: no
overlap; a smaller stride gives overlapping clips), the tail padded by repeating the last frame so that no
frame is dropped (a video shorter than one clip is padded the same way); grey frames repeated to 3
channels; pixels ``x * pixel_scale - pixel_mean``. Targets are CTC label sequences (c + 1, blank 0).
``standin_clips``: the labelled clips a stand-in C3D is pretrained on.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

BLANK = 0          # the CTC blank class (gesture c is class c + 1)
MIN_CLIP_LEN = 16  # the registered C3D nets: 16 -> 8 -> 4 -> 2 -> 1 through pool2..pool5


def clip_sequence(frames: torch.Tensor, clip_len: int, stride: int | None = None) -> torch.Tensor:
    """(T, C, H, W) frames -> (S, C, clip_len, H, W) clips starting at 0, stride, 2 stride, ...; the last
    clip ends at or after frame T - 1 (the tail padded by repeating the last frame)."""
    stride = int(stride or clip_len)
    if clip_len < 1 or stride < 1:
        raise ValueError(f"clip_len and stride must be positive, got {clip_len}, {stride}")
    T = frames.shape[0]
    if T == 0:
        raise ValueError("clip_sequence: empty video")
    S = 1 + max(0, math.ceil((T - clip_len) / stride))
    need = (S - 1) * stride + clip_len
    if need > T:
        frames = torch.cat([frames, frames[-1:].expand(need - T, *frames.shape[1:])])
    clips = torch.stack([frames[s * stride: s * stride + clip_len] for s in range(S)])  # (S, L, C, H, W)
    return clips.transpose(1, 2).contiguous()


class GestureClips(Dataset):
    """Wraps a gesture data set: item -> ``{"clips": (S, 3, L, H, W) float, "targets": (K,) int64 labels
    (c + 1), "target_length": int}``; forwards ``source`` / ``fingerprint`` / ``num_classes``."""

    def __init__(self, base, clip_len: int, clip_stride: int | None = None, pixel_scale: float = 1.0,
                 pixel_mean: float = 0.5, num_classes: int | None = None):
        self.base, self.clip_len, self.clip_stride = base, int(clip_len), clip_stride
        self.pixel_scale, self.pixel_mean = float(pixel_scale), float(pixel_mean)
        self.num_classes = int(num_classes if num_classes is not None else base.num_classes)
        self.source = getattr(base, "source", type(base).__name__)
        self.skipped_count = 0

    def __len__(self) -> int:
        return len(self.base)

    def fingerprint(self):
        return self.base.fingerprint() if hasattr(self.base, "fingerprint") else None

    def __getitem__(self, i):
        item = self.base[i]
        self.skipped_count = getattr(self.base, "skipped_count", 0)
        frames = item["frames"].float()
        if frames.shape[1] == 1:  # grey -> 3 channels
            frames = frames.expand(-1, 3, -1, -1)
        frames = frames * self.pixel_scale - self.pixel_mean
        if "targets" in item:  # built-in stand-in: padded label sequence (c + 1), 0 = padding
            k = int(item["target_length"])
            targets = item["targets"][:k].long()
        else:                  # NVGesture: one gesture per video, label 0..24
            targets = torch.tensor([int(item["label"]) + 1])
        return {"clips": clip_sequence(frames, self.clip_len, self.clip_stride), "targets": targets,
                "target_length": len(targets)}


def collate_gestures(items: list[dict]) -> dict:
    """Pads the clip axis (repeating each video's last clip; ``input_lengths`` keeps the true counts) and
    the targets (0-padded, ``target_lengths``)."""
    S = max(it["clips"].shape[0] for it in items)
    K = max(1, max(int(it["target_length"]) for it in items))
    clips, targets = [], torch.zeros(len(items), K, dtype=torch.long)
    for b, it in enumerate(items):
        c = it["clips"]
        if c.shape[0] < S:
            c = torch.cat([c, c[-1:].expand(S - c.shape[0], *c.shape[1:])])
        clips.append(c)
        targets[b, : int(it["target_length"])] = it["targets"]
    return {"clips": torch.stack(clips), "targets": targets,
            "input_lengths": torch.tensor([it["clips"].shape[0] for it in items], dtype=torch.long),
            "target_lengths": torch.tensor([int(it["target_length"]) for it in items], dtype=torch.long)}


class LimitedSubset(torch.utils.data.Subset):
    """A Subset that still reports the wrapped loader's source and skipped-file count."""

    @property
    def source(self):
        return getattr(self.dataset, "source", type(self.dataset).__name__)

    @property
    def skipped_count(self):
        return getattr(self.dataset, "skipped_count", 0)


def standin_clips(spec: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips of ``spec["clip_len"]`` frames every ``clip_len // 2`` frames of stand-in gesture videos drawn
    with their own data seed (``spec["seed"]``, 1000: disjoint from every task draw), each labelled with
    the gesture covering most of its frames (c + 1) or 0 (none)."""
    from .builtin_standins import GESTURES, GestureSequences

    L = int(spec.get("clip_len", MIN_CLIP_LEN))
    data = GestureSequences("train", n=int(spec["n"]), T=int(spec["T"]), size=int(spec["size"]),
                            num_classes=int(spec.get("num_classes", len(GESTURES))),
                            max_gestures=int(spec.get("max_gestures", 1)), seed=int(spec.get("seed", 1000)))
    frames = torch.from_numpy(data.frames)                       # (N, T, 1, S, S)
    labels = torch.from_numpy(data.frame_labels)                 # (N, T)
    starts = range(0, data.frames.shape[1] - L + 1, max(1, L // 2))
    x = torch.stack([frames[:, a:a + L] for a in starts], 1).flatten(0, 1)       # (M, L, 1, S, S)
    lab = torch.stack([labels[:, a:a + L] for a in starts], 1).flatten(0, 1)     # (M, L)
    counts = F.one_hot(lab, data.num_classes + 1)[:, :, 1:].sum(1)               # gesture frames per class
    y = torch.where(counts.max(1).values > 0, counts.argmax(1) + 1, torch.zeros_like(counts[:, 0]))
    return x.transpose(1, 2).contiguous(), y                                     # (M, 1, L, S, S), (M,)
