"""python -m benchmark.status ID [--scale smoke|cpu|paper] [--seeds N] [--data-root PATH] [--runs-dir DIR]

The state of every run of a catalogue experiment, one line each:

  done      finished (result.json); "requeued N" when it was interrupted and resumed N times
  running   its job is running now (epochs done so far)
  pending   queued in a live job, never submitted, or interrupted (a rerun resumes it from its checkpoint)
  failed    the last line of its error (the traceback is in failed.json)

A run whose files were healed (a corrupt file moved aside and rebuilt) says so: "healed: ...".

Exit status: 0 when every run is done, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli import BadInput, OneLineParser, add_grid_arguments, check_arguments, fail, resolve_grid
from .launch import in_flight, read_attempts, slurm_queue
from .rundir import FAILED_FILE, read_json, read_metrics, read_result, result_problem, run_dir, run_status


def run_state(path: Path, queue: dict | None = None) -> dict:
    """{state, detail, requeued, epochs, healed} of one run directory."""
    st = _run_state(path, queue)
    healed = [h for h in read_attempts(path) if h["event"] == "healed"]
    st["healed"] = len(healed)
    if healed:
        last = healed[-1]
        st["detail"] += (f"; healed {len(healed)} time{'s' if len(healed) > 1 else ''} "
                         f"(last: {last.get('what')} {last.get('time', '')}: {last.get('reason', '')})")
    return st


def requeues(attempts: list[dict]) -> int:
    """Times a job started again the same run (a Slurm requeue or submitit's resubmission after a time-out);
    a later launch that resumes an interrupted run is not a requeue."""
    seen, n = set(), 0
    for a in attempts:
        if a["event"] == "started":
            job = str(a.get("job_id"))
            n += job in seen
            seen.add(job)
        elif a["event"] == "checkpointed":  # resubmitted by submitit: its next start is a requeue
            n += 1
            seen.discard(str(a.get("job_id")))
    return n


def _run_state(path: Path, queue: dict | None) -> dict:
    attempts = read_attempts(path)
    requeued = requeues(attempts)
    epochs = len(read_metrics(path))
    status = run_status(path)
    if status == "done":
        res = read_result(path)
        requeued = max(requeued, int(res.get("requeued") or 0))
        final = res.get("final", {})
        shown = {k: round(v, 4) for k, v in final.items() if k.startswith("test_") and isinstance(v, (int, float))}
        return {"state": "done", "detail": ", ".join(f"{k}={v}" for k, v in shown.items()),
                "requeued": requeued, "epochs": epochs}
    live = in_flight(path, queue)
    if live is not None:
        last = attempts[-1]
        if live["state"] == "RUNNING" and last["event"] == "started" and str(last.get("job_id")) == str(live["job_id"]):
            return {"state": "running", "detail": f"job {live['job_id']}, {epochs} epoch(s) done",
                    "requeued": requeued, "epochs": epochs}
        return {"state": "pending", "detail": f"queued: job {live['job_id']} ({live['state'].lower()})",
                "requeued": requeued, "epochs": epochs}
    if status == "failed":
        err = read_json(path / FAILED_FILE) or {"error": "failed.json is unreadable"}
        last = (str(err.get("error", "")).strip().splitlines() or ["(no message)"])[-1]
        return {"state": "failed", "detail": last, "requeued": requeued, "epochs": epochs}
    problem = result_problem(path)
    if problem:
        return {"state": "pending", "detail": f"not done: {problem}; a rerun heals it", "requeued": requeued,
                "epochs": epochs}
    if not attempts:
        return {"state": "pending", "detail": "not submitted", "requeued": 0, "epochs": epochs}
    detail = f"interrupted after {epochs} epoch(s); a rerun resumes it" if epochs else "its job ended; not started"
    return {"state": "pending", "detail": detail, "requeued": requeued, "epochs": epochs}


def _manifest_error(exp_id: str, out_dir: Path = Path(".")) -> str | None:
    """The error the experiment's last outputs raised, as recorded in tables/manifest.json."""
    path = out_dir / "tables" / "manifest.json"
    try:
        return json.loads(path.read_text()).get(exp_id, {}).get("error")
    except (OSError, json.JSONDecodeError):
        return None


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m benchmark.status", description=__doc__.split("\n\n")[1])
    add_grid_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per run")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_arguments(args, writes_runs=False, writes_out=False)
    except BadInput as e:
        return fail(e)
    exp, cfgs = resolve_grid(args)
    if exp is None:
        return 2
    queue = slurm_queue()
    counts: dict[str, int] = {}
    for cfg in cfgs:
        path = run_dir(Path(args.runs_dir), cfg)
        st = run_state(path, queue)
        counts[st["state"]] = counts.get(st["state"], 0) + 1
        row = cfg.labels.get("row", cfg.model)
        if args.json:
            print(json.dumps({"row": row, "seed": cfg.seed, "run_dir": str(path), **st}))
            continue
        rq = f" [requeued {st['requeued']} time{'s' if st['requeued'] != 1 else ''}]" if st["requeued"] else ""
        print(f"{st['state']:<8} {row:<16} seed {cfg.seed}  {path.name}  {st['detail']}{rq}")
    if not args.json:
        print(f"{exp.id} [{args.scale}]: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        error = _manifest_error(exp.id)
        if error:
            print(f"{exp.id}: its last outputs failed: {error}")
    return 0 if counts.get("done", 0) == len(cfgs) else 1


if __name__ == "__main__":
    sys.exit(main())
