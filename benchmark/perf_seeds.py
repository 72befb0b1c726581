"""What five seeds cost against one: ``python -m benchmark.perf seeds [--quick]``.

On deeprnn Table 6's cpu-scale configurations of polygon ConvLSTM-5 and CBM-5 (the catalogue's configs:
widths, data, batch 16), a fixed number of training steps (each: forward under the precision's
autocast, the loss, backward, element-wise clipping, Adam; one untimed warm-up step first; model and data
building not timed), in fp32 and bf16 (bf16 only where ``benchmark.precision.bf16_problem`` allows):

- ``single``     1 seed alone, one process: with 1 thread (how the suite runs every run: ``threads`` 1,
                 one job per core) and with every core as a thread;
- ``sequential`` 5 seeds one after another in one process, every core as a thread;
- ``parallel``   5 seeds as the local launcher runs them: one job per seed, one job per core at a time,
                 1 thread each (``seconds`` = the busiest worker's summed step time: the makespan);
- ``batched``    5 seeds as one stacked model (``benchmark.train.seed_batch.StackedSeeds``), one
                 process, every core as a thread.

Writes ``tables/perf/seeds.csv`` (``n_seeds, mode, precision, seconds, ...`` per model; ``seconds`` of
``steps`` steps of every seed) and prints last ``seeds: 5 <mode> <precision> / 1 single fp32 = X.XXx``:
the best 5-seed mode (by the two models' summed seconds) over one seed alone in fp32 with 1 thread, the
way a lone run runs. The line before it gives the same against one seed using every core.
``benchmark.train.seed_batch.pack_rule`` reads this file: the launcher packs a configuration's seeds into
one batched job only where ``batched`` measured faster than the other 5-seed modes.
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

MODELS = ("polygon_convlstm_5", "polygon_cbm_5")
N_SEEDS = 5


def _configs(model: str, precision: str, n: int):
    from .catalogue import resolve

    cfgs = [c for c in resolve("deeprnn.table6").runs("cpu", n, None, precision) if c.model == model]
    assert len(cfgs) == n, (model, len(cfgs))
    return cfgs


def _lone_steps(cfg, steps: int) -> float:
    """Seconds of ``steps`` training steps of one seed built as ``run_training`` builds it."""
    from .precision import autocast
    from .train.checkpoint import seed_everything
    from .train.task import get_task
    from torch.utils.data import DataLoader

    task = get_task(cfg.task)
    seed_everything(cfg.seed)
    model, train_set, _, collate = task.build(cfg)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
                        generator=torch.Generator().manual_seed(cfg.seed), drop_last=True)

    def batches():
        while True:
            yield from tqdm(loader, disable=True)

    it = batches()
    t0 = None
    for i in range(steps + 1):  # step 0: warm-up, not timed
        if i == 1:
            t0 = time.perf_counter()
        batch = next(it)
        opt.zero_grad(set_to_none=True)
        with autocast(cfg.precision):
            loss = task.loss(model, batch, cfg)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
        opt.step()
    return time.perf_counter() - t0


def _batched_steps(cfgs, steps: int) -> float:
    from .train.seed_batch import StackedSeeds

    sb = StackedSeeds(cfgs)
    sb.set_epoch(0)

    def batches():
        while True:
            yield from sb.batches()

    it = batches()
    t0 = None
    for i in range(steps + 1):
        if i == 1:
            t0 = time.perf_counter()
        sb.step(next(it))
    return time.perf_counter() - t0


def _worker(args) -> tuple[int, float]:
    cfg, steps = args
    torch.set_num_threads(1)
    return os.getpid(), _lone_steps(cfg, steps)


def _parallel(cfgs, steps: int, jobs: int) -> float:
    """One job per seed, ``jobs`` at a time, 1 thread each: the busiest worker's summed step time."""
    with mp.get_context("spawn").Pool(jobs) as pool:
        done = pool.map(_worker, [(c, steps) for c in cfgs], chunksize=1)
    per_worker: dict[int, float] = {}
    for pid, sec in done:
        per_worker[pid] = per_worker.get(pid, 0.0) + sec
    return max(per_worker.values())


def measure(steps: int, precisions, models=MODELS, log=print) -> list[dict]:
    from .perf import machine

    cores = os.cpu_count() or 1
    rows = []
    for precision in precisions:
        for model in models:
            cfgs = _configs(model, precision, N_SEEDS)

            def add(n, mode, threads, jobs, seconds):
                rows.append(dict(n_seeds=n, mode=mode, precision=precision, seconds=round(seconds, 3), model=model,
                                 steps=steps, threads=threads, jobs_at_once=jobs,
                                 seconds_per_seed_step=round(seconds / (n * steps), 4), machine=machine()))
                log(f"  {model:<20} {precision} {mode:<10} {n} seed(s), {threads} thread(s), {jobs} job(s) at once: "
                    f"{seconds:.2f} s")

            torch.set_num_threads(1)
            add(1, "single", 1, 1, _lone_steps(cfgs[0], steps))
            torch.set_num_threads(cores)
            add(1, "single", cores, 1, _lone_steps(cfgs[0], steps))
            add(N_SEEDS, "sequential", cores, 1, sum(_lone_steps(c, steps) for c in cfgs))
            add(N_SEEDS, "parallel", 1, cores, _parallel(cfgs, steps, cores))
            add(N_SEEDS, "batched", cores, 1, _batched_steps([dataclasses.replace(c, threads=cores) for c in cfgs], steps))
    return rows


def summary(rows: list[dict]) -> list[str]:
    df = pd.DataFrame(rows)
    total = df.groupby(["n_seeds", "mode", "precision", "threads"], as_index=False)["seconds"].sum()
    one = total[(total["n_seeds"] == 1) & (total["precision"] == "fp32")].set_index("threads")["seconds"]
    five = total[total["n_seeds"] == N_SEEDS].sort_values("seconds")
    best = five.iloc[0]
    lines = []
    for _, r in five.iterrows():
        lines.append(f"  5 seeds {r['mode']:<10} {r['precision']}: {r['seconds']:.2f} s")
    cores = int(one.index.max())
    lines.append(f"seeds: 5 {best['mode']} {best['precision']} / 1 single fp32 with {cores} threads = "
                 f"{best['seconds'] / one[cores]:.2f}x")
    lines.append(f"seeds: 5 {best['mode']} {best['precision']} / 1 single fp32 = {best['seconds'] / one[1]:.2f}x")
    return lines


def main(argv=None) -> dict:
    from .precision import bf16_problem

    ap = argparse.ArgumentParser(prog="python -m benchmark.perf seeds", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (under 5 minutes on 2 cores)")
    ap.add_argument("--steps", type=int, default=None, help="training steps per seed (default 12 quick, 40)")
    ap.add_argument("--out-dir", default=".", help="writes <out-dir>/tables/perf/seeds.csv")
    args = ap.parse_args(argv)
    steps = args.steps or (12 if args.quick else 40)
    if steps < 1:
        ap.error("--steps must be at least 1")
    precisions = ["fp32"]
    if bf16_problem() is None:
        precisions.append("bf16")
    else:
        print(f"bf16 not measured: {bf16_problem()}")
    from .perf import machine

    print(f"machine: {machine()}; {steps} steps per seed; models {', '.join(MODELS)}", flush=True)
    rows = measure(steps, precisions)
    path = Path(args.out_dir) / "tables" / "perf" / "seeds.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    lines = summary(rows)
    print(f"wrote {path}")
    print("\n".join(lines))
    return {"rows": rows, "summary": lines}
