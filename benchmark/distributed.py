"""torch DDP for one run over several processes (GPUs, nodes; gloo on CPU).

Ranks and addresses come from submitit's job environment (``init_from_submitit``: one Slurm task per
process, ``tasks_per_node``/``nodes`` in the profile) or are given (``init``, ``spawn_local``).

What makes a DDP run equal to one process with the same *global* batch:

- ``loader``: the very sampler of the one-process loop (``RandomSampler`` on the run's loader
  generator, ``BatchSampler`` of the global batch size) and each rank takes its slice of every global
  batch, so the same examples meet in the same step;
- ``scale_loss``: each rank's loss is a mean over its own elements (for the polygon task: vertex tokens,
  whose count differs between ranks); it is re-weighted by ``n_rank * world / n_global`` so that DDP's
  gradient average equals the gradient of the global mean, and the logged loss is the global mean;
- only rank 0 evaluates and writes (metrics, checkpoint, result); every rank reads the checkpoint.

Batch norm is the exception (statistics per rank): a DDP run of a model with BN is not the same
computation as one process. ``without_batchnorm`` replaces BN layers by identities, for the checks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, Sampler


class RankSlice(Sampler):
    """Rank ``rank``'s contiguous share of each batch of ``batches`` (shares differ by at most one)."""

    def __init__(self, batches: BatchSampler, rank: int, world: int):
        self.batches, self.rank, self.world = batches, rank, world

    def __iter__(self):
        for batch in self.batches:
            n, r, w = len(batch), self.rank, self.world
            lo, hi = r * n // w, (r + 1) * n // w
            if hi <= lo:
                raise ValueError(f"a global batch of {n} cannot feed {w} ranks; use a batch size >= {w}")
            yield batch[lo:hi]

    def __len__(self):
        return len(self.batches)


def loss_weight(task, batch) -> int:
    """Number of elements the task's loss averages over (its declared ``loss_weight`` hook if any)."""
    if task.loss_weight is not None:
        return int(task.loss_weight(batch))
    if isinstance(batch, dict) and "target" in batch:  # token-level cross-entropy, -100 = ignored
        return int((batch["target"] != -100).sum())
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return int(len(first))


@dataclass
class Dist:
    rank: int
    world: int
    local_rank: int = 0
    backend: str = "gloo"

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def wrap(self, model: nn.Module) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel as DDP

        if self.backend == "nccl":
            return DDP(model.to(self.device()), device_ids=[self.local_rank])
        return DDP(model)

    def loader(self, train_set, batch_size: int, collate, generator: torch.Generator,
               epoch_items: int = 0) -> DataLoader:
        """``epoch_items``: as ``RunConfig.epoch_items`` (an epoch draws that many items; 0 = all)."""
        n = min(epoch_items, len(train_set)) if epoch_items else len(train_set)
        batches = BatchSampler(RandomSampler(train_set, num_samples=n, generator=generator), batch_size,
                               drop_last=n > batch_size)
        return DataLoader(train_set, batch_sampler=RankSlice(batches, self.rank, self.world),
                          collate_fn=collate, generator=generator)

    def scale_loss(self, loss: torch.Tensor, task, batch) -> tuple[torch.Tensor, float]:
        """(loss to back-propagate, global mean loss for the log): see the module docstring. ``batch`` of
        ``task`` weighs ``loss_weight(task, batch)`` elements."""
        weight = loss_weight(task, batch)
        w = torch.tensor([float(weight), float(loss.detach()) * weight], dtype=torch.float64)
        tdist.all_reduce(w)
        total_w, total = float(w[0]), float(w[1])
        return loss * (weight * self.world / total_w), total / total_w

    def barrier(self) -> None:
        tdist.barrier()

    def close(self) -> None:
        if tdist.is_initialized():
            tdist.destroy_process_group()


def init(rank: int, world: int, master_addr: str = "127.0.0.1", master_port: int = 29500,
         local_rank: int = 0, backend: str | None = None) -> Dist:
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    os.environ.setdefault("MASTER_ADDR", master_addr)
    os.environ.setdefault("MASTER_PORT", str(master_port))
    tdist.init_process_group(backend, init_method=f"tcp://{master_addr}:{master_port}", rank=rank,
                             world_size=world)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    return Dist(rank, world, local_rank, backend)


def init_from_submitit() -> Dist:
    """Ranks, world size and the master address (first host of the job) from submitit's JobEnvironment."""
    import submitit

    env = submitit.JobEnvironment()
    port = 20000 + int(str(env.job_id).replace("_", "")[-4:] or 0) % 20000  # one port per job
    return init(env.global_rank, env.num_tasks, env.hostnames[0], port, env.local_rank)


def without_batchnorm(model: nn.Module) -> nn.Module:
    """The same model with every BatchNorm layer replaced by an identity (in place; returned)."""
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.Identity())
        else:
            without_batchnorm(child)
    return model


def _spawned(rank: int, world: int, port: int, cfg_dict: dict, run_dir: str, model_hook) -> None:
    from .config import RunConfig
    from .train.loop import run_training

    torch.set_num_threads(1)
    d = init(rank, world, "127.0.0.1", port, backend="gloo")
    try:
        run_training(RunConfig.from_dict(cfg_dict), run_dir, progress=False, dist=d, model_hook=model_hook)
    finally:
        d.close()


def spawn_local(cfg, run_dir, world: int = 2, port: int = 29533, model_hook=None) -> None:
    """Run one config as a ``world``-process gloo DDP job on this machine (torch.multiprocessing.spawn)."""
    import torch.multiprocessing as mp

    mp.spawn(_spawned, args=(world, port, cfg.to_dict(), str(run_dir), model_hook), nprocs=world, join=True)
