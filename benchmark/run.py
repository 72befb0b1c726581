"""python -m benchmark.run ID [--scale smoke|cpu|paper] [--cluster local|debug|slurm] [--seeds N]
                          [--data-root PATH] [--runs-dir DIR] [--out-dir DIR] [--no-wait]
                          [--profile NAME|PATH] [--dry-run]
python -m benchmark.run list

Runs the grid of a catalogue experiment (skipping every run that already finished), then writes its
tables (``<out-dir>/tables/<paper>/``) and figures (``<out-dir>/figures/<paper>/``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .catalogue import UnknownExperiment, list_ids, resolve
from .cli import add_grid_arguments
from .launch import CLUSTERS, launch, load_profile, plan


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark.run", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_grid_arguments(p)
    p.add_argument("--cluster", choices=CLUSTERS, default="local",
                   help="local: subprocesses via submitit (default); debug: in this process; slurm")
    p.add_argument("--out-dir", default=".", help="where tables/ and figures/ are written (default: .)")
    p.add_argument("--max-parallel", type=int, default=None, help="local: jobs at once (default: cores)")
    p.add_argument("--no-wait", action="store_true", help="return right after submission")
    p.add_argument("--profile", default=None,
                   help="cluster profile: a name in slurm/ (e.g. local-cluster) or a YAML path: partition, "
                        "GPUs, CPUs, memory, time, account/qos, array parallelism, setup lines")
    p.add_argument("--dry-run", action="store_true",
                   help="print the sweep plan (runs, resources per job, array size) and submit nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.experiment == "list":
        for i in list_ids():
            exp = resolve(i)
            print(f"{i:<24} {exp.title}")
        return 0
    try:
        exp = resolve(args.experiment)
    except UnknownExperiment as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
        cfgs = exp.runs(args.scale, args.seeds, args.data_root)
        if not args.dry_run:
            _check_data(cfgs)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(f"{exp.id} [{args.scale}] dry run: nothing is submitted")
        if cfgs:
            print(plan(cfgs, Path(args.runs_dir), args.cluster, profile=profile,
                       max_parallel=args.max_parallel).describe(Path(args.runs_dir)))
        else:
            print("no runs: the outputs are computed, not trained")
        return 0
    t0 = time.time()
    counts = {} if not cfgs else launch(cfgs, Path(args.runs_dir), args.cluster, max_parallel=args.max_parallel,
                    wait=not args.no_wait, profile=profile)
    if args.no_wait:
        extra = f" ({counts['in_flight']} still in flight from an earlier launch)" if counts.get("in_flight") else ""
        print(f"{exp.id}: submitted {counts.get('submitted', 0)} runs{extra}; results will land in "
              f"{args.runs_dir}/ (python -m benchmark.status {exp.id} --scale {args.scale} --runs-dir {args.runs_dir})")
        return 0
    files = exp.outputs(Path(args.runs_dir), cfgs, Path(args.out_dir), args.scale)
    print(f"{exp.id} [{args.scale}]: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
          + f" in {time.time() - t0:.1f}s")
    for f in files:
        print(f"  wrote {f}")
    return 1 if counts.get("failed") else 0


def _check_data(cfgs) -> None:
    """Fail before launching anything if a real data set's copy is not where the user said."""
    seen = set()
    for cfg in cfgs:
        key = (cfg.dataset, cfg.data_root)
        if cfg.dataset == "builtin" or key in seen:
            continue
        seen.add(key)
        from .data.checks import check_dataset

        problems = check_dataset(cfg.dataset, cfg.data_root)
        if problems:
            raise FileNotFoundError(f"{cfg.dataset} at --data-root {cfg.data_root}:\n" + "\n".join(problems[:5]))


if __name__ == "__main__":
    sys.exit(main())
