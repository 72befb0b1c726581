"""Shared by the whole suite.

- Marker ``e2e``: end-to-end tests (the CLI and the launcher training real runs, Slurm, the report in a
  browser). Everything under ``tests/e2e/`` is one; elsewhere a test says so itself. The fast loop is
  ``python -m pytest -m "not e2e"``.
- ``smoke_sweep``: ``python -m benchmark.run all --scale smoke`` run once per pytest run (session scope),
  in a temporary runs folder with its own cache. The end-to-end tests of single experiments run their id
  against its runs (every run is done: the id only writes its tables and figures), so each smoke run
  trains once per pytest run, not once per test file.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e, and every test that uses the smoke sweep, is end to end."""
    for item in items:
        if E2E in Path(str(item.fspath)).resolve().parents or "smoke_sweep" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory):
    """(runs, out, cache, code, run): the smoke sweep of every experiment; ``run(exp_id, out_dir, *extra)``
    runs one id against its runs (debug cluster) and returns the exit code."""
    from benchmark.run import main

    root = tmp_path_factory.mktemp("smoke_all")
    runs, out, cache = root / "runs", root / "out", root / "cache"

    def finished() -> dict:
        return {p: p.stat().st_mtime_ns for p in runs.glob("*/*/result.json")}

    def run(exp_id: str, out_dir, *extra: str, trains: bool = False) -> int:
        """One id against the sweep's runs; unless ``trains``, nothing new trains and no finished run is
        touched (every run of every id is in the sweep)."""
        before = finished()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("BENCHMARK_CACHE", str(cache))  # the stand-in weights the sweep trained, not the user's
            code = main([exp_id, "--scale", "smoke", "--cluster", "debug", "--runs-dir", str(runs),
                         "--out-dir", str(out_dir), *extra])
        if not trains:
            assert finished() == before, f"{exp_id} trained or rewrote runs the smoke sweep had finished"
        return code

    code = run("all", out, trains=True)
    return SimpleNamespace(runs=runs, out=out, cache=cache, code=code, run=run)


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a test module (``pytestmark = pytest.mark.usefixtures("one_thread")``).

    Tiny tensors: one intra-op thread is fastest, and immune to OpenMP spin-waiting when the machine is
    loaded (seen here: 2 threads on a busy 2-core box made a 0.3 s test take 15 s)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
