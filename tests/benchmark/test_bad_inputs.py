"""Every bad command-line value or profile is one line on stderr naming it and the fix, exit status 2, no
traceback, and nothing written (runs folder, out folder) or launched."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import collect, run, status
from benchmark.data.__main__ import main as data_main

ROOT = Path(__file__).resolve().parents[2]
EXP = "deeprnn.fig3"  # one smoke run, on built-in data


@pytest.fixture
def box(tmp_path):
    """A temp folder with a committed-looking table that no bad input may touch."""
    table = tmp_path / "out" / "tables" / "deeprnn" / "fig3.csv"
    table.parent.mkdir(parents=True)
    table.write_text("row,column\nkept,as it was\n")
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "profdir").mkdir()
    for name, text in {"bad.yaml": "threads: [1\n", "t0.yaml": "threads: 0\n", "tabc.yaml": "threads: abc\n",
                       "list.yaml": "- threads\n", "mem.yaml": "mem_gb: -3\n", "typo.yaml": "thread: 2\n"}.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _grid(box, *extra, runs="runs", out="out"):
    return [EXP, "--scale", "smoke", "--runs-dir", str(box / runs), *extra] + \
        (["--out-dir", str(box / out)] if out else [])


def _bad_inputs(box):
    """(command main, argv, words the one line must hold)."""
    p = lambda name: str(box / name)  # noqa: E731
    return [
        (run.main, _grid(box, "--seeds", "0"), ["--seeds 0", "at least 1"]),
        (run.main, _grid(box, "--seeds", "-1"), ["--seeds -1"]),
        (run.main, ["all"] + _grid(box, "--seeds", "0")[1:], ["--seeds 0"]),
        (run.main, ["deeprnn.all"] + _grid(box, "--seeds", "-1")[1:], ["--seeds -1"]),
        (status.main, _grid(box, "--seeds", "0", out=None), ["--seeds 0"]),
        (collect.main, _grid(box, "--seeds", "-1"), ["--seeds -1"]),
        (collect.main, ["all"] + _grid(box, "--seeds", "0")[1:], ["--seeds 0"]),
        (run.main, _grid(box, "--max-parallel", "-1"), ["--max-parallel -1"]),
        (run.main, _grid(box, "--max-parallel", "0"), ["--max-parallel 0"]),
        (run.main, _grid(box, runs="afile/runs"), ["--runs-dir", "is a file"]),
        (run.main, _grid(box, runs="afile"), ["--runs-dir", "is a file"]),
        (run.main, _grid(box, out="afile/out"), ["--out-dir", "is a file"]),
        (collect.main, _grid(box, out="afile/out"), ["--out-dir", "is a file"]),
        (status.main, _grid(box, runs="afile/runs", out=None), ["--runs-dir", "is a file"]),
        (run.main, [EXP, "--scale", "smoke", "--runs-dir", "/proc/benchmark-runs", "--out-dir", p("out")],
         ["--runs-dir /proc/benchmark-runs", "cannot write"]),
        (run.main, _grid(box, "--profile", p("bad.yaml")), ["bad.yaml", "not valid YAML", "line"]),
        (run.main, _grid(box, "--profile", p("profdir")), ["profdir", "not a file"]),
        (run.main, _grid(box, "--profile", p("t0.yaml")), ["threads: 0", ">= 1"]),
        (run.main, _grid(box, "--profile", p("tabc.yaml")), ["threads: 'abc'"]),
        (run.main, _grid(box, "--profile", p("list.yaml")), ["list.yaml", "mapping"]),
        (run.main, _grid(box, "--profile", p("mem.yaml")), ["mem_gb: -3"]),
        (run.main, _grid(box, "--profile", p("typo.yaml")), ["unknown profile keys", "thread"]),
        (run.main, _grid(box, "--profile", "no-such-profile"), ["no-such-profile", "known"]),
        (run.main, _grid(box, "--data-root", p("profdir")), ["--data-root", "built-in data", "drop --data-root"]),
        (status.main, _grid(box, "--data-root", p("profdir"), out=None), ["--data-root", "drop --data-root"]),
        (collect.main, _grid(box, "--data-root", p("profdir")), ["--data-root", "drop --data-root"]),
        (run.main, _grid(box, "--seeds", "abc"), ["--seeds", "invalid int"]),
        (run.main, _grid(box, "--scale", "huge"), ["--scale", "invalid choice"]),
        (run.main, _grid(box, "--cluster", "nowhere"), ["--cluster", "invalid choice"]),
        (run.main, ["tabel6", "--runs-dir", p("runs"), "--out-dir", p("out")], ["tabel6", "deeprnn.table6"]),
        (status.main, ["nope.all", "--runs-dir", p("runs")], ["nope.all"]),
        (data_main, ["check", "ucf101", "--root", p("no-such-folder")], ["no-such-folder", "pass --root"]),
        (data_main, ["check", "ucf101", "--root", p("afile")], ["afile", "no folder"]),
        (data_main, ["check", "ucf-101", "--root", p("profdir")], ["ucf-101", "ucf101"]),
    ]


def _one_clean_line(capsys, words):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    for w in words:
        assert w in err[0], (w, err[0])


def _untouched(box):
    assert not (box / "runs").exists()
    assert (box / "out" / "tables" / "deeprnn" / "fig3.csv").read_text() == "row,column\nkept,as it was\n"
    assert sorted(p.name for p in (box / "out").rglob("*")) == ["deeprnn", "fig3.csv", "tables"]


def test_every_bad_input_is_one_clean_line_exit_2_and_writes_nothing(box, capsys):
    cases = _bad_inputs(box)
    for main, argv, words in cases:
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors
            code = e.code
        assert code == 2, argv
        _one_clean_line(capsys, words)
        _untouched(box)
    assert len(cases) >= 30


def _fake_slurm(folder: Path, ping: str, code: int) -> str:
    folder.mkdir()
    for tool in ("sbatch", "sinfo", "squeue"):
        (folder / tool).write_text("#!/bin/sh\necho 'local*  up'\n")
    (folder / "scontrol").write_text(f"#!/bin/sh\necho '{ping}'\nexit {code}\n")
    for f in folder.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize("fake", [None, ("Slurmctld(primary) at vm is DOWN", 1)])
def test_slurm_that_does_not_answer_is_refused_before_anything_is_made(box, capsys, monkeypatch, fake):
    path = os.defpath if fake is None else _fake_slurm(box / "bin", *fake)
    monkeypatch.setenv("PATH", path)
    assert run.main(_grid(box, "--cluster", "slurm")) == 2
    _one_clean_line(capsys, ["--cluster slurm", "bash slurm/local-cluster.sh up", "SLURM_CONF"])
    _untouched(box)


def test_slurm_that_answers_passes_the_check(box, monkeypatch):
    from benchmark.launch import slurm_problem

    monkeypatch.setenv("PATH", _fake_slurm(box / "bin", "Slurmctld(primary) at vm is UP", 0))
    assert slurm_problem() is None


@pytest.mark.e2e
def test_the_command_line_itself_prints_no_traceback(box):
    """Through the real interpreter: the shipped profile-less bad inputs of the issue."""
    argvs = [_grid(box, "--seeds", "0"), _grid(box, "--max-parallel", "-1"),
             _grid(box, "--profile", str(box / "t0.yaml")), _grid(box, runs="afile/runs")]
    for argv in argvs:
        out = subprocess.run([sys.executable, "-m", "benchmark.run", *argv], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    _untouched(box)


def test_shipped_profiles_still_load():
    from benchmark.launch import load_profile

    assert load_profile("local-cluster")["threads"] == 1
    assert load_profile("example-gpu")["gpus_per_node"] == 1
