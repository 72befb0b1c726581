"""python -m benchmark.collect ID|all|PAPER.all [--scale smoke|cpu|paper] [--seeds N] [--data-root PATH] [--runs-dir DIR]
                              [--out-dir DIR]

Builds the experiment's tables and figures from whatever runs have finished, without launching
anything, and says what is missing. A cell none of whose runs finished stays empty in the table; every
missing run (pending, running or failed, with its error) is listed on stdout and in
``<out-dir>/tables/<paper>/<id>.missing.csv``. Exit status 0 when nothing is missing, 1 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .cli import BadInput, OneLineParser, add_grid_arguments, check_arguments, fail, resolve_grid
from .launch import slurm_queue
from .rundir import run_dir
from .status import run_state


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m benchmark.collect", description=__doc__.split("\n\n")[1])
    add_grid_arguments(p)
    p.add_argument("--out-dir", default=".")
    return p


def missing_runs(runs_root: Path, cfgs) -> pd.DataFrame:
    queue = slurm_queue()
    rows = []
    for cfg in cfgs:
        path = run_dir(runs_root, cfg)
        st = run_state(path, queue)
        if st["state"] != "done":
            rows.append({"row": cfg.labels.get("row", cfg.model), "seed": cfg.seed, "state": st["state"],
                         "detail": st["detail"], "run_dir": str(path)})
    return pd.DataFrame(rows, columns=["row", "seed", "state", "detail", "run_dir"])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_arguments(args, writes_runs=False, writes_out=True)
    except BadInput as e:
        return fail(e)
    if args.experiment == "all" or args.experiment.endswith(".all"):
        from .catalogue import UnknownExperiment
        from .run import selected_ids

        try:
            ids = selected_ids(args.experiment)
        except UnknownExperiment as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        codes = [collect_one(args, i) for i in ids]
        from .claims.summary import write_summary

        for f in write_summary(Path(args.out_dir), readme=Path(args.out_dir) / "README.md"):
            print(f"wrote {f}")
        return 2 if 2 in codes else max(codes)
    return collect_one(args, args.experiment)


def collect_one(args, experiment: str) -> int:
    from .run import outputs_or_error, record_outputs

    args = argparse.Namespace(**{**vars(args), "experiment": experiment})
    exp, cfgs = resolve_grid(args)
    if exp is None:
        return 2
    runs_root, out_dir = Path(args.runs_dir), Path(args.out_dir)
    missing = missing_runs(runs_root, cfgs)
    files, error = outputs_or_error(exp, runs_root, cfgs, out_dir, args.scale)
    record_outputs(out_dir, exp, args.scale, files, runs_root, cfgs, error)
    if error:
        print(f"error: {exp.id}: outputs failed: {error}", file=sys.stderr)
    name = exp.id.split(".", 1)[1]
    miss_csv = out_dir / "tables" / exp.paper / f"{name}.missing.csv"
    if len(missing):
        miss_csv.parent.mkdir(parents=True, exist_ok=True)
        missing.to_csv(miss_csv, index=False)
        files.append(miss_csv)
    elif miss_csv.exists():
        miss_csv.unlink()
    print(f"{exp.id} [{args.scale}]: {len(cfgs) - len(missing)} of {len(cfgs)} runs finished")
    for f in files:
        print(f"  wrote {f}")
    if len(missing):
        print(f"missing ({len(missing)}; their cells are empty):")
        for r in missing.itertuples():
            print(f"  {r.state:<8} {r.row:<16} seed {r.seed}  {r.detail}")
    return 1 if len(missing) or error else 0


if __name__ == "__main__":
    sys.exit(main())
