"""The Task protocol (benchmark/train/task.py): every trainer declares its task, hooks are declared (never
probed), an unknown name is one error naming the registered tasks."""
import pytest

from benchmark.train.task import Task, get_task, register_task, task_names

TASKS = ["action", "gesture", "landmarks", "nowcast", "polygon", "prediction", "sequence", "steering", "subgoal",
         "videopred"]


def test_every_trainer_registers_its_task():
    """... and config.TASKS, which validation reads without importing every trainer (that would make the
    ground-floor config import the whole training stack), names the same tasks."""
    from benchmark import config

    assert task_names() == TASKS == sorted(config.TASKS)
    for name in TASKS:
        assert get_task(name).name == name


def test_declared_hooks():
    assert get_task("polygon").seed_batchable and not get_task("action").seed_batchable
    assert get_task("action").loss_backward is not None and get_task("polygon").loss_backward is None
    assert get_task("landmarks").save_outputs is not None and get_task("nowcast").save_outputs is None


def test_unknown_task_names_the_registered_ones():
    with pytest.raises(ValueError, match="unknown task 'nope'; registered tasks: action, gesture"):
        get_task("nope")


def test_seed_batching_hooks_go_together_and_a_name_registers_once():
    def f(*a):
        return None

    with pytest.raises(ValueError, match="stack_batches and loss_stacked go together"):
        Task("x", build=f, loss=f, evaluate=f, stack_batches=f)
    with pytest.raises(ValueError, match="registered twice"):
        register_task(Task("polygon", build=f, loss=f, evaluate=f))
