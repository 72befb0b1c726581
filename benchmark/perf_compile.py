"""Does ``torch.compile`` pay for a whole run? ``python -m benchmark.perf compile [--models M ...]``.

For each model (deeprnn Table 6's cpu-scale configs; default the smallest, polygon CBM-2, where per-call
overhead is largest and compiling should help most) and precision: the eager training step, then the
compiled one (``torch.compile(model)``, default inductor backend): the first compiled step (which compiles)
and the steady step after it, on the same batches (one fixed target length, so no recompiles are counted;
the polygon task's lengths vary per batch, which can recompile). Writes ``tables/perf/compile.csv``
with the break-even: ``compile_seconds / (eager_step - compiled_step)`` steps, against the steps of one
cpu-scale run (``epochs * steps per epoch``). Compiling is worth it for a run only when the run has
more steps than that; ``--compile`` on ``benchmark.run`` turns it on (off by default).

The compile time is measured COLD: inductor keeps compiled kernels in an on-disk cache
(``TORCHINDUCTOR_CACHE_DIR``), which made a second measurement of the same model compile in 3 s where
the first took minutes; this command points the cache at a fresh temporary folder (``--warm-cache``
keeps the user's), as a new machine or a Slurm node would see it.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
import torch

DEFAULT_MODELS = ("polygon_cbm_2",)


def _time_steps(model, step_batches, task, cfg, opt) -> list[float]:
    from .precision import autocast

    out = []
    for batch in step_batches:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast(cfg.precision):
            loss = task.loss(model, batch, cfg)
        loss.backward()
        opt.step()
        out.append(time.perf_counter() - t0)
    return out


def measure(model_name: str, precision: str, steps: int, log=print) -> dict:
    from .catalogue import resolve
    from .perf import machine
    from .train.checkpoint import seed_everything
    from .train.task import get_task
    from torch.utils.data import DataLoader

    cfg = [c for c in resolve("deeprnn.table6").runs("cpu", 1, None, precision) if c.model == model_name][0]
    task = get_task(cfg.task)
    seed_everything(0)
    model, train_set, _, collate = task.build(cfg)
    model.train()
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=False, collate_fn=collate, drop_last=True)
    batch = next(iter(loader))
    batches = [batch] * (steps + 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    eager = _time_steps(model, batches, task, cfg, opt)[1:]
    compiled_model = torch.compile(model)
    t = _time_steps(compiled_model, batches, task, cfg, opt)
    first, steady = t[0], sorted(t[1:])[len(t[1:]) // 2]
    eager_step = sorted(eager)[len(eager) // 2]
    compile_s = first - steady
    saved = eager_step - steady
    run_steps = cfg.epochs * len(loader)
    row = dict(model=model_name, precision=precision, eager_step_s=round(eager_step, 4),
               compiled_step_s=round(steady, 4), first_compiled_step_s=round(first, 2),
               compile_s=round(compile_s, 2), speedup=round(eager_step / steady, 3),
               break_even_steps=round(compile_s / saved) if saved > 0 else None, run_steps=run_steps,
               run_eager_s=round(run_steps * eager_step, 1), run_compiled_s=round(compile_s + run_steps * steady, 1),
               machine=machine())
    row["pays_for_a_run"] = bool(row["run_compiled_s"] < row["run_eager_s"])
    row["inductor_cache"] = "warm" if os.environ.get("BENCHMARK_WARM_CACHE") else "cold"
    log(f"  {model_name} {precision}: eager {eager_step:.3f} s/step, compiled {steady:.3f} s/step "
        f"({row['speedup']}x) after {compile_s:.0f} s of compiling; a run of {run_steps} steps: eager "
        f"{row['run_eager_s']} s, compiled {row['run_compiled_s']} s")
    return row


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmark.perf compile", description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    ap.add_argument("--precisions", nargs="+", default=["fp32"], choices=("fp32", "bf16"))
    ap.add_argument("--steps", type=int, default=10, help="timed steps of each kind")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out-dir", default=".")
    ap.add_argument("--warm-cache", action="store_true", help="keep inductor's on-disk cache (default: a fresh one)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.warm_cache:
        os.environ["BENCHMARK_WARM_CACHE"] = "1"
    else:
        import tempfile

        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="benchmark-inductor-")
    rows = [measure(m, p, args.steps) for m in args.models for p in args.precisions]
    path = Path(args.out_dir) / "tables" / "perf" / "compile.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    print(f"wrote {path}")
    return {"rows": rows}
