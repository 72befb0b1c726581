"""The README's results section is generated from the committed claims CSVs: the block between the
markers equals what benchmark.claims.summary builds from tables/*/*.claims.csv, and its summary line
equals their verdict counts."""
import re
from pathlib import Path

import pandas as pd

from benchmark.claims.evaluate import CLAIM_COLUMNS, load_claims
from benchmark.claims.summary import README_BEGIN, README_END, readme_block, scales_of, summary_line, write_summary

ROOT = Path(__file__).resolve().parents[2]


def _block(text: str) -> str:
    return README_BEGIN + text.split(README_BEGIN, 1)[1].split(README_END, 1)[0] + README_END


def test_readme_block_equals_the_committed_claims():
    df = load_claims(ROOT)
    readme = (ROOT / "README.md").read_text()
    assert README_BEGIN in readme and README_END in readme
    expected = readme_block(df, scales_of(ROOT, df["experiment"].unique()), ROOT)
    assert _block(readme) == expected, "README block is stale: run python -m benchmark.claims summary"


def test_summary_line_counts_the_csv_verdicts():
    df = load_claims(ROOT)
    line = re.search(r"Claims at \S+ scale: (\d+) tested, (\d+) reproduced, (\d+) contradicted, (\d+) inconclusive "
                     r"\(plus (\d+) not run\)", (ROOT / "README.md").read_text())
    assert line, "the README has no summary line"
    n, r, c, i, u = map(int, line.groups())
    v = df["verdict"].value_counts()
    assert (r, c, i, u) == (v.get("reproduced", 0), v.get("contradicted", 0), v.get("inconclusive", 0),
                            v.get("not run", 0))
    assert n == r + c + i and n + u == len(df)


def test_write_summary_rewrites_only_the_block(tmp_path):
    (tmp_path / "tables" / "deeprnn").mkdir(parents=True)
    rows = [dict(zip(CLAIM_COLUMNS, (f"deeprnn.t6.c{k}", "deeprnn.table6", "CBM beats LSTM", "deeprnn Table 6",
                                     "test_iou", 5, 75.0, 70.0, d, d - 1, d + 1, v, "", "")))
            for k, (d, v) in enumerate(((5.0, "reproduced"), (-5.0, "contradicted"), (0.0, "inconclusive")))]
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "deeprnn" / "table6.claims.csv", index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nhand-written\n\n{README_BEGIN}\nold\n{README_END}\n\n## after\n")
    write_summary(tmp_path, readme=readme)
    text = readme.read_text()
    assert text.startswith("# title\n\nhand-written\n\n") and text.endswith("\n\n## after\n")
    assert "Claims at cpu scale: 3 tested, 1 reproduced, 1 contradicted, 1 inconclusive (plus 0 not run)" in text
    assert "old" not in _block(text)
    assert summary_line(load_claims(tmp_path), "cpu") in (tmp_path / "tables" / "claims.md").read_text()


def test_headline_lines_quote_each_named_claim_from_the_csv(tmp_path, monkeypatch):
    from benchmark.claims import summary

    (tmp_path / "tables" / "deeprnn").mkdir(parents=True)
    rows = [dict(zip(CLAIM_COLUMNS, ("deeprnn.t6.a", "deeprnn.table6", "A beats B", "deeprnn Table 6", "test_loss",
                                     5, 2.0, 2.5, 0.5, 0.25, 0.75, "reproduced", "", ""))),
            dict(zip(CLAIM_COLUMNS, ("deeprnn.t6.b", "deeprnn.table6", "C beats D", "deeprnn Table 6", "test_iou",
                                     0, float("nan"), float("nan"), float("nan"), float("nan"), float("nan"),
                                     "not run", "", "")))]
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "deeprnn" / "table6.claims.csv", index=False)
    monkeypatch.setattr(summary, "headlines", lambda: {"deeprnn.table6": ("deeprnn.t6.b", "deeprnn.t6.a", "x.y")})
    lines = summary.headline_lines(load_claims(tmp_path))
    assert lines == ["Headline claims of deeprnn.table6: `deeprnn.t6.b` (C beats D): not run; `deeprnn.t6.a` "
                     "(A beats B): reproduced, diff 0.5 [0.25, 0.75] over 5 seeds.", ""]


def test_every_headline_names_a_claim_of_its_experiment():
    from benchmark.claims import all_claims
    from benchmark.claims.summary import headlines

    known = {c.id: c.experiment for c in all_claims()}
    assert headlines()
    for exp, ids in headlines().items():
        assert all(known.get(i) == exp for i in ids), (exp, ids)


def test_readme_sweep_times_are_generated_from_sweeps_csv():
    from benchmark.perf_sweeps import SWEEPS_BEGIN, SWEEPS_END, sweeps_block

    readme = (ROOT / "README.md").read_text()
    block = SWEEPS_BEGIN + readme.split(SWEEPS_BEGIN, 1)[1].split(SWEEPS_END, 1)[0] + SWEEPS_END
    assert block == sweeps_block(ROOT), "README sweeps block is stale: run python -m benchmark.claims summary"
    df = pd.read_csv(ROOT / "tables" / "perf" / "sweeps.csv")
    assert len(block.splitlines()) == len(df) + 2


def test_readme_beyond_block_equals_the_committed_tables_and_claims():
    from benchmark.claims.summary import BEYOND_BEGIN, BEYOND_END, beyond_block

    readme = (ROOT / "README.md").read_text()
    assert BEYOND_BEGIN in readme and BEYOND_END in readme
    block = BEYOND_BEGIN + readme.split(BEYOND_BEGIN, 1)[1].split(BEYOND_END, 1)[0] + BEYOND_END
    assert block == beyond_block(load_claims(ROOT), ROOT), "stale: run python -m benchmark.claims summary"


def test_write_summary_fills_the_beyond_block_from_its_table_and_claims(tmp_path):
    from benchmark.claims.summary import BEYOND_BEGIN, BEYOND_END

    (tmp_path / "tables" / "beyond").mkdir(parents=True)
    pd.DataFrame([{"row": r, "column": c, "reproduced": v, "n_seeds": n, "scale": "cpu"}
                  for r, n, cells in (("ConvLSTM", 5, (136.4, 205312)), ("trivial baseline: copy", 0, (229.1, 0)))
                  for c, v in zip(("test MSE", "parameters"), cells)]).to_csv(
        tmp_path / "tables" / "beyond" / "videopred.csv", index=False)
    pd.DataFrame([dict(zip(CLAIM_COLUMNS, ("beyond.videopred.cbm_lt_convlstm", "beyond.videopred", "Does CBM beat?",
                                           "beyond issue 19", "test_mse", 5, 120.0, 136.4, 16.4, 10.0, 20.0,
                                           "reproduced", "above", "")))]).to_csv(
        tmp_path / "tables" / "beyond" / "videopred.claims.csv", index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\n{BEYOND_BEGIN}\nstale text\n{BEYOND_END}\n")
    write_summary(tmp_path, readme=readme)
    text = readme.read_text()
    assert "stale text" not in text and "`beyond.videopred` at cpu scale" in text
    assert "| ConvLSTM               |       5 |      136.4 |       205312 |" in text
    assert "1 questions tested: 1 answered yes, 0 no (the reverse holds), 0 inconclusive; 0 not run." in text
    assert "16.4 [10, 20]" in text
