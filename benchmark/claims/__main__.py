"""python -m benchmark.claims arms ID [--scale cpu]   labels of an experiment's runs (what an arm filters on)
python -m benchmark.claims check [--scale cpu]       every claim's arms select one run per seed of its grid
python -m benchmark.claims list                      every claim, a line each
python -m benchmark.claims evaluate ID|all [--scale cpu] [--runs-dir runs] [--out-dir .]
                                                     judge claims from finished runs; writes only the claims CSVs
python -m benchmark.claims summary [--out-dir .]     tables/claims.md and the README block from the claims CSVs
python -m benchmark.claims precision ID [--scale cpu] [--runs-dir runs] [--out-dir .]
                                                     verdicts of the fp32 and the bf16 runs side by side"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..catalogue import UnknownExperiment, resolve
from . import all_claims
from .evaluate import arm_problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.claims", description=__doc__)
    p.add_argument("command", choices=("arms", "check", "list", "evaluate", "summary", "precision"))
    p.add_argument("experiment", nargs="?")
    p.add_argument("--scale", default="cpu", choices=("smoke", "cpu", "paper"))
    p.add_argument("--seeds", type=int, default=None, help="seeds of the grid (default: the scale's)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--out-dir", default=".")
    args = p.parse_args(argv)
    if args.command == "summary":
        from .summary import write_summary

        for f in write_summary(Path(args.out_dir), readme=Path(args.out_dir) / "README.md"):
            print(f"wrote {f}")
        return 0
    if args.command == "evaluate":
        return evaluate(args)
    if args.command == "precision":
        from .precision import compare_precisions

        if not args.experiment:
            print("error: precision needs an experiment id (python -m benchmark.claims precision deeprnn.table6)",
                  file=sys.stderr)
            return 2
        try:
            path = compare_precisions(args.experiment, Path(args.runs_dir), Path(args.out_dir), args.scale, args.seeds)
        except (UnknownExperiment, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    if args.command == "list":
        for c in all_claims():
            print(f"{c.id:<36} {c.experiment:<16} {type(c.form).__name__:<11} {c.statement}")
        return 0
    if args.command == "arms":
        if not args.experiment:
            print("error: arms needs an experiment id (python -m benchmark.claims arms deeprnn.table6)", file=sys.stderr)
            return 2
        try:
            exp = resolve(args.experiment)
        except UnknownExperiment as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        seen = {}
        cfgs = exp.runs(args.scale, 1, None)
        for cfg in cfgs:
            key = tuple(sorted((k, str(v)) for k, v in cfg.labels.items()))
            seen.setdefault(key, cfg)
        for key, cfg in seen.items():
            print(f"{cfg.model:<28} task={cfg.task:<10} " + ", ".join(f"{k}={v}" for k, v in key))
        for labels in exp.claim_arms(cfgs) if exp.claim_arms is not None else []:
            print(f"{'(derived row)':<28} {'':<15} " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
        return 0
    bad = 0
    for c in all_claims():
        for problem in arm_problems(c, args.scale):
            bad += 1
            print(f"{c.id}: {problem}")
    print(f"{len(all_claims())} claims, {bad} problems at scale {args.scale}")
    return 1 if bad else 0


def evaluate(args) -> int:
    """Claims CSVs of one experiment (or ``all``) from the finished runs, leaving its tables as they are."""
    from ..catalogue import list_ids
    from .evaluate import evaluate_experiment

    ids = list_ids() if args.experiment == "all" else [args.experiment]
    if not args.experiment:
        print("error: evaluate needs an experiment id or all", file=sys.stderr)
        return 2
    for i in ids:
        try:
            exp = resolve(i)
            cfgs = exp.runs(args.scale, args.seeds, None)
        except (UnknownExperiment, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for f in evaluate_experiment(exp.id, Path(args.runs_dir), cfgs, Path(args.out_dir), args.scale):
            print(f"wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
