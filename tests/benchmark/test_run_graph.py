"""The run graph: a run that starts from another says so in its config (``data_kw["pretrain"]``,
``config.prerequisites``); the launcher trains the other first, in waves; a trainer never launches a run."""
import dataclasses

from benchmark.catalogue import resolve
from benchmark.config import prerequisites
from benchmark.launch import launch, read_attempts, run_waves
from benchmark.rundir import run_dir, run_status


def _table3_seed0():
    """deeprnn Table 3 at smoke, seed 0: the Kinetics pre-training run and its two fine-tuning runs."""
    return resolve("deeprnn.table3").runs("smoke", 1)


def test_prerequisites_are_the_pretraining_config():
    pre, *tuned = _table3_seed0()
    assert prerequisites(pre) == []
    assert all(prerequisites(c) == [dataclasses.replace(pre, threads=c.threads)] for c in tuned)


def test_waves_put_unfinished_pretraining_first_and_pull_it_in(tmp_path):
    pre, *tuned = _table3_seed0()
    assert run_waves([pre, *tuned], tmp_path) == [[pre], tuned]
    assert run_waves(tuned, tmp_path) == [[pre], tuned]  # asked only for the fine-tuning runs: pulled in
    assert run_waves([pre], tmp_path) == [[pre]]


def test_the_launcher_trains_the_pretraining_run_once_before_the_fine_tuning_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))
    pre, *tuned = _table3_seed0()
    counts = launch(tuned, tmp_path / "runs", "debug", progress=False)
    assert counts == {"submitted": 3, "done": 2}  # a fine-tuning run started early would fail: it needs the weights
    assert run_status(run_dir(tmp_path / "runs", pre)) == "done"
    assert [e["event"] for e in read_attempts(run_dir(tmp_path / "runs", pre))].count("started") == 1
    assert run_waves(tuned, tmp_path / "runs") == [tuned]  # finished: nothing to wait for any more
