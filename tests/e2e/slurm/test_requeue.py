"""A running Slurm job is requeued (`scontrol requeue`): the run resumes from its checkpoint and ends
with metrics identical to an uninterrupted run of the same seed."""
import dataclasses
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from benchmark.catalogue import resolve
from benchmark.launch import launch, load_profile, read_attempts
from benchmark.results import run_dir
from benchmark.status import run_state
from benchmark.train.loop import read_metrics, run_training


def _curve(path):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(path)]


def test_scontrol_requeue_resumes_from_checkpoint_to_identical_metrics(slurm, tmp_path):
    # Polyg-LSTM 2, made long enough to outlive KillWait (5 s) after the requeue at epoch 3: 20 epochs of 512
    # items take ~12 s on a quiet 2-core machine (0.6 s each; 20 epochs of 256 ended in 5 s there, before the
    # requeue took effect)
    smoke = resolve("table6").runs("smoke")[0]
    cfg = dataclasses.replace(smoke, epochs=20, data_kw={**smoke.data_kw, "n_train": 512})
    runs = tmp_path / "runs"
    launch([cfg], runs, "slurm", wait=False, progress=False, profile=load_profile("local-cluster"))
    # the uninterrupted reference trains here, on the other core, while the Slurm job runs
    ref = tmp_path / "uninterrupted"
    reference = ThreadPoolExecutor(1).submit(run_training, dataclasses.replace(cfg, threads=1), ref, progress=False)
    path = run_dir(runs, cfg)
    job_id = [a for a in read_attempts(path) if a["event"] == "submitted"][-1]["job_id"]
    deadline = time.time() + 180
    while len(read_metrics(path)) < 3:
        assert time.time() < deadline and not (path / "result.json").exists(), "requeue came too late"
        time.sleep(0.2)
    assert run_state(path)["state"] == "running"
    subprocess.run(["scontrol", "requeue", job_id], check=True)
    interrupted_at = len(read_metrics(path))
    while not (path / "result.json").exists():
        assert time.time() < deadline + 120, "the requeued job never finished"
        time.sleep(0.5)
    result = json.loads((path / "result.json").read_text())
    assert interrupted_at < cfg.epochs and result["requeued"] == 1  # resumed once, from its checkpoint
    starts = [a for a in read_attempts(path) if a["event"] == "started"]
    assert len(starts) == 2 and {a["job_id"] for a in starts} == {job_id}
    st = run_state(path)
    assert st["state"] == "done" and st["requeued"] == 1

    reference.result()
    assert [r["epoch"] for r in read_metrics(path)] == list(range(1, cfg.epochs + 1))
    assert _curve(path) == _curve(ref)
