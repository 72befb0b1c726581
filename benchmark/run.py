"""python -m benchmark.run ID [--scale smoke|cpu|paper] [--cluster local|debug|slurm] [--seeds N]
                          [--data-root PATH] [--runs-dir DIR] [--out-dir DIR] [--no-wait]
                          [--profile NAME|PATH] [--dry-run]
python -m benchmark.run list
python -m benchmark.run where ID                           (the file and line that declare ID, and its code)
python -m benchmark.run all | PAPER.all [--scale ...]      (every experiment, or every one of a paper)

Runs the grid of a catalogue experiment (skipping every run that already finished), then writes its
tables (``<out-dir>/tables/<paper>/``) and figures (``<out-dir>/figures/<paper>/``).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from .catalogue import UnknownExperiment, list_ids, resolve, where
from .cli import BadInput, OneLineParser, add_grid_arguments, check_arguments, check_data_root, fail
from .launch import CLUSTERS, SEED_BATCHING, describe_plan, launch, load_profile, slurm_problem
from .rundir import run_dir


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m benchmark.run", description=__doc__.split("\n\n")[1],
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
    p.add_argument("--seed-batching", choices=SEED_BATCHING, default="auto",
                   help="train a configuration's seeds as one stacked model: auto (where tables/perf/seeds.csv "
                        "measured it faster), on, off")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile each run's training step (off by default: at the cpu scale compiling "
                        "costs more than it saves, tables/perf/compile.csv; eager if it fails)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the sweep plan (runs, resources per job, array size) and submit nothing")
    return p


def where_lines(name: str) -> list[str]:
    """Where experiment ``name`` is declared (its paper's file, the line naming its id) and the functions that
    build its grid and its outputs, as ``path:line`` (relative to the working directory when inside it)."""
    import inspect

    def show(path, line: int) -> str:
        path = Path(path).resolve()
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        return f"{path}:{line}"

    exp = resolve(name)
    out = [f"{exp.id:<24} {show(*where(name))}  (declared)"]
    for part, fn in (("runs", exp.make_runs), ("outputs", exp.make_outputs)):
        fn = inspect.unwrap(fn)
        if fn.__name__ == "<lambda>" or fn.__code__.co_filename == where(name)[0].as_posix():
            continue  # declared inline: the declaration is the code
        out.append(f"{'  ' + part:<24} {show(fn.__code__.co_filename, fn.__code__.co_firstlineno)}  ({fn.__name__})")
    try:  # the trainers of its runs (the smoke grid names the same tasks as every scale)
        tasks = sorted({c.task for c in exp.runs("smoke", 1)})
    except Exception:  # a grid that cannot be built here names no trainer
        tasks = []
    import benchmark.train

    for task in tasks:
        out.append(f"{'  trains with':<24} {show(Path(benchmark.train.__file__).parent / f'{task}.py', 1)}  "
                   f"(task {task!r})")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["where"]:
        if len(argv) != 2:
            return fail("usage: python -m benchmark.run where ID (an id of `python -m benchmark.run list`)")
        try:
            print("\n".join(where_lines(argv[1])))
        except UnknownExperiment as e:
            return fail(str(e))
        return 0
    args = parser().parse_args(argv)
    if args.experiment == "list":
        for i in list_ids():
            exp = resolve(i)
            print(f"{i:<24} {exp.title}")
        papers = sorted({i.split(".")[0] for i in list_ids()})
        print(f"{'all':<24} every experiment above, one sweep, then every table and figure")
        for paper in papers:
            print(f"{paper + '.all':<24} every {paper} experiment")
        return 0
    try:
        check_arguments(args, writes_runs=not args.dry_run, writes_out=not (args.dry_run or args.no_wait))
    except BadInput as e:
        return fail(e)
    if args.experiment == "all" or args.experiment.endswith(".all"):
        return run_many(args)
    try:
        exp = resolve(args.experiment)
        cfgs = exp.runs(args.scale, args.seeds, args.data_root, args.precision)
        if args.compile:
            cfgs = [dataclasses.replace(c, compile=True) for c in cfgs]
        check_data_root(exp, cfgs, args.data_root, args.scale)
        profile = load_profile(args.profile)
        if not args.dry_run:
            _check_data(cfgs)
            _check_precision(cfgs, args.cluster)
            _check_cluster(args, cfgs)
    except (UnknownExperiment, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(f"{exp.id} [{args.scale}] dry run: nothing is submitted")
        if cfgs:
            print(describe_plan(cfgs, Path(args.runs_dir), args.cluster, profile=profile,
                                max_parallel=args.max_parallel, seed_batching=args.seed_batching))
        else:
            print("no runs: the outputs are computed, not trained")
        return 0
    t0 = time.time()
    counts = {} if not cfgs else launch(cfgs, Path(args.runs_dir), args.cluster, max_parallel=args.max_parallel,
                    wait=not args.no_wait, profile=profile, seed_batching=args.seed_batching, name=exp.id)
    if args.no_wait:
        extra = f" ({counts['in_flight']} still in flight from an earlier launch)" if counts.get("in_flight") else ""
        if counts.get("deferred"):
            extra += (f"; {counts['deferred']} more start from those: launch again once they have finished to "
                      "submit them")
        print(f"{exp.id}: submitted {counts.get('submitted', 0)} runs{extra}; results will land in "
              f"{args.runs_dir}/ (python -m benchmark.status {exp.id} --scale {args.scale} --runs-dir {args.runs_dir})")
        return 0
    files, error = outputs_or_error(exp, Path(args.runs_dir), cfgs, Path(args.out_dir), args.scale)
    record_outputs(Path(args.out_dir), exp, args.scale, files, Path(args.runs_dir), cfgs, error)
    if error:
        print(f"error: {exp.id}: outputs failed: {error}", file=sys.stderr)
        return 1
    print(f"{exp.id} [{args.scale}]: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
          + f" in {time.time() - t0:.1f}s")
    for f in files:
        print(f"  wrote {f}")
    return 1 if counts.get("failed") else 0


def _check_precision(cfgs, cluster: str) -> None:
    """bf16 runs launched on this machine need fast bf16 here (a Slurm job checks on its own node)."""
    from .precision import bf16_problem

    if cluster != "slurm" and any(c.precision == "bf16" for c in cfgs):
        problem = bf16_problem()
        if problem:
            raise ValueError(problem)


def selected_ids(name: str) -> list[str]:
    """``all`` -> every id; ``<paper>.all`` -> that paper's ids (unknown paper: the valid ones)."""
    ids = list_ids()
    if name == "all":
        return ids
    paper = name[: -len(".all")]
    chosen = [i for i in ids if i.split(".")[0] == paper]
    if not chosen:
        papers = sorted({i.split(".")[0] for i in ids})
        raise UnknownExperiment(f"no experiments for paper {paper!r}; use one of: all, "
                                + ", ".join(f"{p}.all" for p in papers))
    return chosen


def run_many(args) -> int:
    """Every selected experiment: one sweep over the union of their grids (a run shared by two experiments
    trains once), then each experiment's tables and figures; a failing experiment is reported and the
    others still write theirs."""
    try:
        ids = selected_ids(args.experiment)
    except UnknownExperiment as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.data_root:
        print("error: --data-root names one data set; run each paper-scale experiment with its own "
              "(python -m benchmark.run ID --scale paper --data-root PATH)", file=sys.stderr)
        return 2
    runs_root, out_dir = Path(args.runs_dir), Path(args.out_dir)
    try:
        grids = {i: resolve(i).runs(args.scale, args.seeds, None, args.precision) for i in ids}
    except ValueError as e:
        return fail(e)
    union = list({str(run_dir(runs_root, c)): c for cfgs in grids.values() for c in cfgs}.values())
    if args.compile:
        union = [dataclasses.replace(c, compile=True) for c in union]
    try:
        profile = load_profile(args.profile)
        if not args.dry_run:
            _check_cluster(args, union)
            _check_precision(union, args.cluster)
    except (FileNotFoundError, ValueError) as e:
        return fail(e)
    print(f"{args.experiment} [{args.scale}]: {len(ids)} experiments, {len(union)} distinct runs")
    if args.dry_run:
        if union:
            print(describe_plan(union, runs_root, args.cluster, profile=profile, max_parallel=args.max_parallel,
                                seed_batching=args.seed_batching))
        return 0
    t0 = time.time()
    counts = launch(union, runs_root, args.cluster, max_parallel=args.max_parallel, wait=not args.no_wait,
                    profile=profile, seed_batching=args.seed_batching, name=args.experiment) if union else {}
    if args.no_wait:
        print(f"submitted {counts.get('submitted', 0)} runs; collect later with the same command")
        return 0
    failed = []
    for i in ids:
        exp = resolve(i)
        files, error = outputs_or_error(exp, runs_root, grids[i], out_dir, args.scale)
        record_outputs(out_dir, exp, args.scale, files, runs_root, grids[i], error)
        if error:  # one experiment's outputs never stop the others'
            failed.append(i)
            print(f"{i}: outputs failed: {error}", file=sys.stderr)
            continue
        print(f"{i}: wrote {len(files)} files")
    from .claims.summary import write_summary

    for f in write_summary(out_dir, readme=out_dir / "README.md"):
        print(f"wrote {f}")
    print(f"{args.experiment} [{args.scale}]: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
          + f" in {time.time() - t0:.1f}s" + (f"; outputs failed for {', '.join(failed)}" if failed else ""))
    return 1 if failed or counts.get("failed") else 0


MANIFEST = "manifest.json"


def outputs_or_error(exp, runs_root: Path, cfgs, out_dir: Path, scale: str) -> tuple[list, str | None]:
    """(files, None), or ([], "ErrorType: message") when the experiment's outputs raise: the error is
    shown (run, collect, status and the report name it) and never stops the other experiments."""
    try:
        return exp.outputs(runs_root, cfgs, out_dir, scale), None
    except Exception as e:  # reported in one line (with where it was raised), recorded in the manifest
        import traceback

        where = traceback.extract_tb(e.__traceback__)[-1]
        return [], f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"


def record_outputs(out_dir: Path, exp, scale: str, files, runs_root: Path, cfgs, error: str | None = None) -> Path:
    """Note in ``<out-dir>/tables/manifest.json`` which files an experiment wrote, at which scale and from
    how many finished runs (the report reads it); ``error``: its outputs raised (the files it wrote before
    stay listed)."""
    import os
    from datetime import datetime, timezone

    from .rundir import atomic_write_json, read_json, run_status

    path = Path(out_dir) / "tables" / MANIFEST
    manifest = read_json(path)
    if manifest is None:
        manifest = {}
        if path.exists():  # cut or garbage: kept aside, started again from this experiment's entry
            aside = path.with_name(f"{MANIFEST}.corrupt-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}")
            os.replace(path, aside)
            print(f"warning: healed {path}: it did not parse; moved to {aside.name}, started again",
                  file=sys.stderr)
    rel = []
    for f in files:
        f = Path(f)
        try:
            rel.append(str(f.resolve().relative_to(Path(out_dir).resolve())))
        except ValueError:
            rel.append(str(f))
    entry = {"title": exp.title, "scale": scale, "files": rel, "runs": len(cfgs),
             "runs_done": sum(run_status(run_dir(runs_root, c)) == "done" for c in cfgs),
             "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if error:
        entry.update(error=error, files=manifest.get(exp.id, {}).get("files", []))
    manifest[exp.id] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, dict(sorted(manifest.items())))
    return path


def _check_cluster(args, cfgs) -> None:
    """``--cluster slurm``: Slurm must answer before anything is submitted (or a run directory made)."""
    if args.cluster == "slurm" and cfgs:
        problem = slurm_problem()
        if problem:
            raise BadInput(problem)


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
