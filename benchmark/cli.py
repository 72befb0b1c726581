"""What the command lines of run, status and collect share: the arguments that name a grid of runs,
and turning them into (experiment, configs) with a one-line error for bad input."""
from __future__ import annotations

import argparse
import sys

from .catalogue import UnknownExperiment, resolve
from .config import SCALES


def add_grid_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("experiment", help="catalogue id (e.g. table6, deeprnn.table6)")
    p.add_argument("--scale", choices=SCALES, default="cpu",
                   help="smoke: seconds, for tests; cpu: minutes on a laptop; paper: the paper's settings")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    p.add_argument("--data-root", default=None, help="root of the real data set (default: built-in data)")
    p.add_argument("--runs-dir", default="runs", help="where run directories live (default: runs/)")
    return p


def resolve_grid(args):
    """(experiment, run configs) for parsed grid arguments, or (None, None) after printing the error."""
    try:
        exp = resolve(args.experiment)
        return exp, exp.runs(args.scale, args.seeds, args.data_root)
    except (UnknownExperiment, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return None, None
