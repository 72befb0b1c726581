"""The generic training loop shared by every task.

A task declares what it provides (``benchmark.train.task.Task``: ``build``, ``loss``, ``evaluate`` and
optional hooks). The loop does the rest: seeding, Adam, element-wise gradient clipping, the Temporal Dropout schedule,
a checkpoint per epoch (resumed on restart) that also holds every epoch's metrics, ``metrics.jsonl``
rewritten atomically from it after each checkpoint (so a kill between the two never duplicates or loses
an epoch) and the final ``result.json``. A checkpoint that does not load is moved aside and the run
restarts from scratch (``benchmark.heal``).
"""
from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler
from tqdm.auto import tqdm

from models import set_schedule
from models.stacks import count_parameters

from ..config import RunConfig, td_rate_at, validate
from ..heal import move_aside, note_heal
from ..precision import autocast, bf16_problem
from .schedules import Plateau, final_metrics, lr_factor, set_lr
from ..rundir import (CHECKPOINT_FILE, METRICS_FILE, RESULT_FILE, CheckpointError, atomic_write_json,
                      load_checkpoint, read_checkpoint, read_metrics, write_metrics)
from ..rundir import run_dir as run_path
from .checkpoint import save_checkpoint, seed_everything, set_rng_state
from .task import get_task

def load_finished(runs_root: Path, cfg: RunConfig):
    """(model in eval mode, test set) of a finished run: its task's untrained model (``test_model``, else
    ``build``) with the weights of the run's checkpoint, loaded as weights only. The one place that loads a
    finished run's model."""
    task, path = get_task(cfg.task), run_path(runs_root, cfg)
    ckpt = read_checkpoint(path / CHECKPOINT_FILE)  # first: a missing or planted file fails before any build
    if task.test_model is not None:
        model, test_set = task.test_model(cfg)
    else:
        model, _, test_set, _ = task.build(cfg, path)
    model.load_state_dict(ckpt["model"])
    return model.eval(), test_set


def _sync_metrics(run_dir: Path, history: list[dict], resumed: bool) -> None:
    """Make ``metrics.jsonl`` hold exactly the epochs of the checkpoint (none on a fresh start): drops an
    epoch cut short, a cut line or a duplicate; a rewrite of a resumed run's file is logged as a heal."""
    path, want = Path(run_dir) / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in history)
    try:
        have = path.read_text(errors="replace")
    except OSError:
        have = None
    if have == want or (have is None and not history):
        return
    if have is not None and resumed:
        note_heal(run_dir, METRICS_FILE, f"rewritten from the checkpoint of epoch {len(history)}")
    write_metrics(run_dir, history)


def run_training(cfg: RunConfig, run_dir: Path, progress: bool = True, dist=None, model_hook=None) -> dict:
    """Train and evaluate one config in ``run_dir``; resumes from its checkpoint if there is one.

    ``dist`` (a ``benchmark.distributed.Dist``): this process is one rank of a DDP run; only rank 0
    evaluates and writes. ``model_hook``: applied to the built model (e.g. ``without_batchnorm``).
    """
    validate(cfg)
    check_precision(cfg)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    seed_everything(cfg.seed)
    task = get_task(cfg.task)
    model, train_set, test_set, collate = task.build(cfg, run_dir)  # run_dir: e.g. to find a pretraining run
    if model_hook is not None:
        model = model_hook(model)
    main = dist is None or dist.main
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loader_gen = torch.Generator().manual_seed(cfg.seed)
    loader = train_loader(cfg, train_set, collate, loader_gen)
    net = model  # what the training step calls (the DDP wrapper in a distributed run)
    if dist is not None:
        net, loader = dist.wrap(model), dist.loader(train_set, cfg.batch_size, collate, loader_gen,
                                                               cfg.epoch_items)
    elif cfg.compile:
        net = torch.compile(model)

    start_epoch, requeues, history, plateau = 0, 0, [], Plateau()
    ckpt = _resumable(run_dir, main)
    if ckpt is not None:  # resume exactly where the last complete epoch ended
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        loader_gen.set_state(ckpt["loader_rng"])
        set_rng_state(ckpt["rng"])
        start_epoch, requeues, history = ckpt["epoch"] + 1, ckpt.get("resumed", 0) + 1, ckpt["history"]
        plateau = Plateau(ckpt.get("lr_plateau"))
        if start_epoch >= cfg.epochs:  # trained to the end: only its result (or metrics) is rewritten
            requeues -= 1
    if main:
        _sync_metrics(run_dir, history, resumed=ckpt is not None)

    steps_per_epoch = len(loader)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        rate = td_rate_at(cfg.td_schedule, epoch)
        set_schedule(model, "td_rate", rate)
        if cfg.stsgd_schedule:  # STSGD, eq. 17 with p_s = p_t = p
            p = td_rate_at(cfg.stsgd_schedule, epoch)
            set_schedule(model, "stsgd_q", p, p_s=p)
        model.train()
        total, n = 0.0, 0
        bar = tqdm(loader, desc=f"{cfg.model} seed {cfg.seed} epoch {epoch + 1}/{cfg.epochs}",
                   disable=not progress, leave=False)
        for i, batch in enumerate(bar):
            rate = _step_schedules(cfg, model, opt, epoch, i, steps_per_epoch, plateau, rate)
            opt.zero_grad(set_to_none=True)
            if dist is None and task.loss_backward is not None:  # the task back-propagates (e.g. clip by clip)
                with autocast(cfg.precision):
                    value = task.loss_backward(net, batch, cfg)
            elif net is not model and dist is None:  # compiled: falls back to eager if compiling fails
                loss, net = _compiled_loss(task, net, model, batch, cfg)
                value = loss.item()
                loss.backward()
            else:
                with autocast(cfg.precision):
                    loss = task.loss(net, batch, cfg)
                value = loss.item()
                if dist is not None:  # weighted so that the step equals one process on the global batch
                    loss, value = dist.scale_loss(loss, task, batch)
                loss.backward()
            if not math.isfinite(value):
                raise FloatingPointError(f"non-finite training loss {value} at epoch {epoch}")
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
            opt.step()
            total, n = total + value, n + 1
            bar.set_postfix(loss=f"{value:.3f}")
        model.eval()
        if cfg.lr_schedule == "plateau":  # every rank sees its own loss; rank 0's is the one logged
            plateau.update(total / max(n, 1))
        if not main:  # rank 0 evaluates and writes; the others go on with the next epoch
            continue
        metrics = {}
        if evaluates(cfg, epoch):
            with autocast(cfg.precision):
                metrics = task.evaluate(model, test_set, cfg)
        history.append({"epoch": epoch + 1, "train_loss": total / max(n, 1), "td_rate": rate,
                        **({"lr": opt.param_groups[0]["lr"]} if cfg.lr_schedule != "constant" else {}),
                        **metrics, "seconds": round(time.time() - t0, 3)})
        end_epoch(run_dir, model.state_dict(), opt.state_dict(), epoch, loader_gen, requeues, history,
                  lr_plateau=plateau.state if cfg.lr_schedule == "plateau" else None)

    if not main:
        return {}
    return finish_run(task, cfg, run_dir, model, train_set, test_set, history, requeues)


def evaluates(cfg: RunConfig, epoch: int) -> bool:
    """Whether epoch ``epoch`` (0-based) ends with an evaluation (``cfg.eval_last``: only the last N do)."""
    return not cfg.eval_last or epoch >= cfg.epochs - cfg.eval_last


def train_loader(cfg: RunConfig, train_set, collate, generator: torch.Generator) -> DataLoader:
    """Shuffled mini-batches of the training set; with ``cfg.epoch_items`` an epoch is a fresh random draw
    of that many items (without replacement), so many distinct items need not mean long epochs."""
    n = min(cfg.epoch_items, len(train_set)) if cfg.epoch_items else len(train_set)
    sampler = RandomSampler(train_set, num_samples=n, generator=generator) if cfg.epoch_items else None
    return DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                      collate_fn=collate, generator=generator if sampler is None else None,
                      drop_last=n > cfg.batch_size)


def _step_schedules(cfg: RunConfig, model, opt, epoch: int, i: int, steps_per_epoch: int, plateau: Plateau,
                    rate: float) -> float:
    """Before step ``i`` of ``epoch``: the TD rate of that point of training (fractional epochs of
    ``td_schedule`` start mid-epoch; whole ones keep the rate for the epoch) and the scheduled lr. Returns
    the TD rate in force."""
    if cfg.td_schedule:
        now = td_rate_at(cfg.td_schedule, epoch + i / max(steps_per_epoch, 1))
        if now != rate:
            set_schedule(model, "td_rate", now)
            rate = now
    if cfg.lr_schedule != "constant":
        set_lr(opt, cfg.lr * lr_factor(cfg, epoch * steps_per_epoch + i, cfg.epochs * steps_per_epoch, plateau))
    return rate


def _compiled_loss(task, net, model, batch, cfg: RunConfig):
    """The loss through the compiled model; if torch.compile fails (no compiler, an unsupported op), one
    warning and the eager model from then on. Returns (loss, the model to use from now on)."""
    try:
        with autocast(cfg.precision):
            return task.loss(net, batch, cfg), net
    except Exception as e:  # compile errors surface at the first call
        warnings.warn(f"{cfg.model}: torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                      "training eager", RuntimeWarning, stacklevel=2)
        with autocast(cfg.precision):
            return task.loss(model, batch, cfg), model


def check_precision(cfg: RunConfig) -> None:
    """bf16 only where it is fast (``benchmark.precision``): else one line naming the fix."""
    problem = bf16_problem() if cfg.precision == "bf16" else None
    if problem:
        raise ValueError(f"{cfg.experiment} ({cfg.model}): {problem}")


def end_epoch(run_dir: Path, model_state: dict, optimizer_state: dict, epoch: int, loader_gen, requeues: int,
              history: list[dict], lr_plateau: dict | None = None) -> None:
    """The checkpoint first (it holds the metrics too), then the metrics file rewritten from it."""
    extra = {"lr_plateau": lr_plateau} if lr_plateau is not None else {}
    save_checkpoint(run_dir / CHECKPOINT_FILE, model=model_state, optimizer=optimizer_state,
                    epoch=epoch, loader_rng=loader_gen.get_state(), resumed=requeues, history=history, **extra)
    write_metrics(run_dir, history)


def finish_run(task, cfg: RunConfig, run_dir: Path, model, train_set, test_set, history: list[dict],
               requeues: int, **extra) -> dict:
    """The task's extra files and ``result.json`` of a run trained to its last epoch; ``final`` averages the
    last ``cfg.average_last`` epochs' metrics."""
    final = final_metrics(history, cfg.average_last)
    if task.save_outputs is not None:  # task files beside the result (action: per-video test scores)
        with autocast(cfg.precision):
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
        **extra,
    }
    atomic_write_json(run_dir / RESULT_FILE, result)
    return result


def _resumable(run_dir: Path, main: bool) -> dict | None:
    """The run's checkpoint with its ``history`` (metrics of epochs 1..epoch+1), or None to start from
    scratch: a checkpoint that does not load, or whose epochs' metrics are lost, is moved aside."""
    path = run_dir / CHECKPOINT_FILE
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as e:
        if main:
            move_aside(path, str(e).split(": ", 1)[-1], run=run_dir)
        return None
    if ckpt is None:
        return None
    if "history" not in ckpt:  # checkpoints before the metrics moved into them: metrics.jsonl's rows
        ckpt["history"] = [r for r in read_metrics(run_dir) if r["epoch"] <= ckpt["epoch"] + 1]
    if [r.get("epoch") for r in ckpt["history"]] != list(range(1, ckpt["epoch"] + 2)):
        if main:
            move_aside(path, f"the metrics of epochs 1..{ckpt['epoch'] + 1} are not all there", run=run_dir)
        return None
    return ckpt
