"""Seed-batched training: the N seeds of one configuration trained as ONE batched model.

Each seed is built exactly as ``benchmark.train.loop.run_training`` builds it alone (``seed_everything``,
``task.build``: its own initialisation) and keeps its own data order (a ``DataLoader`` whose generator is
seeded with the seed, as alone). The parameters and buffers are stacked along a leading seed dimension
(``torch.func.stack_module_state``) and one step runs ``torch.func.vmap`` over
``functional_call(model, (params, buffers), batch)``; the loss of the step is the SUM of the seeds'
losses, so every seed's gradient is its own. Adam and element-wise clipping act element by element, so
one Adam over the stacked parameters is N independent Adams (same step count, same hyper-parameters).

After every epoch each seed's slice is copied back into its own model, evaluated with the task's own
``evaluate`` and written to its own run directory exactly as a lone run writes it: a checkpoint whose
model and optimizer state are that seed's (a lone run can resume from it), ``metrics.jsonl`` and, at
the end, ``result.json`` (with ``"seed_batched": N``; ``seconds`` is the batched epoch's wall time).

What equals a lone run and what does not:

- **Deterministic training** (no Temporal Dropout draws, no dropout): each seed's losses equal that
  seed trained alone up to float summation order (``tests/benchmark/test_seed_batch.py``: relative
  error < 1e-4 in fp32). TD at rate 0 or 1 makes no draw, so it is deterministic too.
- **Random masks** (TD at a rate in (0, 1), dropout): one independent draw per seed (``vmap`` with
  ``randomness="different"``, ``models.cells.cbm.td_draw``), from the global generator seeded by the
  pack's last seed, so they are not the draws that seed would make alone: the same distribution, other
  samples.
- **BN running statistics** of a recurrent cell see the padded steps of a seed whose batch is shorter
  than another seed's (polygon targets are cut to the longest of all seeds' batches); the training
  losses and gradients do not (batch statistics of real steps are unchanged, the padding is ignored
  by the loss, the RNN is causal), the eval-mode statistics do a little.

A task supports it by defining ``stack_batches(batches) -> batch`` (the seeds' batches stacked on a
leading dim, tensors only) and ``loss_stacked(model, batch, cfg)`` (one seed's loss on its slice).
Schemes other than full BPTT, STSGD and DDP are not batched (``batch_problem`` says why), nor is a
pack any of whose seeds already has a checkpoint (the launcher trains those alone, resuming).

Whether to batch is measured, not assumed: ``python -m benchmark.perf seeds`` writes
``tables/perf/seeds.csv``, and ``pack_rule`` packs a configuration's seeds only where the batched mode
was measured faster than one job per seed at that precision.
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import torch
from torch.func import functional_call, stack_module_state, vmap
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from models import set_schedule

from ..config import RunConfig, td_rate_at, validate
from ..precision import autocast
from .checkpoint import seed_everything
from .loop import CHECKPOINT_FILE, RESULT_FILE, check_precision, end_epoch, evaluates, finish_run
from .task import get_task

SEEDS_CSV = Path(__file__).resolve().parents[2] / "tables" / "perf" / "seeds.csv"


def _sans_seed(cfg: RunConfig) -> str:
    """The configuration without its seed (and threads), as a comparable key."""
    d = cfg.to_dict()
    d.pop("seed"), d.pop("threads")
    return json.dumps(d, sort_keys=True, default=str)


def batch_problem(cfgs: list[RunConfig]) -> str | None:
    """None when these configs can train as one seed-batched model; else why not."""
    if len(cfgs) < 2:
        return "fewer than 2 seeds"
    if len({c.seed for c in cfgs}) != len(cfgs):
        return "two configs share a seed"
    if any(_sans_seed(c) != _sans_seed(cfgs[0]) for c in cfgs):
        return "the configs differ in more than the seed"
    cfg = cfgs[0]
    task = get_task(cfg.task)
    if not task.seed_batchable:
        return f"the {cfg.task} task has no stack_batches/loss_stacked"
    if cfg.scheme != "bptt" or cfg.stsgd_schedule:
        return "clip schemes and STSGD train seed by seed"
    if cfg.lr_schedule != "constant" or cfg.epoch_items or any(start != int(start) for start, _ in cfg.td_schedule):
        return "lr schedules, epoch_items and TD schedules that change mid-epoch train seed by seed"
    return None


def pack_rule(cfg: RunConfig, csv: Path = SEEDS_CSV) -> bool:
    """Pack a configuration's seeds into one batched job? Only where ``tables/perf/seeds.csv`` (written by
    ``python -m benchmark.perf seeds``) measured the batched mode faster than one job per seed at this
    precision, for every model measured; False when nothing was measured."""
    try:
        df = pd.read_csv(csv)
    except (OSError, ValueError):
        return False
    df = df[(df["precision"] == cfg.precision) & (df["n_seeds"] > 1)]
    if df.empty or "batched" not in set(df["mode"]):
        return False
    best = df.groupby(["model", "mode"])["seconds"].min().unstack()
    others = [m for m in best.columns if m != "batched"]
    return bool(len(others) and (best["batched"] < best[others].min(axis=1)).all())


def _optimizer_slice(state: dict, i: int) -> dict:
    """Seed ``i``'s Adam state out of the stacked one (the layout of a lone run's ``opt.state_dict()``)."""
    def cut(v):
        return v[i].clone() if torch.is_tensor(v) and v.dim() > 0 else copy.deepcopy(v)  # 0-dim: the step

    return {"state": {k: {name: cut(v) for name, v in s.items()} for k, s in state["state"].items()},
            "param_groups": copy.deepcopy(state["param_groups"])}


@torch.no_grad()
def _load_slice(model: torch.nn.Module, params: dict, buffers: dict, i: int) -> None:
    for name, p in model.named_parameters():
        p.copy_(params[name][i])
    for name, b in model.named_buffers():
        b.copy_(buffers[name][i])


class StackedSeeds:
    """The seeds of one configuration built as each is built alone, stacked into one batched model."""

    def __init__(self, cfgs: list[RunConfig], run_dirs: list[Path] | None = None):
        problem = batch_problem(cfgs)
        if problem:
            raise ValueError(f"{cfgs[0].experiment} ({cfgs[0].model}): cannot batch these seeds: {problem}")
        for cfg in cfgs:
            validate(cfg)
            check_precision(cfg)
        self.cfgs, self.cfg, self.n = cfgs, cfgs[0], len(cfgs)
        torch.set_num_threads(max(1, self.cfg.threads))
        self.task = task = get_task(self.cfg.task)
        self.seeds = []
        for cfg, run_dir in zip(cfgs, run_dirs or [None] * self.n):
            seed_everything(cfg.seed)  # as alone: the seed's initialisation
            model, train_set, test_set, collate = task.build(cfg, run_dir)
            gen = torch.Generator().manual_seed(cfg.seed)
            loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
                                generator=gen, drop_last=len(train_set) > cfg.batch_size)
            self.seeds.append(SimpleNamespace(cfg=cfg, dir=run_dir, model=model, train=train_set, test=test_set,
                                              loader=loader, gen=gen, history=[]))
        self.params, self.buffers = stack_module_state([s.model for s in self.seeds])
        self.base = base = copy.deepcopy(self.seeds[0].model).to("meta")  # tensors come from the stacks
        self.opt = torch.optim.Adam(list(self.params.values()), lr=self.cfg.lr)
        cfg0 = self.cfg

        def one_loss(p, b, batch):
            class Bound:  # the model as the task's loss calls it, on this seed's slice
                def __call__(self, *args, **kw):
                    return functional_call(base, (p, b), args, kw)

            return task.loss_stacked(Bound(), batch, cfg0)

        self.batched_loss = vmap(one_loss, randomness="different")

    def batches(self):
        """One epoch: tuples of one batch per seed. Each loader goes through tqdm exactly as the lone loop
        iterates it (tqdm's iteration draws from the loader's generator differently from a bare
        ``iter(loader)``), so every seed keeps its lone data order."""
        return zip(*(tqdm(s.loader, disable=True) for s in self.seeds))

    def set_epoch(self, epoch: int) -> float:
        rate = td_rate_at(self.cfg.td_schedule, epoch)
        set_schedule(self.base, "td_rate", rate)
        self.base.train()
        return rate

    def step(self, batches) -> torch.Tensor:
        """One training step of every seed (its own batch): the seeds' losses (float64, detached)."""
        self.opt.zero_grad(set_to_none=True)
        with autocast(self.cfg.precision):
            losses = self.batched_loss(self.params, self.buffers, self.task.stack_batches(list(batches)))
        losses.sum().backward()
        values = losses.detach().double()
        if not bool(torch.isfinite(values).all()):
            bad = [c.seed for c, v in zip(self.cfgs, values.tolist()) if not math.isfinite(v)]
            raise FloatingPointError(f"non-finite training loss of seed(s) {bad}")
        torch.nn.utils.clip_grad_value_(list(self.params.values()), self.cfg.grad_clip)
        self.opt.step()
        return values


def train_seeds_batched(cfgs: list[RunConfig], run_dirs: list[Path], progress: bool = True) -> list[dict]:
    """Train ``cfgs`` (one configuration, N seeds) as one batched model; write each seed's run directory
    as if trained alone. Returns the N results."""
    run_dirs = [Path(d) for d in run_dirs]
    if any((d / CHECKPOINT_FILE).exists() or (d / RESULT_FILE).exists() for d in run_dirs):
        raise ValueError("a seed already has a checkpoint or a result: train the seeds alone (they resume)")
    for d in run_dirs:
        d.mkdir(parents=True, exist_ok=True)
    sb = StackedSeeds(cfgs, run_dirs)
    cfg0, n, task = sb.cfg, sb.n, sb.task
    label = f"{cfg0.model} seeds {','.join(str(c.seed) for c in cfgs)}"
    for epoch in range(cfg0.epochs):
        t0 = time.time()
        rate = sb.set_epoch(epoch)
        totals, steps = torch.zeros(n, dtype=torch.float64), 0
        bar = tqdm(sb.batches(), total=len(sb.seeds[0].loader), desc=f"{label} epoch {epoch + 1}/{cfg0.epochs}",
                   disable=not progress, leave=False)
        for batches in bar:
            try:
                values = sb.step(batches)
            except FloatingPointError as e:
                raise FloatingPointError(f"{e} at epoch {epoch}") from None
            totals, steps = totals + values, steps + 1
            bar.set_postfix(loss=f"{float(values.mean()):.3f}")
        state = sb.opt.state_dict()
        seconds = round(time.time() - t0, 3)
        for i, s in enumerate(sb.seeds):
            _load_slice(s.model, sb.params, sb.buffers, i)
            s.model.eval()
            metrics = {}
            if evaluates(s.cfg, epoch):
                with autocast(s.cfg.precision):
                    metrics = task.evaluate(s.model, s.test, s.cfg)
            s.history.append({"epoch": epoch + 1, "train_loss": float(totals[i]) / max(steps, 1), "td_rate": rate,
                              **metrics, "seconds": seconds})
            end_epoch(s.dir, s.model.state_dict(), _optimizer_slice(state, i), epoch, s.gen, 0, s.history)
    return [finish_run(task, s.cfg, s.dir, s.model, s.train, s.test, s.history, 0, seed_batched=n)
            for s in sb.seeds]


def seed_packs(cfgs: list[RunConfig]) -> list[list[RunConfig]]:
    """``cfgs`` grouped by configuration (everything but the seed), in first-seen order."""
    groups: dict[str, list[RunConfig]] = {}
    for c in cfgs:
        groups.setdefault(_sans_seed(c), []).append(c)
    return list(groups.values())
