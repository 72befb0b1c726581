"""Per-video predictions of the action nets of task ``subgoal`` (``benchmark.train.subgoal.evaluate``):
the logits of the whole video from a zero state and, for SCS nets, those of the spatial stream (T^1)."""
from __future__ import annotations

import torch

from models.nets.subgoal_heads import video_logits


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
                logits.append(video_logits(model, out["logits"]))
                spatial.append(video_logits(model, out["spatial_logits"]))
            else:
                out = model(frames)
                logits.append(video_logits(model, out[0] if isinstance(out, tuple) else out))
            labels.append(torch.stack([it["label"] for it in group]))
    return torch.cat(logits), (torch.cat(spatial) if spatial else None), torch.cat(labels)
