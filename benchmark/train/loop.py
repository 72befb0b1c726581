"""The generic training loop shared by every task.

A task module provides ``build(cfg) -> (model, train_set, test_set, collate)``,
``loss(model, batch) -> scalar`` and ``evaluate(model, test_set, cfg) -> dict`` (test metrics).
The loop does the rest: seeding, Adam, element-wise gradient clipping, the Temporal Dropout schedule,
per-epoch metrics appended to ``metrics.jsonl``, a checkpoint per epoch (resumed on restart) and the
final ``result.json``.
"""
from __future__ import annotations

import importlib
import inspect
import json
import math
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from models import set_td_rate
from models.cells.scs import set_stsgd_q
from models.stacks import count_parameters

from ..config import RunConfig, td_rate_at, validate
from .checkpoint import atomic_write_json, load_checkpoint, save_checkpoint, seed_everything, set_rng_state

METRICS_FILE, RESULT_FILE, CHECKPOINT_FILE = "metrics.jsonl", "result.json", "checkpoint.pt"


def task_module(name: str):
    return importlib.import_module(f"benchmark.train.{name}")


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_training(cfg: RunConfig, run_dir: Path, progress: bool = True, dist=None, model_hook=None) -> dict:
    """Train and evaluate one config in ``run_dir``; resumes from its checkpoint if there is one.

    ``dist`` (a ``benchmark.distributed.Dist``): this process is one rank of a DDP run; only rank 0
    evaluates and writes. ``model_hook``: applied to the built model (e.g. ``without_batchnorm``).
    """
    validate(cfg)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    seed_everything(cfg.seed)
    task = task_module(cfg.task)
    # a task whose build takes ``run_dir`` gets it (e.g. to find a pretraining run beside this one)
    build_kw = {"run_dir": run_dir} if "run_dir" in inspect.signature(task.build).parameters else {}
    model, train_set, test_set, collate = task.build(cfg, **build_kw)
    if model_hook is not None:
        model = model_hook(model)
    main = dist is None or dist.main
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loader_gen = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
                        generator=loader_gen, drop_last=len(train_set) > cfg.batch_size)
    net = model  # what the training step calls (the DDP wrapper in a distributed run)
    if dist is not None:
        net, loader = dist.wrap(model), dist.loader(train_set, cfg.batch_size, collate, loader_gen)

    start_epoch, requeues = 0, 0
    ckpt = load_checkpoint(run_dir / CHECKPOINT_FILE)
    if ckpt is not None:  # resume exactly where the last complete epoch ended
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        loader_gen.set_state(ckpt["loader_rng"])
        set_rng_state(ckpt["rng"])
        start_epoch, requeues = ckpt["epoch"] + 1, ckpt.get("resumed", 0) + 1
        if main:
            _truncate_metrics(run_dir, start_epoch)

    history = read_metrics(run_dir)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        rate = td_rate_at(cfg.td_schedule, epoch)
        set_td_rate(model, rate)
        if cfg.stsgd_schedule:  # STSGD, eq. 17 with p_s = p_t = p
            p = td_rate_at(cfg.stsgd_schedule, epoch)
            set_stsgd_q(model, p, p_s=p)
        model.train()
        total, n = 0.0, 0
        bar = tqdm(loader, desc=f"{cfg.model} seed {cfg.seed} epoch {epoch + 1}/{cfg.epochs}",
                   disable=not progress, leave=False)
        for batch in bar:
            opt.zero_grad(set_to_none=True)
            if dist is None and hasattr(task, "loss_backward"):  # the task back-propagates (e.g. clip by clip)
                value = task.loss_backward(net, batch, cfg)
            else:
                loss = task.loss(net, batch, cfg)
                value = loss.item()
                if dist is not None:  # weighted so that the step equals one process on the global batch
                    from ..distributed import loss_weight

                    loss, value = dist.scale_loss(loss, loss_weight(task, batch))
                loss.backward()
            if not math.isfinite(value):
                raise FloatingPointError(f"non-finite training loss {value} at epoch {epoch}")
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
            opt.step()
            total, n = total + value, n + 1
            bar.set_postfix(loss=f"{value:.3f}")
        model.eval()
        if not main:  # rank 0 evaluates and writes; the others go on with the next epoch
            continue
        row = {"epoch": epoch + 1, "train_loss": total / max(n, 1), "td_rate": rate,
               **task.evaluate(model, test_set, cfg), "seconds": round(time.time() - t0, 3)}
        history.append(row)
        with open(run_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(row) + "\n")
        save_checkpoint(run_dir / CHECKPOINT_FILE, model=model.state_dict(), optimizer=opt.state_dict(),
                        epoch=epoch, loader_rng=loader_gen.get_state(), resumed=requeues)

    if not main:
        return {}
    final = history[-1]
    if hasattr(task, "save_outputs"):  # task files beside the result (action: per-video test scores)
        task.save_outputs(model, test_set, cfg, run_dir)
    result = {
        "status": "done",
        "final": final,
        "params_total": count_parameters(model),
        "params_rnn": count_parameters(model.rnn) if hasattr(model, "rnn") else None,
        "dataset_source": getattr(train_set, "source", cfg.dataset),
        "dataset_fingerprint": {"train": train_set.fingerprint(), "test": test_set.fingerprint()}
        if hasattr(train_set, "fingerprint") else None,
        "n_train": len(train_set), "n_test": len(test_set),
        "requeued": requeues,
        # corrupt files the loaders skipped (with a warning) in this process
        "skipped_files": sum(getattr(d, "skipped_count", 0) for d in (train_set, test_set)),
    }
    atomic_write_json(run_dir / RESULT_FILE, result)
    return result


def _truncate_metrics(run_dir: Path, epochs_done: int) -> None:
    """Drop metric lines of an epoch that started after the last checkpoint (an interrupted epoch)."""
    rows = [r for r in read_metrics(run_dir) if r["epoch"] <= epochs_done]
    (run_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
