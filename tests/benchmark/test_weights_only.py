"""Checkpoints load as weights only: the format written before the RNG state became tensors still resumes and
still serves ``load_trained``; a planted pickle with a ``__reduce__`` payload is refused in one line, never
run, and the run it sat in trains again from scratch."""
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.catalogue import resolve
from benchmark.train.loop import load_finished as load_trained
from benchmark.heal import read_attempts
from benchmark.launch import launch
from benchmark.results import run_dir
from benchmark.rundir import CheckpointError, read_checkpoint, safe_load
from benchmark.train.checkpoint import set_rng_state
from benchmark.train.loop import CHECKPOINT_FILE, read_metrics

ROOT = Path(__file__).resolve().parents[2]


def _cfg():
    return resolve("deeprnn.fig3").runs("smoke")[0]


def _train(runs):
    cfg = _cfg()
    counts = launch([cfg], runs, "debug", progress=False)
    assert counts.get("done") == 1, counts
    return cfg, run_dir(runs, cfg)


def _old_format(path: Path) -> None:
    """Rewrite a checkpoint as the code before this change did: numpy's RNG state as np.random.get_state()."""
    ckpt = safe_load(path)
    npst = ckpt["rng"]["numpy"]
    ckpt["rng"]["numpy"] = (npst["kind"], npst["key"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
                            npst["cached_gaussian"])
    ckpt.pop("history")
    torch.save(ckpt, path)


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_no_unsafe_load_is_left():
    for folder in ("benchmark", "models"):
        for f in (ROOT / folder).rglob("*.py"):
            text = f.read_text()
            assert "weights_only=False" not in text, f
            for call in re.findall(r"torch\.load\([^)]*\)", text):
                assert "weights_only=True" in call, (f, call)


def test_rng_state_round_trips_through_weights_only(tmp_path):
    from benchmark.train.checkpoint import rng_state, save_checkpoint

    np.random.seed(3), random.seed(3), torch.manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", epoch=0)
    want = (np.random.rand(3), random.random(), torch.rand(2))
    np.random.rand(5), random.random(), torch.rand(4)
    set_rng_state(safe_load(tmp_path / "c.pt")["rng"])
    got = (np.random.rand(3), random.random(), torch.rand(2))
    assert np.array_equal(want[0], got[0]) and want[1] == got[1] and torch.equal(want[2], got[2])
    assert isinstance(rng_state()["numpy"]["key"], torch.Tensor)


def test_checkpoint_in_the_format_before_loads_for_resume_and_load_trained(tmp_path):
    cfg, path = _train(tmp_path / "runs")
    before = read_metrics(path)
    _old_format(path / CHECKPOINT_FILE)
    with pytest.raises(Exception):  # what made weights_only=True fail before: numpy's state
        torch.load(path / CHECKPOINT_FILE, weights_only=True)
    ckpt = read_checkpoint(path / CHECKPOINT_FILE)
    assert isinstance(ckpt["rng"]["numpy"], tuple)
    set_rng_state(ckpt["rng"])
    model, _ = load_trained(tmp_path / "runs", cfg)  # the catalogue's reader of finished runs
    assert not model.training
    # resume: the finished run's result is gone, its old-format checkpoint is the last epoch
    (path / "result.json").unlink()
    assert launch([cfg], tmp_path / "runs", "debug", progress=False)["done"] == 1
    assert read_metrics(path) == before
    assert not list(path.glob("checkpoint.pt.corrupt-*"))


def test_planted_malicious_checkpoint_is_refused_not_run_and_the_run_restarts(tmp_path, capsys):
    cfg = _cfg()
    runs = tmp_path / "runs"
    path = run_dir(runs, cfg)
    path.mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"model": Payload(marker), "epoch": 0}, path / CHECKPOINT_FILE)  # an unfinished run's
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(path / CHECKPOINT_FILE)
    assert "refused" in str(e.value) and "system" in str(e.value) and "\n" not in str(e.value)
    assert launch([cfg], runs, "debug", progress=False)["done"] == 1
    assert not marker.exists()  # the payload never ran
    err = [line for line in capsys.readouterr().err.splitlines() if "checkpoint.pt" in line]
    assert len(err) == 1 and "refused" in err[0] and "moved to checkpoint.pt.corrupt-" in err[0]
    healed = [a for a in read_attempts(path) if a["event"] == "healed"]
    assert len(healed) == 1 and healed[0]["what"] == "checkpoint.pt" and "refused" in healed[0]["reason"]
    assert len(list(path.glob("checkpoint.pt.corrupt-*"))) == 1
    assert [r["epoch"] for r in read_metrics(path)] == [1]
    # the same run undisturbed: identical metrics
    _, clean = _train(tmp_path / "clean")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(read_metrics(path)) == strip(read_metrics(clean))


def test_malicious_checkpoint_of_a_finished_run_is_refused_when_read_for_outputs(tmp_path):
    cfg, path = _train(tmp_path / "runs")
    marker = tmp_path / "pwned"
    torch.save({"model": Payload(marker)}, path / CHECKPOINT_FILE)
    with pytest.raises(CheckpointError, match="refused"):
        load_trained(tmp_path / "runs", cfg)
    assert not marker.exists()


def test_c3d_loader_refuses_a_pickle(tmp_path):
    from models.backbones import c3d

    marker = tmp_path / "pwned"
    torch.save({"fc6.weight": Payload(marker)}, tmp_path / "c3d.pt")
    with pytest.raises(Exception):
        c3d(num_classes=3, pretrained=str(tmp_path / "c3d.pt"))
    assert not marker.exists()
