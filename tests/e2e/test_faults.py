"""Fault injection: for each file kind of a run (result, metrics, checkpoint, config, attempts) and of the
outputs (manifest), and each fault (truncated, garbage, empty, missing), in a finished and an unfinished smoke
run: a rerun prints no traceback, heals the run and writes the same table as an undisturbed run. Then the
caches (optical flow, stand-in weights) and the launcher race (two launchers at once: every run trains once).
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark import run, status
from benchmark.catalogue import resolve
from benchmark.heal import read_attempts
from benchmark.results import run_dir, run_status
from benchmark.train.loop import read_metrics

ROOT = Path(__file__).resolve().parents[2]
EXP = "deeprnn.fig3"  # one smoke run whose outputs also read its checkpoint
KINDS = ("result.json", "metrics.jsonl", "checkpoint.pt", "config.json", "attempts.jsonl")
FAULTS = ("truncated", "garbage", "empty", "missing")


def _argv(tmp: Path, exp: str = EXP) -> list[str]:
    return [exp, "--scale", "smoke", "--cluster", "debug", "--runs-dir", str(tmp / "runs"),
            "--out-dir", str(tmp / "out")]


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _run(tmp: Path, capsys) -> str:
    code = run.main(_argv(tmp))
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    return err


def inject(path: Path, fault: str) -> None:
    data = path.read_bytes() if path.exists() else b""
    if fault == "truncated":
        path.write_bytes(data[: max(1, len(data) // 2)])
    elif fault == "garbage":
        path.write_bytes(b"\x00\xffnot what it was{{" * 7)
    elif fault == "empty":
        path.write_bytes(b"")
    elif fault == "missing":
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An undisturbed smoke sweep: its runs folder, table and metrics."""
    tmp = tmp_path_factory.mktemp("reference")
    assert run.main(_argv(tmp)) == 0
    cfg = resolve(EXP).runs("smoke")[0]
    path = run_dir(tmp / "runs", cfg)
    return {"tmp": tmp, "path": path, "table": (tmp / "out/tables/deeprnn/fig3.csv").read_text(),
            "metrics": _strip(read_metrics(path)), "cfg": cfg}


def _copy(reference, tmp: Path, finished: bool) -> Path:
    shutil.copytree(reference["tmp"] / "runs", tmp / "runs")
    shutil.copytree(reference["tmp"] / "out", tmp / "out")
    path = tmp / "runs" / reference["path"].relative_to(reference["tmp"] / "runs")
    if not finished:  # interrupted after its last checkpoint, before its result
        (path / "result.json").unlink()
    return path


@pytest.mark.parametrize("finished", [True, False], ids=["finished", "unfinished"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_faulty_run_file_heals_to_the_same_table(reference, tmp_path, capsys, kind, fault, finished):
    path = _copy(reference, tmp_path, finished)
    inject(path / kind, fault)
    # status and collect never crash on it
    assert status.main(_argv(tmp_path)[:3] + ["--runs-dir", str(tmp_path / "runs")]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    _run(tmp_path, capsys)
    assert (tmp_path / "out/tables/deeprnn/fig3.csv").read_text() == reference["table"]
    assert _strip(read_metrics(path)) == reference["metrics"]
    assert run_status(path) == "done"
    assert json.loads((path / "config.json").read_text())["seed"] == reference["cfg"].seed
    if kind == "result.json" and finished and fault != "missing":  # moved aside, rebuilt from the checkpoint
        assert list(path.glob("result.json.corrupt-*"))
        assert any(a["event"] == "healed" and a["what"] == "result.json" for a in read_attempts(path))
    if kind == "checkpoint.pt" and fault != "missing":  # moved aside, logged, shown by status
        assert list(path.glob("checkpoint.pt.corrupt-*"))
        assert any(a["event"] == "healed" and a["what"] == "checkpoint.pt" for a in read_attempts(path))
        status.main(_argv(tmp_path)[:3] + ["--runs-dir", str(tmp_path / "runs")])
        assert "healed" in capsys.readouterr().out


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_manifest_heals(reference, tmp_path, capsys, fault):
    _copy(reference, tmp_path, finished=True)
    manifest = tmp_path / "out/tables/manifest.json"
    inject(manifest, fault)
    _run(tmp_path, capsys)
    assert json.loads(manifest.read_text())[EXP]["runs_done"] == 1
    assert (tmp_path / "out/tables/deeprnn/fig3.csv").read_text() == reference["table"]


def test_a_kill_between_checkpoint_and_metrics_never_duplicates_an_epoch(reference, tmp_path, capsys):
    """The checkpoint holds the metrics; metrics.jsonl is rewritten from it: an extra or missing last
    line (a kill on either side of the checkpoint save) comes back as exactly epochs 1..N."""
    path = _copy(reference, tmp_path, finished=False)
    lines = (path / "metrics.jsonl").read_text()
    (path / "metrics.jsonl").write_text(lines + lines + '{"epoch": 1, "train_lo')  # duplicated + a cut line
    assert [r["epoch"] for r in read_metrics(path)] == [1]
    _run(tmp_path, capsys)
    assert (path / "metrics.jsonl").read_text().count("\n") == 1
    assert _strip(read_metrics(path)) == reference["metrics"]
    assert any(a["event"] == "healed" and a["what"] == "metrics.jsonl" for a in read_attempts(path))


def test_cut_metrics_never_crash_load_curves(reference, tmp_path):
    from benchmark.results import load_curves

    path = _copy(reference, tmp_path, finished=True)
    with open(path / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 2, "train_lo')
    curves = load_curves(tmp_path / "runs", [reference["cfg"]])
    assert list(curves["epoch"]) == [1]


def test_a_corrupt_flow_cache_entry_is_rebuilt(tmp_path):
    from benchmark.data.flow import cached_flow

    frames = np.random.default_rng(0).random((3, 8, 8, 3)).astype(np.float32)
    want = cached_flow("clip", frames, tmp_path, iters=5)
    (entry,) = tmp_path.glob("flow_*.npy")
    for fault in ("truncated", "garbage", "empty"):
        inject(entry, fault)
        assert np.array_equal(cached_flow("clip", frames, tmp_path, iters=5), want)
        assert np.array_equal(np.load(entry), want)
    assert len(list(tmp_path.glob("flow_*.npy.corrupt-*"))) == 3
    assert not list(tmp_path.glob("*.tmp*"))


def test_a_corrupt_standin_cache_entry_is_rebuilt_and_logged_in_the_run(tmp_path):
    from benchmark.heal import log_unlogged
    from benchmark.train.standin import cached_state

    log_unlogged(tmp_path / "earlier")  # heals of other tests in this process
    made = []

    def make():
        made.append(1)
        return {"fc6.weight": torch.ones(2, 2)}

    path = cached_state(tmp_path / "w.pt", make)
    for fault in ("truncated", "garbage", "empty"):
        inject(path, fault)
        cached_state(path, make)
        assert torch.equal(torch.load(path, weights_only=True)["fc6.weight"], torch.ones(2, 2))
    assert len(made) == 4
    log_unlogged(tmp_path / "run")
    assert [a["what"] for a in read_attempts(tmp_path / "run")] == ["w.pt"] * 3


def _launcher(tmp: Path, exp: str):
    return subprocess.Popen([sys.executable, "-m", "benchmark.run", *_argv(tmp, exp)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_launchers_at_once_train_every_run_once(tmp_path):
    exp = "deeprnn.fig5"  # two smoke runs
    first = _launcher(tmp_path, exp)
    lock = tmp_path / "runs" / "_locks" / f"{exp}.lock"
    deadline = time.time() + 120
    while not (lock.exists() and f"pid {first.pid}" in lock.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    # the first is paused while it holds the lock, so that the second really meets it (on a quiet machine
    # the first's two smoke runs could otherwise end before the second has imported torch)
    first.send_signal(signal.SIGSTOP)
    try:
        second = _launcher(tmp_path, exp)
        seen = []
        while not any("waiting" in line for line in seen) and second.poll() is None:
            seen.append(second.stderr.readline())
    finally:
        first.send_signal(signal.SIGCONT)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    err2 = "".join(seen) + err2
    assert first.returncode == 0 and second.returncode == 0, (err1[-1500:], err2[-1500:])
    assert f"pid {first.pid}" in err2 and "waiting" in err2  # the second says who holds the sweep
    assert "2 done, 0 submitted" in out2
    cfgs = resolve(exp).runs("smoke")
    for cfg in cfgs:
        path = run_dir(tmp_path / "runs", cfg)
        events = [a["event"] for a in read_attempts(path)]
        assert events.count("started") == 1 and events.count("submitted") == 1, events
        assert [r["epoch"] for r in read_metrics(path)] == [1]
    assert "Traceback" not in err1 + err2


def test_a_lock_left_by_a_killed_launcher_does_not_block(tmp_path):
    from benchmark.launch import sweep_lock

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from benchmark.launch import sweep_lock\n"
        "with sweep_lock(%r, ['x.y']):\n    print('held', flush=True); time.sleep(60)\n") % (str(ROOT), str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(BlockingIOError, match=f"pid {holder.pid}"):
        with sweep_lock(tmp_path, ["x.y"], wait=False):
            pass
    holder.kill()
    holder.wait()
    with sweep_lock(tmp_path, ["x.y"], wait=False):  # the kernel released it with the process
        assert f"pid {os.getpid()}" in (tmp_path / "_locks" / "x.y.lock").read_text()
