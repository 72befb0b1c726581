"""``python -m benchmark.perf mfu``: the analytic conv FLOP count equals FlopCounterMode's exactly, and the
quick run's table has the columns, mfu = achieved / peak, peak = max(matmul peak, conv peak), and the FLOPs of
an independent count."""
import csv
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark import perf_mfu
from models.stacks import build_stack

CONV = (torch.ops.aten.convolution, torch.ops.aten.convolution_backward)


def _counted(fn) -> tuple[int, int]:
    """(conv FLOPs summed over aten.convolution + aten.convolution_backward, all FLOPs) of ``fn()``."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    counts = counter.get_flop_counts()["Global"]
    return sum(counts.get(op, 0) for op in CONV), counter.get_total_flops()


@pytest.mark.parametrize("cell", ["convlstm", "cbm"])
@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_analytic_stack_conv_flops_equal_flop_counter(cell, input_requires_grad):
    torch.manual_seed(0)
    stack = build_stack(cell, 8, [8, 4]).train()
    b, t, h, w = 2, 4, 10, 12
    xs = torch.randn(b, t, 8, h, w, requires_grad=input_requires_grad)
    conv, total = _counted(lambda: stack(xs)[0].sum().backward())
    analytic = perf_mfu.stack_conv_flops(stack, b, t, h, w, input_requires_grad=input_requires_grad)
    assert analytic["total"] == conv == total  # a stack does only convolutions that FlopCounterMode counts
    # the rule itself: forward once; backward = weight grads (= forward) + input grads where needed
    fwd = analytic["forward"]
    if input_requires_grad:
        assert analytic["backward"] == 2 * fwd
    else:
        assert fwd < analytic["backward"] < 2 * fwd


def test_analytic_cbm_with_temporal_dropout_one():
    torch.manual_seed(0)
    stack = build_stack("cbm", 8, [8, 4]).train()
    stack.set_td_rate(1.0)
    xs = torch.randn(2, 3, 8, 6, 6, requires_grad=True)
    conv, _ = _counted(lambda: stack(xs)[0].sum().backward())
    assert perf_mfu.stack_conv_flops(stack, 2, 3, 6, 6)["total"] == conv
    stack.set_td_rate(0.5)
    with pytest.raises(ValueError, match="random"):
        perf_mfu.stack_conv_flops(stack, 2, 3, 6, 6)


@pytest.fixture(scope="module")
def table6():
    return dict(perf_mfu.catalogue_configs(quick=True))  # the sweep's shapes, a few batches of data


@pytest.mark.parametrize("model", perf_mfu.QUICK_MODELS)
def test_analytic_polygon_step_equals_flop_counter(table6, model):
    """The whole polygon step (encoder + stack + head) at the sweep's shape, TD schedule at epoch 0 included."""
    job = perf_mfu.build_job(table6[model])
    conv, total = _counted(lambda: job.forward_backward("fp32"))
    analytic = perf_mfu.polygon_step_flops(job.model, job.batch)
    assert analytic["encoder"] + analytic["stack"] == conv
    assert analytic["total"] == total


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("mfu")
    result = perf_mfu.main(["--quick", "--out-dir", str(out)])
    with open(out / "tables/perf/mfu.csv", newline="") as f:
        reader = csv.DictReader(f)
        return result, reader.fieldnames, list(reader)


@pytest.mark.e2e
def test_quick_table_columns_and_mfu(quick):
    result, columns, rows = quick
    assert columns == ["model", "shape", "precision", "step_seconds", "gflop_per_step", "achieved_gflops",
                       "peak_gflops", "mfu", "machine", "threads", "peak_matmul_gflops", "peak_conv_gflops"]
    precisions = ["fp32"] + (["bf16"] if "bf16" in result["peaks"] else [])
    names = [r["model"] for r in rows]
    for m in perf_mfu.QUICK_MODELS:
        assert names.count(m) == len(precisions)
    assert sum(n.startswith("headline_") for n in names) == len(precisions)
    assert len(rows) == 3 * len(precisions)
    for r in rows:
        seconds, gflop = float(r["step_seconds"]), float(r["gflop_per_step"])
        achieved, peak, mfu = float(r["achieved_gflops"]), float(r["peak_gflops"]), float(r["mfu"])
        assert seconds > 0 and gflop > 0
        assert math.isclose(achieved, gflop / seconds, rel_tol=1e-9)
        assert math.isclose(mfu, achieved / peak, rel_tol=1e-9)
        assert peak == pytest.approx(result["peaks"][r["precision"]], rel=1e-12)
        assert int(r["threads"]) == 1
        # the peak is the better of the matmul and the convolution (MKL's SGEMM vs oneDNN on CPU)
        matmul, conv = float(r["peak_matmul_gflops"]), float(r["peak_conv_gflops"])
        assert matmul > 0 and conv > 0
        assert peak == max(matmul, conv)
        parts = result["peak_parts"][r["precision"]]
        assert (matmul, conv) == pytest.approx((parts["matmul"], parts["conv"]), rel=1e-12)
    # one FLOP count per model, whatever the precision
    for m in perf_mfu.QUICK_MODELS:
        assert len({r["gflop_per_step"] for r in rows if r["model"] == m}) == 1


@pytest.mark.e2e
def test_quick_flops_equal_independent_count(quick, table6):
    """polygon_convlstm_2's gflop_per_step = FlopCounterMode over the step built here from the catalogue."""
    from torch.utils.data import default_collate

    from benchmark.train.checkpoint import seed_everything
    from benchmark.train.task import get_task

    _, _, rows = quick
    cfg = table6["polygon_convlstm_2"]
    task = get_task(cfg.task)
    seed_everything(cfg.seed)
    model, train_set, _, collate = task.build(cfg)
    batch = (collate or default_collate)([train_set[i] for i in range(cfg.batch_size)])
    model.train()
    _, total = _counted(lambda: task.loss(model, batch, cfg).backward())
    for r in rows:
        if r["model"] == "polygon_convlstm_2":
            assert float(r["gflop_per_step"]) == pytest.approx(total / 1e9, rel=1e-3)
            assert r["shape"] == f"B{cfg.batch_size} T{perf_mfu.polygon_steps(batch)} 12x12 in35"
