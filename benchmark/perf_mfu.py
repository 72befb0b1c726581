"""Model FLOP utilisation (MFU) at the shapes the cpu-scale sweeps really train:
``python -m benchmark.perf mfu [--quick] [--out-dir .] [--threads N]``.

Writes ``<out-dir>/tables/perf/mfu.csv``: one row per (model, shape, precision) with the columns
``model, shape, precision, step_seconds, gflop_per_step, achieved_gflops, peak_gflops, mfu, machine, threads,
peak_matmul_gflops, peak_conv_gflops``.

**Peak** (measured in the same run, same thread count, per precision): ``peak_gflops`` = the larger of

- ``peak_matmul_gflops``: the median of ``repeats`` timed ``torch.mm`` of two n x n matrices after one
  warm-up, GFLOP/s = 2 n^3 / seconds; n = 4096, 5 repeats (``--quick``: 1024, 3 repeats);
- ``peak_conv_gflops``: the best, over the shapes of ``CONV_PEAK_SHAPES`` (``--quick``:
  ``QUICK_CONV_PEAK_SHAPES``), of the median of ``repeats`` timed forward ``conv2d`` calls after one warm-up
  (3x3, stride 1, padding 1, Cin = Cout, no bias), GFLOP/s = 2 B Ho Wo Cin Cout k k / seconds.

fp32 tensors for the fp32 peak, bf16 tensors (no autocast) for the bf16 peak. Why both: on CPU, fp32
``torch.mm`` runs Intel MKL's SGEMM, while bf16 matmuls and every convolution (fp32 too) run oneDNN's JIT
kernels. On the AMD EPYC (Zen 5, family 26) this table was made on, one thread, MKL's SGEMM reaches only
~82-92 GFLOP/s while oneDNN's fp32 3x3 convolutions reach ~150-200 GFLOP/s and the conv-heavy fp32 training
steps ~120-135 GFLOP/s: with the matmul alone as the peak, fp32 MFU went up to 1.52, which means nothing.
In the run that wrote the committed table: fp32 matmul 81.9, conv 168.1 (B8 512ch 14x14); bf16 matmul
317.8, conv 423.6 (B16 256ch 14x14) GFLOP/s; the machine was shared (2 cores, load ~5), so these move by
~10-20 % from run to run. The peak is still what these kernels reach, not the hardware's FMA peak. An MFU
above 1 after this is printed as a warning line naming the row (never clipped).

**Step time**: one training step as ``benchmark.train.loop.run_training`` runs it: zero the gradients, the
task's loss under ``benchmark.precision.autocast(precision)`` then ``backward()`` outside it (or the task's
``loss_backward`` under the autocast, for tasks that back-propagate clip by clip), element-wise gradient
clipping to ``cfg.grad_clip``, an Adam step (``cfg.lr``). The model is built as training builds it
(``seed_everything(cfg.seed)``, ``task.build(cfg)``, the epoch-0 TD rate / STSGD p, ``train()`` mode), the
batch is ``collate([train_set[i] for i in range(cfg.batch_size)])``. Per precision, from the same initial
weights and a fresh Adam: one warm-up step, then the median of 3 timed steps (``--quick``: 1, and the
two ``QUICK_MODELS`` on ``QUICK_ITEMS`` training items: the same shapes, so the same step). bf16 only
where ``benchmark.precision.bf16_problem()`` is None (else a printed line, no row).

**FLOPs per step** (``gflop_per_step``): ``torch.utils.flop_counter.FlopCounterMode`` around the forward
and backward of the fp32 warm-up step (so that step is not timed; the optimizer step runs outside the mode,
and Adam does no matmul or convolution anyway). FlopCounterMode counts matmuls (mm, addmm, bmm, ...),
convolutions and their backward, and attention: 2 FLOPs per multiply-add, no bias adds, no element-wise
ops (activations, BN, the optimizer), so MFU counts matmul/conv FLOPs only (over the matmul/conv peak); the
same count is used for the bf16 row (the same work in another precision). ``polygon_step_flops`` (below) is an
analytic count of the same thing for the polygon nets; the tests check that they agree exactly.

Rows: every model of ``deeprnn.table6`` (the polygon nets), then the first cpu-scale config of each other
task in catalogue order (an experiment whose ``make_runs`` raises, a config that needs data that is not
there, or that fine-tunes a pre-training run (``data_kw["pretrain"]``: that whole run would be trained first),
is skipped with a printed line; so is a config whose first step (the FLOP-counted warm-up) takes more
than ``MAX_STEP_SECONDS``), then the headline stack of ``benchmark.perf.HEADLINE`` (15-layer CBM, T = 16,
64x64, batch 4, 32 channels, k = 5, loss ``out.sum()``).
"""
from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from .precision import PRECISIONS, autocast, bf16_problem

COLUMNS = ["model", "shape", "precision", "step_seconds", "gflop_per_step", "achieved_gflops", "peak_gflops",
           "mfu", "machine", "threads", "peak_matmul_gflops", "peak_conv_gflops"]
TABLE6 = "deeprnn.table6"
QUICK_ITEMS = 64  # training items of a --quick config (the step's batch is drawn from them)
QUICK_MODELS = ("polygon_cbm_2", "polygon_convlstm_2")
MAX_STEP_SECONDS = 60.0

PEAK = dict(n=4096, repeats=5)
QUICK_PEAK = dict(n=1024, repeats=3)
# (batch, channels in = out, height = width) of the 3x3 convolutions timed for the conv peak: the ones that
# oneDNN ran fastest among those tried on the EPYC (B16 256ch 28x28, B16 512ch 14x14, B8 128ch 56x56 and
# B16 64ch 56x56 were slower); which of the three wins varies from run to run, so all three are timed
CONV_PEAK_SHAPES = ((8, 256, 28), (8, 512, 14), (16, 256, 14))
QUICK_CONV_PEAK_SHAPES = ((4, 128, 14),)
# the headline of benchmark.perf (15-layer CBM, T = 16, 64x64, batch 4, 32 channels in and per layer, k = 5)
QUICK_HEADLINE = dict(cell="cbm", depth=3, T=4, batch=4, size=16, width=8, in_channels=8, k=5)

CONV_OPS = ("convolution", "convolution_backward")


# ------------------------------------------------------------------------------------------------ peak
def matmul_peak(dtype: torch.dtype, n: int, repeats: int) -> float:
    """GFLOP/s of an n x n x n matmul in ``dtype``: 2 n^3 / the median of ``repeats`` timed calls (one
    warm-up call first)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(dtype)
    b = torch.randn(n, n, generator=g).to(dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def conv_peak(dtype: torch.dtype, batch: int, channels: int, size: int, repeats: int, k: int = 3) -> float:
    """GFLOP/s of a forward k x k conv2d in ``dtype`` (stride 1, padding k // 2, ``channels`` in and out, no
    bias) on a (batch, channels, size, size) input: 2 B Ho Wo Cin Cout k k / the median of ``repeats`` timed
    calls (one warm-up call first)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=g).to(dtype)
    w = torch.randn(channels, channels, k, k, generator=g).to(dtype)
    conv = nn.functional.conv2d
    out = conv(x, w, padding=k // 2)
    ho, wo = out.shape[-2:]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        conv(x, w, padding=k // 2)
        times.append(time.perf_counter() - t0)
    return 2.0 * batch * ho * wo * channels * channels * k * k / statistics.median(times) / 1e9


def precision_peak(dtype: torch.dtype, n: int, repeats: int, conv_shapes) -> dict:
    """``matmul`` (``matmul_peak``), ``conv`` (the best ``conv_peak`` over ``conv_shapes``), ``conv_shape``
    (that shape) and ``peak`` = max(matmul, conv), in GFLOP/s."""
    mm = matmul_peak(dtype, n, repeats)
    convs = {shape: conv_peak(dtype, *shape, repeats) for shape in conv_shapes}
    shape = max(convs, key=convs.get)
    return dict(matmul=mm, conv=convs[shape], conv_shape=shape, peak=max(mm, convs[shape]))


def peaks(n: int, repeats: int, conv_shapes=CONV_PEAK_SHAPES, log=print) -> dict[str, dict]:
    """{precision: ``precision_peak``} for fp32 and, where the CPU runs it, bf16."""
    dtypes = {"fp32": torch.float32}
    problem = bf16_problem()
    if problem is None:
        dtypes["bf16"] = torch.bfloat16
    out = {}
    for precision, dtype in dtypes.items():
        p = out[precision] = precision_peak(dtype, n, repeats, conv_shapes)
        b, c, size = p["conv_shape"]
        log(f"peak {precision}: {p['peak']:.1f} GFLOP/s = max(matmul {p['matmul']:.1f}: median of {repeats} "
            f"{n}x{n} matmuls; conv {p['conv']:.1f}: median of {repeats} 3x3 convs, best of "
            f"{len(conv_shapes)} shape(s): B{b} {c}->{c}ch {size}x{size})")
    if problem is not None:
        log(f"peak bf16: not measured: {problem}")
    return out


# ------------------------------------------------------------------------------------ analytic FLOPs
def conv_out_size(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int]:
    if isinstance(conv.padding, str):
        raise NotImplementedError(f"padding={conv.padding!r}: only integer padding is counted")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    return (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1


def conv_call_flops(conv: nn.Conv2d, batch: int, h: int, w: int) -> int:
    """Forward FLOPs of one call of ``conv`` on a (batch, Cin, h, w) input: 2 * B * Ho * Wo * Cin/groups *
    Cout * kh * kw (no bias adds; for the stacks' stride-1 'same' convolutions Ho, Wo = h, w, i.e.
    2 * B * H * W * Cin * Cout * k * k)."""
    ho, wo = conv_out_size(conv, h, w)
    cout, cin_per_group, kh, kw = conv.weight.shape
    return 2 * batch * ho * wo * cin_per_group * cout * kh * kw


def stack_conv_flops(stack, batch: int, steps: int, h: int, w: int, input_requires_grad: bool = True) -> dict:
    """Analytic convolution FLOPs of ``steps`` time steps of a ConvLSTM or CBM ``RecurrentStack`` (time-major,
    zero initial states) and of their backward, on (batch, C, h, w) frames. A CBM cell's Temporal Dropout
    is taken as it stands (``td_rate`` in training mode): 0 (off) or 1 (the T unit's input always detached,
    as at epoch 0 of deeprnn.table6's CBM runs, whose TD schedule starts at 1.0); a rate in between is
    random per step and raises.

    Per conv call: forward F = ``conv_call_flops``; backward = F for the weight gradient (always: the weights
    require grad) + F for the input gradient when the conv's input requires grad (bias gradients are not
    counted). An input requires grad except where it is built only from the stack's input and zero states:
    with ``input_requires_grad=False`` (the stack fed data, e.g. a test's ``randn``), layer 1's R conv
    (CBM) at every step and layer 1's T / gates conv at step 0 (``cat(x, zeros)``) get the weight gradient only;
    with ``input_requires_grad=True`` (the polygon net: the frames are encoder features) every call gets both,
    except, with TD at rate 1, a CBM's T conv at step 0 (``cat(x.detach(), zeros)``).
    Returns ``forward``, ``backward`` and ``total`` (integers)."""
    from models.cells.cbm import CBMCell
    from models.cells.convlstm import ConvLSTMCell

    fwd = bwd = 0
    for t in range(steps):
        for layer, cell in enumerate(stack.cells):
            x_grad = input_requires_grad or layer > 0   # the lower layer's output depends on its weights
            state_grad = t > 0                          # states are zeros at t = 0, this cell's outputs after
            if isinstance(cell, ConvLSTMCell):
                calls = [(cell.gates, x_grad or state_grad)]
            elif isinstance(cell, CBMCell):
                td = cell.td_rate if cell.training else 0.0
                if 0.0 < td < 1.0:
                    raise ValueError(f"Temporal Dropout rate {td}: which inputs are detached is random, so the "
                                     "FLOPs are too; count with rate 0 or 1 (or in eval mode)")
                # TD at rate 1 detaches the lower layer's output as the T unit sees it (R still gets it)
                calls = [(cell.t_conv, (x_grad and td < 1.0) or state_grad)]
                if cell.representation:
                    calls.append((cell.r_conv, x_grad))
            else:
                raise NotImplementedError(f"stack_conv_flops counts ConvLSTM and CBM cells, not {type(cell).__name__}")
            for conv, input_grad in calls:
                f = conv_call_flops(conv, batch, h, w)
                fwd += f
                bwd += f * (2 if input_grad else 1)
    return dict(forward=fwd, backward=bwd, total=fwd + bwd)


def polygon_steps(batch: dict) -> int:
    """Time steps the polygon net runs for ``batch`` (``benchmark.train.polygon._trim``: longest + end token)."""
    return int(batch["length"].max()) + 1


def polygon_step_flops(model, batch: dict) -> dict:
    """Analytic FLOPs (FlopCounterMode's conventions) of one polygon training step's forward + backward
    (``benchmark.train.polygon.loss``, teacher forcing) of a ``PolygonRNN`` with the small encoder:

    - ``encoder``: its convolutions once per step; the first conv's input (the image) needs no grad, so its
      backward is the weight gradient only (= forward); every other conv's backward is 2x its forward;
    - ``stack``: ``stack_conv_flops`` over ``polygon_steps(batch)`` steps on the grid, input requires grad;
    - ``head``: the linear layer per step: 2 * B * in * out forward, twice that backward (input + weight
      gradients; no bias);
    - ``total``: their sum, all of what FlopCounterMode counts for this step (BN, activations, one-hot maps
      and the cross-entropy do no matmul)."""
    from models.nets.polygon_rnn import SmallEncoder

    if not isinstance(model.encoder, SmallEncoder):
        raise NotImplementedError("polygon_step_flops counts the small encoder only")
    images = batch["image"]
    b, _, h, w = images.shape
    enc, first = 0, True
    for m in model.encoder.net:
        if isinstance(m, nn.Conv2d):
            f = conv_call_flops(m, b, h, w)
            enc += f + f * (1 if first else 2)
            h, w = conv_out_size(m, h, w)
            first = False
    steps = polygon_steps(batch)
    stack = stack_conv_flops(model.rnn, b, steps, model.grid, model.grid, input_requires_grad=True)["total"]
    head = 3 * 2 * b * model.head.in_features * model.head.out_features * steps
    return dict(encoder=enc, stack=stack, head=head, total=enc + stack + head)


def conv_flops_counted(counter: FlopCounterMode) -> int:
    """aten.convolution + aten.convolution_backward FLOPs of a finished FlopCounterMode."""
    counts = counter.get_flop_counts().get("Global", {})
    return sum(v for op, v in counts.items() if getattr(op, "__name__", str(op).split(".")[-1]) in CONV_OPS)


# ------------------------------------------------------------------------------------------- one step
@dataclasses.dataclass
class Job:
    """One model to measure: ``forward_backward(precision)`` runs the forward (under the autocast) and the
    backward of one step (gradients not zeroed: ``_step`` does that), ``model`` is what the optimizer steps."""
    name: str
    shape: str
    model: nn.Module
    forward_backward: object   # callable(precision) -> None
    lr: float = 1e-4
    grad_clip: float | None = None


def _step(job: Job, opt, precision: str, counter: FlopCounterMode | None = None) -> float:
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    if counter is None:
        job.forward_backward(precision)
    else:
        with counter:
            job.forward_backward(precision)
    if job.grad_clip is not None:
        torch.nn.utils.clip_grad_value_(job.model.parameters(), job.grad_clip)
    opt.step()
    return time.perf_counter() - t0


def measure(job: Job, precisions, repeats: int, max_seconds: float | None = None, log=print):
    """FLOPs per step and the median step time per precision (see the module docstring). Returns
    (flops, {precision: seconds}); ``None`` for the times when the first step took > ``max_seconds``."""
    state = copy.deepcopy(job.model.state_dict())
    counter, flops, times = FlopCounterMode(display=False), None, {}
    for precision in precisions:
        job.model.load_state_dict(state)
        job.model.train()
        opt = torch.optim.Adam(job.model.parameters(), lr=job.lr)
        if precision == "fp32":  # warm-up = the FLOP-counted step
            first = _step(job, opt, "fp32", counter)
            flops = counter.get_total_flops()
        else:
            first = _step(job, opt, precision)
        if max_seconds is not None and first > max_seconds:
            log(f"{job.name}: skipped: its first {precision} step took {first:.1f} s > {max_seconds:.0f} s")
            return flops, None
        times[precision] = statistics.median(_step(job, opt, precision) for _ in range(repeats))
    if flops is None:  # no fp32 row asked for: count on its own
        opt = torch.optim.Adam(job.model.parameters(), lr=job.lr)
        _step(job, opt, "fp32", counter)
        flops = counter.get_total_flops()
    job.model.load_state_dict(state)
    return flops, times


# -------------------------------------------------------------------------------------- the jobs
def _cfg_for(cfg, precision: str):
    return dataclasses.replace(cfg, precision=precision)


def shape_of(cfg, model, batch) -> str:
    """Batch, sequence length, map size and input channels of the step, in the task's terms."""
    b = cfg.batch_size
    if cfg.task == "polygon":
        g = model.grid
        return f"B{b} T{polygon_steps(batch)} {g}x{g} in{model.rnn.cells[0].in_channels}"
    if isinstance(batch, dict) and "inputs" in batch and "targets" in batch and batch["inputs"].dim() == 5:
        _, t_in, c, h, w = batch["inputs"].shape
        return f"B{b} T{t_in}+{batch['targets'].shape[1]} {h}x{w} in{c}"
    if isinstance(batch, dict) and "clips" in batch and batch["clips"].dim() == 6:  # (B, clips, C, L, H, W)
        _, n, c, length, h, w = batch["clips"].shape
        return f"B{b} T{n}x{length} {h}x{w} in{c}"
    values = batch.values() if isinstance(batch, dict) else batch
    for v in values:
        if torch.is_tensor(v) and v.dim() == 5:  # (B, T, C, H, W)
            _, t, c, h, w = v.shape
            return f"B{b} T{t} {h}x{w} in{c}"
    return f"B{b}"


def build_job(cfg, name: str | None = None) -> Job:
    """The model, batch and training step of ``cfg`` as ``run_training`` builds them."""
    from models import set_schedule
    from torch.utils.data import default_collate

    from .config import td_rate_at
    from .train.checkpoint import seed_everything
    from .train.task import get_task

    task = get_task(cfg.task)
    seed_everything(cfg.seed)
    model, train_set, _, collate = task.build(cfg, None)  # fine-tuning configs are skipped (catalogue_configs)
    batch = (collate or default_collate)([train_set[i] for i in range(cfg.batch_size)])
    set_schedule(model, "td_rate", td_rate_at(cfg.td_schedule, 0))
    if cfg.stsgd_schedule:
        p = td_rate_at(cfg.stsgd_schedule, 0)
        set_schedule(model, "stsgd_q", p, p_s=p)
    model.train()

    def forward_backward(precision: str) -> None:
        c = _cfg_for(cfg, precision)
        if task.loss_backward is not None:
            with autocast(precision):
                task.loss_backward(model, batch, c)
        else:
            with autocast(precision):
                loss = task.loss(model, batch, c)
            loss.backward()

    job = Job(name or cfg.model, shape_of(cfg, model, batch), model, forward_backward, cfg.lr, cfg.grad_clip)
    job.batch, job.cfg = batch, cfg
    return job


def headline_job(h: dict) -> Job:
    from models.stacks import build_stack

    torch.manual_seed(0)
    stack = build_stack(h["cell"], h["in_channels"], [h["width"]] * h["depth"], kernel_size=h["k"]).train()
    xs = torch.randn(h["batch"], h["T"], h["in_channels"], h["size"], h["size"])

    def forward_backward(precision: str) -> None:
        with autocast(precision):
            out = stack(xs)[0]
        out.float().sum().backward()

    name = f"headline_{h['cell']}_{h['depth']} w{h['width']} k{h['k']}"
    shape = f"B{h['batch']} T{h['T']} {h['size']}x{h['size']} in{h['in_channels']}"
    return Job(name, shape, stack, forward_backward)


def catalogue_configs(quick: bool, log=print) -> list[tuple[str, object]]:
    """(row name, RunConfig): deeprnn.table6's models, then the first config of each other task."""
    from .catalogue import list_ids, resolve

    table6 = resolve(TABLE6).make_runs("cpu", 1, None)
    if quick:  # the same shapes on a data set of a few batches: a step's cost does not depend on its size
        few = dict(n_train=QUICK_ITEMS, n_test=QUICK_ITEMS // 4)
        return [(c.model, dataclasses.replace(c, data_kw={**c.data_kw, **few}))
                for m in QUICK_MODELS for c in table6 if c.model == m][:len(QUICK_MODELS)]
    picks, tasks = [(c.model, c) for c in table6], {c.task for c in table6}
    for eid in list_ids():
        pretrain = []
        if eid == TABLE6:
            continue
        try:
            runs = resolve(eid).make_runs("cpu", 1, None)
        except Exception as e:  # noqa: BLE001 -- one line, go on
            log(f"{eid}: skipped: make_runs raised {type(e).__name__}: {e}")
            continue
        for c in runs:
            if c.task in tasks:
                continue
            if c.data_kw.get("pretrain"):
                pretrain.append(c.model)
                continue
            if c.dataset != "builtin" and not c.data_root:
                log(f"{eid} {c.model}: skipped: needs data set {c.dataset!r} (no data root)")
                continue
            tasks.add(c.task)
            picks.append((f"{c.model}|{eid}", c))
        if pretrain:
            log(f"{eid}: skipped {len(pretrain)} config(s) ({', '.join(sorted(set(pretrain)))}): each fine-tunes a "
                "pre-training run (data_kw['pretrain']) that would be trained first")
    # the experiment id only where the model name alone is ambiguous
    names = [n.split("|")[0] for n, _ in picks]
    return [(n.split("|")[0] if names.count(n.split("|")[0]) == 1 else n.replace("|", " "), c) for n, c in picks]


# ------------------------------------------------------------------------------------------------ main
def row(job: Job, precision: str, seconds: float, flops: int, peak: dict, machine: str, threads: int) -> dict:
    """One CSV row; ``peak`` is the precision's ``precision_peak``."""
    gflop = flops / 1e9
    achieved = gflop / seconds
    return dict(model=job.name, shape=job.shape, precision=precision, step_seconds=seconds, gflop_per_step=gflop,
                achieved_gflops=achieved, peak_gflops=peak["peak"], mfu=achieved / peak["peak"], machine=machine,
                threads=threads, peak_matmul_gflops=peak["matmul"], peak_conv_gflops=peak["conv"])


def main(argv=None) -> dict:
    from .perf import HEADLINE, machine

    ap = argparse.ArgumentParser(prog="python -m benchmark.perf mfu", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="table6's polygon_cbm_2 and polygon_convlstm_2, a tiny headline, 1024^2 peak (tests)")
    ap.add_argument("--out-dir", default=".", help="writes <out-dir>/tables/perf/mfu.csv")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1, as the sweeps' jobs run: RunConfig.threads)")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    threads, mach = torch.get_num_threads(), machine()
    t_start = time.perf_counter()

    peak = peaks(**(QUICK_PEAK if args.quick else PEAK),
                 conv_shapes=QUICK_CONV_PEAK_SHAPES if args.quick else CONV_PEAK_SHAPES)
    precisions = [p for p in PRECISIONS if p in peak]
    if "bf16" not in peak:
        print(f"bf16 rows: skipped for every model: {bf16_problem()}")
    repeats = 1 if args.quick else 3

    rows: list[dict] = []

    def run(job: Job, max_seconds):
        flops, times = measure(job, precisions, repeats, max_seconds)
        if times is None:
            return
        for p in precisions:
            rows.append(row(job, p, times[p], flops, peak[p], mach, threads))
            r = rows[-1]
            print(f"{r['model']:32s} {r['shape']:24s} {p}: {r['step_seconds']:.4f} s/step, "
                  f"{r['gflop_per_step']:.3f} GFLOP/step, {r['achieved_gflops']:.2f} GFLOP/s, "
                  f"peak {r['peak_gflops']:.1f}, MFU {100 * r['mfu']:.1f}%", flush=True)
            if r["mfu"] > 1:
                print(f"WARNING: MFU > 100%: {r['model']} ({r['shape']}) {p}: {100 * r['mfu']:.1f}% "
                      f"({r['achieved_gflops']:.1f} GFLOP/s over a peak of {r['peak_gflops']:.1f}: matmul "
                      f"{r['peak_matmul_gflops']:.1f}, conv {r['peak_conv_gflops']:.1f})", flush=True)

    for name, cfg in catalogue_configs(args.quick):
        try:
            job = build_job(cfg, name)
        except Exception as e:  # noqa: BLE001 -- missing data or a broken config: one line, go on
            print(f"{name}: skipped: build raised {type(e).__name__}: {e}")
            continue
        run(job, MAX_STEP_SECONDS)
        del job
    run(headline_job(QUICK_HEADLINE if args.quick else HEADLINE), None)

    path = Path(args.out_dir) / "tables" / "perf" / "mfu.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    if rows:
        lo, hi = min(rows, key=lambda r: r["mfu"]), max(rows, key=lambda r: r["mfu"])
        print(f"lowest MFU: {lo['model']} {lo['precision']} {100 * lo['mfu']:.2f}%; "
              f"highest MFU: {hi['model']} {hi['precision']} {100 * hi['mfu']:.2f}% "
              f"({len(rows)} rows, {time.perf_counter() - t_start:.0f} s; wrote {path})")
    over = [f"{r['model']} {r['precision']} {100 * r['mfu']:.1f}%" for r in rows if r["mfu"] > 1]
    if over:
        print(f"WARNING: {len(over)} row(s) with MFU > 100%: {'; '.join(over)}")
    return dict(rows=rows, peaks={p: v["peak"] for p, v in peak.items()}, peak_parts=peak, path=path)


if __name__ == "__main__":
    main()
