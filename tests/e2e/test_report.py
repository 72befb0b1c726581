"""The report: built from what `benchmark.run` wrote, executed with nbconvert, rendered in headless Chromium
(a screenshot, and the page's own record of its tables and decoded images)."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from benchmark.report import main as report_main
from benchmark.report_view import table_id
from benchmark.run import main as run_main

# exact experiments (no training) and one toy that trains at smoke and draws its feature maps
IDS = ("deeprnn.table5", "deeprnn.fig2", "scs.table1", "prernn.table3", "deeprnn.fig3")


def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian package `chromium` not installed (bash scripts/setup.sh test installs it as root)")
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    out, runs = tmp / "out", tmp / "runs"
    for i in IDS:
        assert run_main([i, "--scale", "smoke", "--cluster", "debug", "--runs-dir", str(runs),
                         "--out-dir", str(out)]) == 0
    assert report_main(["--out-dir", str(out), "--report-dir", str(tmp / "report")]) == 0
    return out, tmp / "report" / "index.html"


def test_report_needs_a_manifest(tmp_path, capsys):
    assert report_main(["--out-dir", str(tmp_path), "--report-dir", str(tmp_path / "r")]) == 2
    assert "benchmark.run all --scale cpu" in capsys.readouterr().err


def test_report_renders_every_table_and_image_in_chromium(report, tmp_path):
    out, index = report
    manifest = json.loads((out / "tables" / "manifest.json").read_text())
    assert set(IDS) <= set(manifest)
    files = [f for i in IDS for f in manifest[i]["files"]]
    pngs = [f for f in files if f.endswith(".png")]
    csvs = [f for f in files if f.endswith(".csv")]
    assert len(pngs) >= 2 and len(csvs) >= 5

    dom = subprocess.run(chromium() + ["--virtual-time-budget=5000", "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    check = re.search(r'<div id="report-check"[^>]*>', dom)
    assert check, "the page's load handler did not run"
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', check.group(0)))
    assert int(attrs["images"]) == len(pngs) and int(attrs["images-loaded"]) == len(pngs)
    tables = set(attrs["tables"].split())
    assert {"t-overview", "t-claims"} <= tables  # the claims lead the page
    assert re.search(r"Claims at smoke scale: \d+ tested", dom) and "reproduced" in dom
    for f in csvs:  # every table file is on the page: claims, paper layout + every cell, or the data itself
        if f.endswith(".claims.csv"):
            assert table_id(f, "claims") in tables, f
            continue
        assert ({table_id(f, "wide"), table_id(f, "cells")} <= tables) or table_id(f, "data") in tables, f
    # paper beside reproduced, with the delta of every cell
    assert "15-layer model" in dom and "delta" in dom

    shot = tmp_path / "report.png"
    subprocess.run(chromium() + ["--window-size=1280,2400", f"--screenshot={shot}", index.as_uri()],
                   capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("L"))
    assert img.shape == (2400, 1280)
    assert img.std() > 10  # not a blank page
