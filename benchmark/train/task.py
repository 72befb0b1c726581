"""The Task protocol: what the training loop needs from a task, declared by the task (never probed).

Each ``benchmark/train/<task>.py`` ends with one ``register_task(Task(...))`` naming its functions:

- ``build(cfg, run_dir) -> (model, train_set, test_set, collate)``: ``run_dir`` is the run's directory
  (a fine-tuning task finds its pretraining run beside it; most tasks ignore it);
- ``loss(model, batch, cfg) -> Tensor``: the batch's mean loss, one graph;
- ``evaluate(model, test_set, cfg) -> dict``: test metrics, in eval mode.

Optional hooks, ``None`` where a task has none:

- ``loss_backward(model, batch, cfg) -> float``: the task back-propagates itself, term by term (the clip
  schemes: one clip's graph at a time, the same gradients as ``loss``), returning the loss value;
- ``save_outputs(model, test_set, cfg, run_dir)``: files beside the result (per-video test scores, ...);
- ``loss_weight(batch) -> int``: how many elements the loss averages over (DDP weighs ranks by it; the
  default counts the batch's first dimension, or its non-ignored targets);
- ``stack_batches(batches)`` and ``loss_stacked(model, batch, cfg)``: seed-batched training
  (``benchmark.train.seed_batch``), both or neither;
- ``test_model(cfg) -> (model, test_set)``: the untrained model and the test set alone, the cheap way
  (no training set, no pretraining): what ``loop.load_finished`` loads a finished run's weights into
  (without it, ``build``).

``get_task(name)`` imports ``benchmark.train.<name>`` (the module registers itself) and returns its Task;
an unknown name is one error naming the registered ones.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Task:
    name: str
    build: Callable
    loss: Callable
    evaluate: Callable
    loss_backward: Callable | None = None
    save_outputs: Callable | None = None
    loss_weight: Callable | None = None
    stack_batches: Callable | None = None
    loss_stacked: Callable | None = None
    test_model: Callable | None = None

    def __post_init__(self):
        if (self.stack_batches is None) != (self.loss_stacked is None):
            raise ValueError(f"task {self.name!r}: stack_batches and loss_stacked go together")

    @property
    def seed_batchable(self) -> bool:
        return self.stack_batches is not None


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Register ``task`` under its name (once per name: a second task of the same name is a bug)."""
    if task.name in _TASKS and _TASKS[task.name] is not task:
        raise ValueError(f"task {task.name!r} is registered twice")
    _TASKS[task.name] = task
    return task


def task_names() -> list[str]:
    """Every task module of ``benchmark/train`` that registers a task."""
    here = Path(__file__).parent
    for info in pkgutil.iter_modules([str(here)]):
        importlib.import_module(f"{__package__}.{info.name}")
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The registered Task ``name`` (its module imported on first use)."""
    if name not in _TASKS:
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.{name}":
                raise
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; registered tasks: {', '.join(task_names())}")
    return _TASKS[name]
