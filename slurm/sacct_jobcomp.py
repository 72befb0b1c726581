#!/usr/bin/env python3
"""A stand-in for `sacct` on a Slurm without an accounting database (slurm/local-cluster.sh).

submitit polls ``sacct -o JobID,State,NodeList --parsable2 -j ID [-j ID ...]`` with array *parent* ids.
The real ``sacct --completion`` reads the jobcomp/filetxt log but knows nothing of arrays (it prints
the raw id of each task and errors on ArrayJobId). This script answers the same question from:

  1. the job completion log (``JobCompLoc`` of SLURM_CONF): finished jobs, array tasks as ``A_T``;
  2. ``squeue -r``: jobs pending or running now (these win: a requeued job is live again).

Only the fields submitit and a human need are known: JobID, JobIDRaw, JobName, State, NodeList,
ExitCode, Start, End, Partition. Standard library only; run with any python3.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

FIELDS = {"jobid": "JobID", "jobidraw": "JobId", "jobname": "Name", "state": "JobState", "nodelist": "NodeList",
          "exitcode": "ExitCode", "start": "StartTime", "end": "EndTime", "partition": "Partition"}
HEADER = {"jobid": "JobID", "jobidraw": "JobIDRaw", "jobname": "JobName", "state": "State", "nodelist": "NodeList",
          "exitcode": "ExitCode", "start": "Start", "end": "End", "partition": "Partition"}
SQUEUE = {"jobid": "%i", "jobidraw": "%A", "jobname": "%j", "state": "%T", "nodelist": "%N", "exitcode": "",
          "start": "%S", "end": "%e", "partition": "%P"}


def conf_value(key: str) -> str | None:
    path = os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf")
    try:
        for line in open(path):
            m = re.match(rf"\s*{key}\s*=\s*(\S+)", line, re.I)
            if m:
                return m.group(1)
    except OSError:
        pass
    return None


def parse_args(argv: list[str]):
    fields, ids, parsable2 = ["jobid", "jobname", "state", "exitcode"], set(), False
    it = iter(argv)
    for a in it:
        val = None
        if "=" in a and a.startswith("--"):
            a, val = a.split("=", 1)
        if a in ("-o", "--format"):
            fields = [f.split("%")[0].strip().lower() for f in (val or next(it)).split(",") if f.strip()]
        elif a in ("-j", "--jobs"):
            ids |= {x.strip().split("_")[0].split(".")[0] for x in (val or next(it)).split(",") if x.strip()}
        elif a in ("-P", "--parsable2", "-p", "--parsable"):
            parsable2 = True
    return fields, ids, parsable2


def finished() -> dict[str, dict]:
    rows: dict[str, dict] = {}
    loc = conf_value("JobCompLoc")
    if not loc or not os.path.exists(loc):
        return rows
    for line in open(loc):
        kv = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" not in kv:
            continue
        if kv.get("ArrayJobId") and kv.get("ArrayTaskId") not in (None, "", "4294967294"):
            jid, parent = f"{kv['ArrayJobId']}_{kv['ArrayTaskId']}", kv["ArrayJobId"]
        else:
            jid, parent = kv["JobId"], kv["JobId"]
        kv.update(JobID=jid, _parent=parent)
        rows[jid] = kv  # the log is chronological: the last record of a job wins
    return rows


def live() -> dict[str, dict]:
    keys = list(SQUEUE)
    fmt = "|".join(SQUEUE[k] or "0:0" for k in keys) + "|%F"
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", fmt], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    rows = {}
    for line in out.splitlines():
        vals = line.split("|")
        if len(vals) != len(keys) + 1:
            continue
        row = {FIELDS[k]: v for k, v in zip(keys, vals)}
        row["_parent"] = vals[-1]
        rows[row["JobID"]] = row
    return rows


def main(argv: list[str]) -> int:
    fields, ids, parsable2 = parse_args(argv)
    rows = {**finished(), **live()}
    sep = "|"
    print(sep.join(HEADER.get(f, f) for f in fields) + ("" if parsable2 else sep))
    for jid, row in rows.items():
        if ids and row["_parent"] not in ids and jid.split("_")[0] not in ids:
            continue
        print(sep.join(row.get(FIELDS.get(f, f), "") for f in fields) + ("" if parsable2 else sep))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
