"""The run graph: a run that starts from another says so in its config (``data_kw["pretrain"]``,
``config.prerequisites``); the launcher trains the other first, in waves; a trainer never launches a run."""
import dataclasses

from benchmark.catalogue import resolve
from benchmark.config import prerequisites
from benchmark.launch import launch, read_attempts, run_waves
from benchmark.rundir import run_dir, run_status


def _table3_seed0():
    """deeprnn Table 3's CBM at smoke, seed 0: the Kinetics pre-training run and its two fine-tuning runs (the
    shallow LSTM row has the same three, from its own Kinetics run)."""
    return [c for c in resolve("deeprnn.table3").runs("smoke", 1) if c.labels["row"] == "Deep CBM without BB"]


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


def test_a_failed_pretraining_run_blocks_its_fine_tuning_runs_in_one_line(tmp_path, monkeypatch):
    from benchmark.rundir import FAILED_FILE, read_json
    from benchmark.train import action

    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))
    real = action.datasets

    def datasets(cfg):
        if not cfg.data_kw.get("pretrain"):
            raise RuntimeError("the Kinetics copy is broken")
        return real(cfg)

    monkeypatch.setattr(action, "datasets", datasets)
    pre, *tuned = _table3_seed0()
    counts = launch(tuned, tmp_path / "runs", "debug", progress=False)
    assert counts == {"submitted": 1, "failed": 2}  # only the pre-training run was started
    assert "the Kinetics copy is broken" in read_json(run_dir(tmp_path / "runs", pre) / FAILED_FILE)["error"]
    for c in tuned:
        error = read_json(run_dir(tmp_path / "runs", c) / FAILED_FILE)["error"]
        assert error.startswith("not started: its pre-training run ") and error.endswith("launch again to retry it")


def test_dry_run_shows_the_waves_and_makes_nothing(tmp_path, capsys):
    from benchmark.run import main

    assert main(["deeprnn.table3", "--scale", "smoke", "--seeds", "1", "--dry-run", "--runs-dir",
                 str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "wave 1/2:" in out and "wave 2/2 (once the wave before has finished):" in out
    assert out.count("  submit   ") == 6 and not (tmp_path / "runs").exists()  # CBM and shallow LSTM, 3 each


def test_a_finished_run_waits_for_nothing_even_when_its_pretraining_run_is_gone(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("BENCHMARK_CACHE", str(tmp_path / "cache"))
    pre, *tuned = _table3_seed0()
    launch(tuned, tmp_path / "runs", "debug", progress=False)
    shutil.rmtree(run_dir(tmp_path / "runs", pre))  # the pre-training run is deleted afterwards
    assert run_waves(tuned, tmp_path / "runs") == [tuned]  # nothing pulled in, nothing to wait for
    before = {c.model: sorted(p.name for p in run_dir(tmp_path / "runs", c).iterdir()) for c in tuned}
    assert launch(tuned, tmp_path / "runs", "debug", progress=False)["done"] == 2
    assert {c.model: sorted(p.name for p in run_dir(tmp_path / "runs", c).iterdir()) for c in tuned} == before
