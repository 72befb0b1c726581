"""What the command lines of run, status and collect share: the arguments that name a grid of runs,
their checks (every value checked here, before anything is written or launched: a bad one is one line
``error: ...`` naming it and the fix, exit status 2, no traceback) and turning them into (experiment,
configs)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .catalogue import UnknownExperiment, resolve
from .config import PRECISIONS, SCALES


class BadInput(ValueError):
    """A command-line value or profile that cannot be used; the message names it and the fix."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (``error: ...``), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def fail(error) -> int:
    """Print ``error: <message>`` (its first line) on stderr; the exit status of a bad input."""
    print(f"error: {(str(error).strip().splitlines() or [type(error).__name__])[0]}", file=sys.stderr)
    return 2


def check_folder(flag: str, value: str, writes: bool) -> None:
    """``value`` can be (or become) a folder, and, when ``writes``, one this process can write in."""
    path = Path(value)
    top = path
    while not os.path.lexists(top) and top != top.parent:
        top = top.parent
    if not top.is_dir():
        where = "is a file" if top == path else f"lies under {top}, which is a file"
        raise BadInput(f"{flag} {value}: {where}; give a folder path")
    if not writes:
        return
    import tempfile

    try:  # root may write anywhere os.access says, except where the file system refuses (/proc, read-only)
        os.rmdir(tempfile.mkdtemp(dir=top, prefix=".benchmark-write-check-"))
    except OSError as e:
        raise BadInput(f"{flag} {value}: cannot write in {top} ({e.strerror or type(e).__name__}); "
                       "give a folder you can write to") from None


def check_arguments(args, writes_runs: bool, writes_out: bool) -> None:
    """The values every command shares (``--seeds``, ``--max-parallel``, ``--runs-dir``, ``--out-dir``)."""
    seeds = getattr(args, "seeds", None)
    if seeds is not None and seeds < 1:
        raise BadInput(f"--seeds {seeds}: the number of seeds must be at least 1 (leave it out for the "
                       "scale's default)")
    par = getattr(args, "max_parallel", None)
    if par is not None and par < 1:
        raise BadInput(f"--max-parallel {par}: at least 1 job runs at once (leave it out for one per core)")
    check_folder("--runs-dir", args.runs_dir, writes_runs)
    if getattr(args, "out_dir", None) is not None:
        check_folder("--out-dir", args.out_dir, writes_out)


def check_data_root(exp, cfgs, data_root: str | None, scale: str) -> None:
    """``--data-root`` is refused for an experiment none of whose runs read a real data set."""
    if data_root and not any(c.data_root for c in cfgs):
        what = "computes its outputs (no runs)" if not cfgs else f"trains on built-in data at --scale {scale}"
        raise BadInput(f"--data-root {data_root}: {exp.id} {what}, so the path would be ignored; drop --data-root")


def add_grid_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("experiment", help="catalogue id (e.g. table6, deeprnn.table6)")
    p.add_argument("--scale", choices=SCALES, default="cpu",
                   help="smoke: seconds, for tests; cpu: minutes on a laptop; paper: the paper's settings")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    p.add_argument("--data-root", default=None, help="root of the real data set (default: built-in data)")
    p.add_argument("--runs-dir", default="runs", help="where run directories live (default: runs/)")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="fp32 or bf16 training (default: the experiment's; bf16 needs AVX512_BF16/AMX or a GPU)")
    return p


def resolve_grid(args):
    """(experiment, run configs) for parsed grid arguments, or (None, None) after printing the error."""
    try:
        exp = resolve(args.experiment)
        cfgs = exp.runs(args.scale, args.seeds, args.data_root, getattr(args, "precision", None))
        check_data_root(exp, cfgs, args.data_root, args.scale)
        return exp, cfgs
    except (UnknownExperiment, ValueError) as e:
        fail(e)
        return None, None
