"""Performance benchmark of deep recurrent stacks (issue 8): ``python -m benchmark.perf``.

Writes ``tables/perf/{step_time,headline,memory}.csv`` and ``figures/perf/{step_time,memory}.png``.

**Training-step time** (``step_time.csv``, ``headline.csv``). One step = zero the gradients, forward,
``out.sum().backward()`` over the stack's top outputs. No optimizer step (Adam's cost is per
parameter, the same for every path, and would only dilute the ratios). Three paths, in the same
process, interleaved per repeat (a, b, c, a, b, c, ...), one warm-up round first, median of ``k``:

- ``time``  -- ``RecurrentStack.forward(xs, execution="time")``, the time-major reference;
- ``layer`` -- ``RecurrentStack.forward(xs, execution="layer")`` (``models.layer_major``);
- ``floor`` -- the feed-forward floor: the same layer's convolutions run ONCE over all B*T frames with
  no recurrence, layer after layer through the whole depth (the state replaced by zeros, so every conv
  has exactly the reference's shape and FLOPs), then the same ``sum().backward()``:

  * CBM:  ``r = r_act(r_bn(r_conv(x)))``, ``c = sigmoid(t_bn(t_conv(cat(x, 0))))``, ``out = r * c``;
  * SCS:  the same main stream (R activation relu) and, as the cells are built with their default
    ``sub_goals=True`` (layer-major computes the streams, see ``run_layer_major``), the temporal stream
    ``relu(BN(t_conv(cat(x_tmp, 0))))`` over all B*T frames and the spatial stream
    ``r_act(BN(r_conv(x_sp)))`` on the last step's B frames (what layer-major computes);
  * ConvLSTM: ``i, f, o, g = gates(cat(x, 0))``, ``c = sigmoid(i) * tanh(g)``, ``h = sigmoid(o) * tanh(c)``.

  BN there is one call per chunk of frames (no per-step statistics). Nothing recurrent can do less.
  The floor runs in the same cache-sized chunks of whole time steps as layer-major's batched
  convolutions (``models.layer_major.CHUNK_BYTES``); the headline also reports ``floor_unchunked``
  (one call per layer over all B*T frames), which on the 2-core CPU is SLOWER than layer-major at
  64x64 (cache), i.e. not a floor.

Ratios (``ratio_to_floor``, ``ratio_time_over_layer``) are of medians measured in the same run.

**Peak memory** (``memory.csv``): a fresh subprocess per measurement; peak RSS (``VmHWM``, see
``_maxrss_mb``) at the end minus peak RSS after the model and the data were built (tracemalloc does not see torch's CPU allocator).
Model: ``seq_cbm`` (``models.nets.sequence.SequenceNet``, no stem), one training step per process.
Schemes: ``bptt`` (``benchmark.train.sequence.loss``, scheme "bptt", one backward); ``oct_loss``
(``benchmark.train.sequence.loss`` with scheme "overlap", clips of 10, overlap 0.25, state handed over
detached, as the training loop calls it: the clip losses are summed, ONE backward at the end);
``oct`` (``benchmark.train.sequence.loss_backward``, what the training loop runs: the same clips,
losses and detached hand-over, one backward per clip -- the gradient is the same, since each clip's
loss only reaches that clip's graph: the hand-over state and the coherence target are detached).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

from models.cells.cbm import ACTIVATIONS, CBMCell
from models.cells.convlstm import ConvLSTMCell
from models.cells.scs import SCSCell, stream_norm
from models.stacks import build_stack

CELLS = ("convlstm", "cbm", "scs")
PATHS = ("time", "layer", "floor")

# full grid (small maps / widths so the whole grid fits ~10 minutes on the 2-core machine)
FULL = dict(depths=(2, 15, 17), Ts=(8, 16, 32, 64), batch=4, size=16, width=16, in_channels=16, k=3)
# the headline: 15-layer CBM, T = 16, 64x64 input, batch 4, 32 channels in and per layer
HEADLINE = dict(cell="cbm", depth=15, T=16, batch=4, size=64, width=32, in_channels=32, k=5)
MEMORY = dict(cell="cbm", depth=15, width=16, size=32, batch=4, Ts=(16, 32, 64), clip_len=10, overlap=0.25)

QUICK_FULL = dict(depths=(2,), Ts=(4, 8), batch=2, size=8, width=4, in_channels=4, k=2)
QUICK_HEADLINE = dict(cell="cbm", depth=3, T=4, batch=2, size=8, width=4, in_channels=4, k=2)
QUICK_MEMORY = dict(cell="cbm", depth=2, width=4, size=8, batch=2, Ts=(16,), clip_len=10, overlap=0.25)

SCHEMES = ("bptt", "oct_loss", "oct")


def machine() -> str:
    return (f"{platform.platform()}; {platform.processor() or platform.machine()}; cpus={os.cpu_count()}; "
            f"torch={torch.__version__}; threads={torch.get_num_threads()}")


# ----------------------------------------------------------------------------------- the three paths
def make_stack(cell: str, depth: int, in_channels: int, width: int) -> nn.Module:
    return build_stack(cell, in_channels, [width] * depth).train()


def floor_forward(stack, xs: torch.Tensor, chunked: bool = True) -> torch.Tensor:
    """The feed-forward floor (see the module docstring): every layer's convolutions once over B*T frames.
    ``chunked``: the whole depth runs over chunks of whole time steps of at most
    ``models.layer_major.CHUNK_BYTES`` input, as layer-major's batched convolutions do (one conv over
    all 64x64 frames falls out of cache on this CPU and is slower than the chunked layer-major path);
    BN statistics are then per chunk. ``chunked=False``: one call per layer over all B*T frames."""
    from models.layer_major import CHUNK_BYTES
    b, t = xs.shape[:2]
    per_step = xs[:, 0].numel() * xs.element_size()  # same rule as layer-major (its input frames)
    k = t if (not chunked or CHUNK_BYTES is None) else max(1, min(t, CHUNK_BYTES // per_step))
    if k < t:
        parts = [floor_forward(stack, xs[:, a:a + k], chunked=False) for a in range(0, t, k)]
        return torch.cat(parts, 1)
    x = xs.transpose(0, 1).reshape(b * t, *xs.shape[2:])
    streams = None
    for cell in stack.cells:
        zeros = x.new_zeros(x.shape[0], cell.hidden_channels, *x.shape[2:])
        if isinstance(cell, ConvLSTMCell):
            i, _, o, g = cell.gates(torch.cat([x, zeros], 1)).chunk(4, dim=1)
            x = torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))
        elif isinstance(cell, CBMCell):
            c = cell.t_bn(cell.t_conv(torch.cat([x, zeros], 1)))
            c = torch.sigmoid(c) if cell.merge == "product" else torch.relu(c)
            r = ACTIVATIONS[cell.r_act](cell.r_bn(cell.r_conv(x)))
            x = r * c if cell.merge == "product" else r + c
        elif isinstance(cell, SCSCell):
            act = ACTIVATIONS[cell.r_act]
            g = torch.sigmoid(cell.t_bn(cell.t_conv(torch.cat([x, zeros], 1))))
            u = act(cell.r_bn(cell.r_conv(x))) * g
            if cell.sub_goals:
                xs_in, xt_in = (x[-b:].detach(), x.detach()) if streams is None else streams
                spatial = act(stream_norm(cell.r_bn, cell.r_conv(xs_in)))
                temporal = torch.relu(stream_norm(cell.t_bn, cell.t_conv(torch.cat([xt_in, zeros], 1))))
                streams = (spatial, temporal)
            x = u
        else:
            raise NotImplementedError(type(cell).__name__)
    return x.view(t, b, *x.shape[1:]).transpose(0, 1)


def run_path(stack, xs, path: str) -> torch.Tensor:
    if path == "floor":
        return floor_forward(stack, xs)
    if path == "floor_unchunked":
        return floor_forward(stack, xs, chunked=False)
    return stack(xs, execution=path)[0]


def timed_step(stack, xs, path: str) -> float:
    stack.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    run_path(stack, xs, path).sum().backward()
    return time.perf_counter() - t0


def measure(stack, xs, paths=PATHS, k: int = 3) -> dict[str, float]:
    """One warm-up round, then ``k`` interleaved rounds; the median per path."""
    for p in paths:
        timed_step(stack, xs, p)
    times = {p: [] for p in paths}
    for _ in range(k):
        for p in paths:
            times[p].append(timed_step(stack, xs, p))
    return {p: statistics.median(v) for p, v in times.items()}


def _rows(cell, depth, T, med, extra):
    return [dict(cell=cell, depth=depth, T=T, path=p, seconds=s, ratio_to_floor=s / med["floor"],
                 ratio_time_over_layer=med["time"] / med["layer"], **extra) for p, s in med.items()]


def step_time_grid(g: dict, log) -> list[dict]:
    rows = []
    extra = dict(batch=g["batch"], size=g["size"], width=g["width"], in_channels=g["in_channels"],
                 k=g["k"], machine=machine())
    for cell in CELLS:
        for depth in g["depths"]:
            torch.manual_seed(0)
            stack = make_stack(cell, depth, g["in_channels"], g["width"])
            for T in g["Ts"]:
                xs = torch.randn(g["batch"], T, g["in_channels"], g["size"], g["size"])
                med = measure(stack, xs, k=g["k"])
                rows += _rows(cell, depth, T, med, extra)
                log(f"{cell:8s} depth {depth:2d} T {T:2d}: " + ", ".join(f"{p} {s:.3f}s" for p, s in med.items())
                    + f"  layer/floor {med['layer'] / med['floor']:.2f}  time/layer {med['time'] / med['layer']:.2f}")
    return rows


def headline(h: dict, log) -> list[dict]:
    """The issue's configuration, contiguous (NCHW) and channels_last."""
    rows = []
    torch.manual_seed(0)
    stack = make_stack(h["cell"], h["depth"], h["in_channels"], h["width"])
    xs = torch.randn(h["batch"], h["T"], h["in_channels"], h["size"], h["size"])
    base = dict(cell=h["cell"], depth=h["depth"], T=h["T"], batch=h["batch"], size=h["size"],
                width=h["width"], in_channels=h["in_channels"], k=h["k"])
    for fmt in ("contiguous", "channels_last"):
        if fmt == "channels_last":
            stack = stack.to(memory_format=torch.channels_last)
            # a 5-D tensor has no channels_last; the frames are made channels_last per (B, C, H, W) view
            xs = torch.stack([xs[:, t].contiguous(memory_format=torch.channels_last) for t in range(xs.shape[1])], 1)
        med = measure(stack, xs, paths=PATHS + ("floor_unchunked",), k=h["k"])
        for p, s in med.items():
            rows.append(dict(**base, memory_format=fmt, path=p, seconds=s, ratio_to_floor=s / med["floor"],
                             ratio_time_over_layer=med["time"] / med["layer"], machine=machine()))
        log(f"headline {fmt}: " + ", ".join(f"{p} {s:.3f}s" for p, s in med.items())
            + f"  layer/floor {med['layer'] / med['floor']:.2f}  time/layer {med['time'] / med['layer']:.2f}")
    return rows


def profile(h: dict, log, steps: int = 2) -> list[dict]:
    """Where a training step's time goes: torch.profiler over ``steps`` steps of the headline configuration
    per path (after one warm-up step); per operator its self CPU time, share of the step and call count."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch.manual_seed(0)
    stack = make_stack(h["cell"], h["depth"], h["in_channels"], h["width"])
    xs = torch.randn(h["batch"], h["T"], h["in_channels"], h["size"], h["size"])
    rows = []
    for path in PATHS:
        timed_step(stack, xs, path)
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                timed_step(stack, xs, path)
        events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
        total = sum(e.self_cpu_time_total for e in events)
        for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:15]:
            rows.append(dict(path=path, op=e.key, self_cpu_s_per_step=e.self_cpu_time_total / 1e6 / steps,
                             share=e.self_cpu_time_total / total, calls_per_step=e.count / steps,
                             cell=h["cell"], depth=h["depth"], T=h["T"], batch=h["batch"], size=h["size"],
                             width=h["width"], machine=machine()))
        top = [r for r in rows if r["path"] == path][:3]
        log(f"profile {path}: " + ", ".join(f"{r['op']} {100 * r['share']:.0f}%" for r in top))
    return rows


# ----------------------------------------------------------------------------------------- memory
def _maxrss_mb() -> float:
    """Peak RSS of this process in MB. Linux: ``VmHWM`` of /proc/self/status, because
    ``getrusage(RUSAGE_SELF).ru_maxrss`` keeps the high-water mark of the process image before
    ``exec``, i.e. of the forked benchmark parent (measured: every worker then reads the parent's
    5.9 GB). Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0)


def memory_worker(spec: dict) -> dict:
    """One measurement, in this (fresh) process: build, baseline, one training step, peak."""
    from benchmark.config import RunConfig
    from benchmark.train import sequence as seq
    from models import create_model

    torch.manual_seed(0)
    model = create_model(f"seq_{spec['cell']}", widths=[spec["width"]] * spec["depth"], num_classes=10,
                         in_channels=spec["width"], downsample=0).train()
    T = spec["T"]
    frames = torch.randn(spec["batch"], T, spec["width"], spec["size"], spec["size"])
    label = torch.randint(0, 10, (spec["batch"], T))
    batch = dict(frames=frames, label=label)
    scheme = spec["scheme"]
    cfg = RunConfig(experiment="perf", scale="smoke", task="sequence", model=f"seq_{spec['cell']}",
                    scheme="bptt" if scheme == "bptt" else "overlap",
                    scheme_kw={} if scheme == "bptt" else dict(clip_len=spec["clip_len"],
                                                               overlap_rate=spec["overlap"]))
    base = _maxrss_mb()
    t0 = time.perf_counter()
    n_clips = 1
    if scheme in ("bptt", "oct_loss"):
        seq.loss(model, batch, cfg).backward()
        if scheme == "oct_loss":
            n_clips = len(seq.clip_plan(cfg, T))
    else:  # what the training loop runs: benchmark.train.sequence.loss_backward, one backward per clip
        n_clips = len(seq.clip_plan(cfg, T))
        seq.loss_backward(model, batch, cfg)
    secs = time.perf_counter() - t0
    peak = _maxrss_mb()
    return dict(scheme=scheme, T=T, clips=n_clips, baseline_mb=base, peak_mb=peak, peak_minus_baseline_mb=peak - base,
                step_seconds=secs)


def memory(m: dict, threads: int | None, log) -> list[dict]:
    rows = []
    for T in m["Ts"]:
        for scheme in SCHEMES:
            spec = dict(m, T=T, scheme=scheme)
            spec.pop("Ts")
            cmd = [sys.executable, "-m", "benchmark.perf", "--_memory-worker", json.dumps(spec)]
            if threads:
                cmd += ["--threads", str(threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                 cwd=str(Path(__file__).resolve().parents[1]))
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(dict(cell=m["cell"], depth=m["depth"], width=m["width"], size=m["size"], batch=m["batch"],
                             clip_len=m["clip_len"], overlap=m["overlap"], **r, machine=machine()))
            log(f"memory {scheme:8s} T {T:2d}: +{r['peak_minus_baseline_mb']:.0f} MB ({r['clips']} clips)")
    by = {(r["scheme"], r["T"]): r["peak_minus_baseline_mb"] for r in rows}
    for r in rows:
        r["ratio_to_bptt"] = r["peak_minus_baseline_mb"] / max(by[("bptt", r["T"])], 1e-9)
    return rows


# ------------------------------------------------------------------------------------------ outputs
def _write_csv(rows, path: Path):
    import pandas as pd
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def plot_step_time(rows, path: Path):
    from .figures import plt, save_figure
    cells = [c for c in CELLS if any(r["cell"] == c for r in rows)]
    depths = sorted({r["depth"] for r in rows})
    fig, axes = plt.subplots(len(cells), len(depths), figsize=(3.6 * len(depths), 2.8 * len(cells)),
                             squeeze=False, sharex=True)
    for i, cell in enumerate(cells):
        for j, depth in enumerate(depths):
            ax = axes[i][j]
            for p, style in zip(PATHS, ("o-", "s-", "^--")):
                pts = sorted((r["T"], r["seconds"]) for r in rows if r["cell"] == cell and r["depth"] == depth
                             and r["path"] == p)
                if pts:
                    ax.plot(*zip(*pts), style, label=p)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{cell}, depth {depth}", fontsize=9)
            if i == len(cells) - 1:
                ax.set_xlabel("T (frames)")
            if j == 0:
                ax.set_ylabel("step time (s)")
    axes[0][0].legend(fontsize=8)
    r0 = rows[0]
    fig.suptitle(f"train step (fwd + bwd), batch {r0['batch']}, {r0['size']}x{r0['size']}, width {r0['width']}"
                 f"\n{r0['machine']}", fontsize=7)
    save_figure(fig, path, dpi=110)


def plot_memory(rows, path: Path):
    from .figures import plt, save_figure
    fig, ax = plt.subplots(figsize=(5, 3.5))
    labels = dict(bptt="full BPTT", oct_loss="OCT, summed loss (one backward)", oct="OCT, backward per clip (training loop)")
    for s, style in zip(SCHEMES, ("o-", "s--", "^-")):
        pts = sorted((r["T"], r["peak_minus_baseline_mb"]) for r in rows if r["scheme"] == s)
        ax.plot(*zip(*pts), style, label=labels[s])
    r0 = rows[0]
    ax.set_xlabel("sequence length (frames)")
    ax.set_ylabel("peak RSS - baseline (MB)")
    ax.set_title(f"{r0['depth']}-layer {r0['cell']}, width {r0['width']}, {r0['size']}x{r0['size']}, batch "
                 f"{r0['batch']}, clips of {r0['clip_len']}", fontsize=8)
    ax.legend(fontsize=7)
    save_figure(fig, path, dpi=110)


SUBCOMMANDS = {"mfu": "benchmark.perf_mfu", "seeds": "benchmark.perf_seeds", "compile": "benchmark.perf_compile"}


def main(argv=None) -> dict:
    """``python -m benchmark.perf`` (the stack benchmark below), ``... perf mfu`` (``benchmark.perf_mfu``:
    model FLOP utilisation at the sweeps' shapes), ``... perf seeds`` (``benchmark.perf_seeds``: what
    five seeds cost against one) or ``... perf compile`` (``benchmark.perf_compile``: whether
    torch.compile pays for a run)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmark.perf", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid (tests)")
    ap.add_argument("--out-dir", default=".", help="writes <out-dir>/tables/perf and <out-dir>/figures/perf")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--skip", nargs="*", default=(), choices=("grid", "headline", "memory", "profile"))
    ap.add_argument("--_memory-worker", dest="memory_worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(json.dumps(memory_worker(json.loads(args.memory_worker))))
        return {}
    out = Path(args.out_dir)
    grid, head, mem = (QUICK_FULL, QUICK_HEADLINE, QUICK_MEMORY) if args.quick else (FULL, HEADLINE, MEMORY)

    def log(msg):
        print(msg, flush=True)

    log(f"machine: {machine()}")
    result = {}
    if "headline" not in args.skip:
        result["headline"] = headline(head, log)
        _write_csv(result["headline"], out / "tables/perf/headline.csv")
    if "profile" not in args.skip:
        result["profile"] = profile(head, log)
        _write_csv(result["profile"], out / "tables/perf/profile.csv")
    if "memory" not in args.skip:
        result["memory"] = memory(mem, args.threads, log)
        _write_csv(result["memory"], out / "tables/perf/memory.csv")
        plot_memory(result["memory"], out / "figures/perf/memory.png")
    if "grid" not in args.skip:
        result["step_time"] = step_time_grid(grid, log)
        _write_csv(result["step_time"], out / "tables/perf/step_time.csv")
        plot_step_time(result["step_time"], out / "figures/perf/step_time.png")
    return result


if __name__ == "__main__":
    main()
