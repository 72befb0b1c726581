"""Bit-identical reruns on CPU; a 2-process gloo DDP run equals one process with the same global batch."""
import dataclasses
import socket

import torch

from benchmark.catalogue import resolve
from benchmark.distributed import spawn_local, without_batchnorm
from benchmark.train.loop import CHECKPOINT_FILE, read_metrics, run_training


def _cfg(**kw):
    return dataclasses.replace(resolve("table6").runs("smoke")[0], threads=1, **kw)  # Polyg-LSTM 2


def _curve(path):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(path)]


def test_same_config_and_seed_is_bit_identical(tmp_path):
    cfg = _cfg()
    run_training(cfg, tmp_path / "a", progress=False)
    run_training(cfg, tmp_path / "b", progress=False)
    assert _curve(tmp_path / "a") == _curve(tmp_path / "b")
    a = torch.load(tmp_path / "a" / CHECKPOINT_FILE, weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / CHECKPOINT_FILE, weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_ddp_matches_one_process_same_global_batch(tmp_path):
    cfg = _cfg(epochs=3)  # global batch 8: 4 per rank
    model = without_batchnorm(__import__("benchmark.train.polygon", fromlist=["build"]).build(cfg)[0])
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    run_training(cfg, tmp_path / "one", progress=False, model_hook=without_batchnorm)
    spawn_local(cfg, tmp_path / "ddp", world=2, port=_free_port(), model_hook=without_batchnorm)
    one, ddp = read_metrics(tmp_path / "one"), read_metrics(tmp_path / "ddp")
    assert len(one) == len(ddp) == 3
    for a, b in zip(one, ddp):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-5, (a, b)
        assert abs(a["test_loss"] - b["test_loss"]) < 1e-5, (a, b)
    assert (tmp_path / "ddp" / "result.json").exists()
