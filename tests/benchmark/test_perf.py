"""``python -m benchmark.perf --quick``: outputs, columns, rows and ratio consistency (tiny grid)."""
import math

import pandas as pd
import pytest
import torch

from benchmark import perf


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("perf")
    result = perf.main(["--quick", "--out-dir", str(out)])
    return out, result


@pytest.mark.e2e
def test_outputs_written(quick):
    out, _ = quick
    for name in ("step_time", "memory", "headline"):
        assert (out / "tables/perf" / f"{name}.csv").is_file()
    for name in ("step_time", "memory"):
        png = out / "figures/perf" / f"{name}.png"
        assert png.is_file() and png.stat().st_size > 1000


@pytest.mark.e2e
def test_step_time_table(quick):
    out, _ = quick
    df = pd.read_csv(out / "tables/perf/step_time.csv")
    for col in ("cell", "depth", "T", "path", "seconds", "ratio_to_floor", "ratio_time_over_layer", "machine"):
        assert col in df.columns
    g = perf.QUICK_FULL
    assert len(df) == len(perf.CELLS) * len(g["depths"]) * len(g["Ts"]) * len(perf.PATHS)
    assert {(c, p) for c, p in zip(df.cell, df.path)} == {(c, p) for c in perf.CELLS for p in perf.PATHS}
    assert (df.seconds > 0).all()
    for _, grp in df.groupby(["cell", "depth", "T"]):
        s = dict(zip(grp.path, grp.seconds))
        for _, r in grp.iterrows():
            assert math.isclose(r.ratio_to_floor, r.seconds / s["floor"], rel_tol=1e-9)
            assert math.isclose(r.ratio_time_over_layer, s["time"] / s["layer"], rel_tol=1e-9)
    assert "threads=" in df.machine.iloc[0] and torch.__version__ in df.machine.iloc[0]


@pytest.mark.e2e
def test_headline_table(quick):
    out, _ = quick
    df = pd.read_csv(out / "tables/perf/headline.csv")
    assert set(df.memory_format) == {"contiguous", "channels_last"}
    paths = set(perf.PATHS) | {"floor_unchunked"}
    assert set(df.path) == paths and len(df) == 2 * len(paths)
    for _, grp in df.groupby("memory_format"):
        s = dict(zip(grp.path, grp.seconds))
        assert all(math.isclose(r, s["time"] / s["layer"], rel_tol=1e-9) for r in grp.ratio_time_over_layer)


@pytest.mark.e2e
def test_memory_table(quick):
    out, _ = quick
    df = pd.read_csv(out / "tables/perf/memory.csv")
    for col in ("scheme", "T", "clips", "peak_minus_baseline_mb", "ratio_to_bptt", "machine"):
        assert col in df.columns
    assert set(df.scheme) == set(perf.SCHEMES)
    assert len(df) == len(perf.SCHEMES) * len(perf.QUICK_MEMORY["Ts"])
    assert (df.peak_minus_baseline_mb >= 0).all()
    assert (df[df.scheme == "bptt"].clips == 1).all() and (df[df.scheme == "oct"].clips > 1).all()


def test_floor_matches_reference_at_one_step():
    """With T = 1 from a zero state the floor computes exactly what the cells compute (SCS: with
    ``gate_init="zeros"``; the floor feeds zeros where the paper's SCS state starts at 0.5)."""
    from models.stacks import build_stack
    torch.manual_seed(0)
    for cell in perf.CELLS:
        stack = build_stack(cell, 4, [5] * 3, **({"gate_init": "zeros"} if cell == "scs" else {})).train()
        xs = torch.randn(3, 1, 4, 6, 6)
        torch.testing.assert_close(perf.floor_forward(stack, xs), stack(xs, execution="time")[0])
