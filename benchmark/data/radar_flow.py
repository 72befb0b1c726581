"""Radar echo maps with flow targets for the nowcasting task (``benchmark.train.nowcast``; scs section 5.8):
the temporal sub-goal r_t of real maps is trained on the Horn-Schunck flow between consecutive maps
(``benchmark.data.flow``), cached on disk per sample.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .flow import cached_flow


class RadarWithFlow(Dataset):
    """A :class:`RadarEcho` whose items also hold ``flow`` (n_out, 2, H, W): Horn-Schunck flow from each
    map to the next over [last observed, future 1 .. n_out], cached on disk per sample."""

    def __init__(self, base, cache_dir: str | Path):
        self.base, self.cache_dir = base, Path(cache_dir)
        self.skipped = getattr(base, "skipped", set())

    @property
    def skipped_count(self) -> int:
        return getattr(self.base, "skipped_count", 0)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        seq = torch.cat([item["input"][-1:], item["target"]])[:, 0].numpy()
        key = f"{item['video']}/{item['times'][0]}/{len(item['times'])}"
        flow = cached_flow(key, seq, self.cache_dir)
        return {**item, "flow": torch.from_numpy(np.ascontiguousarray(flow)).float()}
