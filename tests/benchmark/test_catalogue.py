"""The catalogue holds every experiment of CATALOGUE.md, `run all` runs each at smoke, and every printed
number of every table has a row in the generated table."""
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from benchmark.catalogue import list_ids
from benchmark.reference import load_reference
from benchmark.run import main, selected_ids

# the ids of ../shared/CATALOGUE.md (checked against the file itself where a checkout has it)
CATALOGUE_IDS = [
    "deeprnn.fig2", "deeprnn.fig3", "deeprnn.fig5", "deeprnn.fig7", "deeprnn.table1", "deeprnn.table2",
    "deeprnn.table3", "deeprnn.table4", "deeprnn.table5", "deeprnn.table6", "deeprnn.table7", "deeprnn.table8",
    "prernn.table2", "prernn.fig2", "prernn.fig3", "prernn.table3", "prernn.table4", "prernn.fig4",
    "prernn.table5", "prernn.table6", "prernn.table7",
    "scs.fig2", "scs.fig3", "scs.fig4", "scs.fig5", "scs.table1", "scs.table2", "scs.table3", "scs.table4",
    "scs.table5", "scs.table6", "scs.table7", "scs.table8", "scs.ltsc",
]
CATALOGUE_MD = Path(__file__).resolve().parents[3] / "shared" / "CATALOGUE.md"
# the experiments past the papers (issue 19): in the catalogue, not in CATALOGUE.md (which lists the papers')
BEYOND_IDS = ["beyond.videopred"]


def parse_catalogue(text: str) -> list[str]:
    ids, paper = [], None
    for line in text.splitlines():
        m = re.match(r"## (\w+) \(", line)
        if m:
            paper = m.group(1)
        elif paper and line.startswith("| `"):
            ids += [f"{paper}.{i}" for i in re.findall(r"`(\w+)`", line.split("|")[1])]
    return ids


def test_catalogue_md_lists_the_ids_this_test_knows():
    if not CATALOGUE_MD.exists():
        pytest.skip(f"{CATALOGUE_MD} is not part of this checkout")
    assert sorted(parse_catalogue(CATALOGUE_MD.read_text())) == sorted(CATALOGUE_IDS)


def test_list_shows_every_catalogue_id(capsys):
    assert main(["list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert set(CATALOGUE_IDS) <= listed
    assert {"all", "deeprnn.all", "prernn.all", "scs.all"} <= listed
    assert set(list_ids()) == set(CATALOGUE_IDS + BEYOND_IDS)


@pytest.mark.parametrize("exp_id", CATALOGUE_IDS + BEYOND_IDS)
def test_where_leads_to_the_papers_file_and_the_line_naming_the_id(exp_id, capsys, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    assert main(["where", exp_id]) == 0
    first, *rest = capsys.readouterr().out.splitlines()
    path, line = first.split()[1].rsplit(":", 1)
    assert path == f"benchmark/catalogue/{exp_id.split('.')[0]}.py"
    assert f'"{exp_id}"' in (root / path).read_text().splitlines()[int(line) - 1]
    for other in rest:  # the code that builds it: files that exist, lines inside them
        p, n = re.search(r"(\S+):(\d+)", other).groups()
        assert 1 <= int(n) <= len((root / p).read_text().splitlines())


def test_where_names_an_unknown_id_in_one_line(capsys):
    assert main(["where", "tabel6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean deeprnn.table6" in err


def test_paper_all_selects_that_paper_and_unknown_paper_lists_valid(capsys):
    assert selected_ids("scs.all") == sorted(i for i in CATALOGUE_IDS if i.startswith("scs."))
    assert main(["nope.all", "--scale", "smoke"]) == 2
    assert "deeprnn.all" in capsys.readouterr().err


def reference_tables() -> list[tuple[str, str]]:
    return [(p, t) for p in ("deeprnn", "prernn", "scs")
            for t in pd.read_csv(Path(__file__).resolve().parents[2] / "benchmark" / "reference" / f"{p}.csv")["table"].unique()]


@pytest.mark.e2e
def test_all_runs_every_experiment_at_smoke_with_a_row_for_every_printed_number(smoke_sweep):
    out = smoke_sweep.out  # python -m benchmark.run all --scale smoke, once per pytest run
    assert smoke_sweep.code == 0
    manifest = json.loads((out / "tables" / "manifest.json").read_text())
    assert set(manifest) == set(CATALOGUE_IDS + BEYOND_IDS)
    for i, m in manifest.items():
        assert m["files"], i
        assert m["runs_done"] == m["runs"], i
        for f in m["files"]:
            assert (out / f).stat().st_size > 0, (i, f)
    for paper, table in reference_tables():
        ref = load_reference(paper, table)
        got = pd.read_csv(out / "tables" / paper / f"{table}.csv", dtype={"row": str, "column": str})
        missing = set(zip(ref["row"], ref["column"])) - set(zip(got["row"], got["column"]))
        assert not missing, (paper, table, sorted(missing)[:5])
        # the paper's value sits beside ours, unchanged
        merged = ref.merge(got, on=["row", "column"], suffixes=("_ref", ""))
        assert (merged["value"] == merged["paper"]).all(), (paper, table)
