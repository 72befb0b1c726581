"""The reference data (every printed number of the three papers' tables) is well formed and pins known values."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from benchmark.reference import HERE, load_reference

PAPERS = ("deeprnn", "prernn", "scs")
COLUMNS = ["paper", "table", "row", "column", "value", "unit", "reference_only", "source", "note"]
UNITS = {"%", "M", "dB", ""}
# The tables of each paper that print numbers (CATALOGUE.md; prernn Table 1 is a summary without numbers).
TABLES = {
    "deeprnn": [f"table{i}" for i in range(1, 9)],
    "prernn": [f"table{i}" for i in range(2, 8)],
    "scs": [f"table{i}" for i in range(1, 9)],
}
CATALOGUE = Path(__file__).resolve().parents[2].parent / "shared" / "CATALOGUE.md"


def _raw(paper: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"{paper}.csv", dtype=str, keep_default_na=False)


def cell(paper: str, table: str, row: str, column: str) -> pd.Series:
    df = load_reference(paper, table)
    hit = df[(df["row"] == row) & (df["column"] == column)]
    assert len(hit) == 1, f"{paper} {table} {row!r} / {column!r}: {len(hit)} rows"
    return hit.iloc[0]


def value(paper: str, table: str, row: str, column: str) -> float:
    return float(cell(paper, table, row, column)["value"])


@pytest.mark.parametrize("paper", PAPERS)
def test_csv_is_well_formed(paper):
    raw = _raw(paper)
    assert list(raw.columns) == COLUMNS
    assert (raw["paper"] == paper).all()
    assert raw["table"].str.fullmatch(r"table\d+").all()
    assert (raw["row"] != "").all() and (raw["column"] != "").all()
    assert not raw.duplicated(["table", "row", "column"]).any(), \
        raw[raw.duplicated(["table", "row", "column"], keep=False)]
    assert pd.to_numeric(raw["value"], errors="coerce").notna().all(), raw[pd.to_numeric(raw["value"], errors="coerce").isna()]
    assert raw["reference_only"].isin(["true", "false"]).all()
    assert set(raw["unit"]) <= UNITS
    for r in raw.itertuples():  # the source points at the paper and the table the row belongs to
        assert r.source.startswith(f"{paper} Table {r.table[5:]}, row "), r.source
    df = load_reference(paper)
    assert list(df.columns) == COLUMNS and len(df) == len(raw)
    assert df["reference_only"].dtype == bool
    assert pd.to_numeric(df["value"]).notna().all()


@pytest.mark.parametrize("paper", PAPERS)
def test_every_table_with_numbers_has_rows(paper):
    present = set(load_reference(paper)["table"])
    missing = [t for t in TABLES[paper] if t not in present]
    assert not missing
    for t in TABLES[paper]:
        assert len(load_reference(paper, t)) > 0


def test_table_list_matches_catalogue():
    if not CATALOGUE.exists():
        pytest.skip("CATALOGUE.md not next to this checkout")
    text = CATALOGUE.read_text()
    sections = re.split(r"^## ", text, flags=re.M)
    for paper in PAPERS:
        sec = next(s for s in sections if s.startswith(paper))
        listed = set(re.findall(r"`(table\d+)`", sec))
        # prernn Table 1 (a summary of the experiments) prints no numbers and is not in the catalogue either
        assert listed <= set(TABLES[paper]), (paper, listed - set(TABLES[paper]))
        assert listed == set(TABLES[paper]), (paper, set(TABLES[paper]) - listed)


def test_existing_table6_rows_kept():
    t6 = load_reference("deeprnn", "table6")
    assert len(t6) == 21
    assert value("deeprnn", "table6", "Polyg-CBM 15", "IoU") == 70.4
    assert value("deeprnn", "table6", "Polyg-LSTM 15", "# params of RNN") == 15.71
    assert cell("deeprnn", "table6", "Polygon-RNN++ [1]", "IoU")["reference_only"]


def test_deeprnn_table1_cells_behind_the_prose():
    # Relative gains of 15-layer CBM over 1-layer LSTM stated in section 4.1: 12.2%, 88.6%, 11.7%, 70.7%.
    for col, gain in (("UCF-101 / Recg", 12.2), ("UCF-101 / Atcp", 88.6), ("HMDB-51 / Recg", 11.7),
                      ("HMDB-51 / Atcp", 70.7)):
        cbm, lstm = value("deeprnn", "table1", "15-layer CBM", col), value("deeprnn", "table1", "1-layer LSTM", col)
        assert round(100 * (cbm / lstm - 1), 1) == gain, col
    assert value("deeprnn", "table1", "15-layer CBM", "UCF-101 / Atcp") == 57.7
    assert value("deeprnn", "table1", "1-layer LSTM", "HMDB-51 / Recg") == 36.0
    assert "Header mangled" in cell("deeprnn", "table1", "1-layer CBM", "HMDB-51 / Atcp")["note"]


def test_deeprnn_other_tables():
    assert value("deeprnn", "table2", "15-layer CBM with InceptionV1", "Recognition Acc") == 85.3
    assert round(100 * (85.3 / value("deeprnn", "table2", "1-layer LSTM with InceptionV1 [4]", "Recognition Acc") - 1), 1) == 5.3
    deep = cell("deeprnn", "table3", "Deep CBM without BB", "HMDB-51")
    assert float(deep["value"]) == 61.7 and not deep["reference_only"] and "19.4%" in deep["note"]
    assert cell("deeprnn", "table3", "Two-Stream [41]", "UCF-101")["reference_only"]
    assert value("deeprnn", "table4", "Ours PSNR", "T1") == 34.3
    assert value("deeprnn", "table4", "MCnet [45] SSIM", "Avg") == 0.804
    assert cell("deeprnn", "table4", "ConvLSTM [50] PSNR", "Avg")["unit"] == "dB"
    t4 = load_reference("deeprnn", "table4")
    assert len(t4) == 6 * 21 and set(t4["row"].str.split().str[0]) == {"ConvLSTM", "MCnet", "Ours"}
    for row in set(t4["row"]):  # Avg is the mean of T1..T20 to the printed digits
        steps = t4[(t4["row"] == row) & (t4["column"] != "Avg")]["value"]
        avg = value("deeprnn", "table4", row, "Avg")
        assert abs(steps.mean() - avg) < (0.051 if "PSNR" in row else 0.00051), row
    assert value("deeprnn", "table5", "15-layer model", "256") == 2
    assert value("deeprnn", "table5", "10-layer model", "128") == 5
    assert value("deeprnn", "table7", "Addition", "Anticipation") == 56.7
    assert value("deeprnn", "table8", "TD rate 0.5", "Acc") == 79.8
    assert value("deeprnn", "table8", "TD rate 1.0", "Acc") == 75.3


def test_deeprnn_table5_layer_counts_sum_to_depth():
    t5 = load_reference("deeprnn", "table5")
    for depth in (2, 5, 10, 15):
        assert t5[t5["row"] == f"{depth}-layer model"]["value"].sum() == depth


def test_prernn_table3_ratios_as_printed():
    # The paper prints the ratios to two decimals ("0.18×"); the exact derivation (0.179, ...) is in the note.
    assert value("prernn", "table3", "LSTM", "VGG16 / fc6") == 0.18
    assert "0.179" in cell("prernn", "table3", "LSTM", "VGG16 / fc6")["note"]
    assert value("prernn", "table3", "GRU", "VGG16 / fc6") == 0.20
    assert value("prernn", "table3", "LSTM", "C3D / fc6/7") == 0.47
    assert value("prernn", "table3", "LSTM", "ResNet50") == 0.84
    assert value("prernn", "table3", "GRU", "ResNet50") == 0.86
    assert len(load_reference("prernn", "table3")) == 14


def test_prernn_other_tables():
    assert value("prernn", "table2", "GRU", "PreRNN / fc6") == 0.772
    assert value("prernn", "table2", "VRNN", "PreRNN / fc6/7") == 0.763
    t2 = load_reference("prernn", "table2")
    assert not ((t2["row"] == "VRNN") & t2["column"].str.startswith("PreRNN-SIH")).any()  # printed '-'
    assert value("prernn", "table4", "LSTM", "PreRNN-SIH / fc6/7") == 84.2
    assert value("prernn", "table5", "GRU", "PreRNN / Comb") == 93.7
    assert value("prernn", "table6", "Ours Color + Depth", "Accuracy") == 85.0
    assert value("prernn", "table6", "Ours Color + Depth", "Accuracy") - \
        value("prernn", "table6", "Baseline (w/o RNN) Color + Depth", "Accuracy") == pytest.approx(4.0)
    assert not cell("prernn", "table7", "Ours", "Accuracy")["reference_only"]
    assert cell("prernn", "table7", "Inflated 3D ConvNets [4]", "Accuracy")["reference_only"]
    assert value("prernn", "table7", "Ours", "Accuracy") == 94.3


def test_scs_values():
    assert value("scs", "table4", "Polyg-GRU 5", "# params of RNN") == 2.20
    assert value("scs", "table4", "Polyg-GRU 15", "# params of RNN") == 11.78
    assert value("scs", "table4", "Polyg-SCS 15", "IoU") == 71.0
    assert "70.4" in cell("scs", "table4", "Polyg-SCS 15", "IoU")["note"]
    assert value("scs", "table4", "Polyg-LSTM 15", "IoU") == 46.7
    assert cell("scs", "table4", "Polygon-RNN++ [1]", "IoU")["reference_only"]
    assert value("scs", "table3", "Stand-alone SCS w/o ASTSGD", "Kinetics") == 60.8
    assert value("scs", "table3", "Stand-alone SCS w/o ASTSGD", "HMDB-51") == 63.2
    assert value("scs", "table3", "Stand-alone SCS w/o LTSC", "Kinetics") == 59.7
    assert value("scs", "table3", "Stand-alone SCS w/o LTSC", "HMDB-51") == 62.9
    assert "UCF-101" in cell("scs", "table3", "Whole Stand-alone SCS", "HMDB-51")["note"]
    # Table 3's whole model is Table 2's stand-alone SCS (HMDB-51, not UCF-101)
    assert value("scs", "table3", "Whole Stand-alone SCS", "HMDB-51") == value("scs", "table2", "Stand-alone SCS", "HMDB-51")
    assert value("scs", "table2", "BB (Inception) supported SCS", "UCF-101") == 87.9
    assert value("scs", "table1", "[3 × 3, 512; 3 × 3, 512] × 2", "output size") == 7
    assert value("scs", "table5", "SCS model Comma p=0.0", "length=3 / MSE") == 0.05
    assert value("scs", "table5", "CNN LiVi", "length=1 / λ=6") == 24.5
    assert value("scs", "table7", "SCS p=0.5", "MSE") == 0.01022
    assert value("scs", "table7", "ConvLSTM [50]", "COR") == 0.6851
    assert value("scs", "table8", "Batch size", "Action Recognition / Stand-alone") == 40
    assert value("scs", "table8", "Learning rate", "Outline Annotation / SCS") == 2e-4
    assert value("scs", "table8", "LTSC setting (clips)", "Outline Annotation / SCS") == 4
    assert "6 short clips" in cell("scs", "table8", "LTSC setting (clips)", "Outline Annotation / SCS")["note"]
    assert "STSGD" in cell("scs", "table8", "Batch size", "Auto Driving / SCS")["note"]


def test_scs_table6_gap_columns_are_differences():
    t6 = load_reference("scs", "table6")
    for road in ("Crossroads", "T-junction", "Curve road", "Straight road"):
        for lam in ("λ=6", "λ=3"):
            gap = value("scs", "table6", road, f"T^2 - T^1 / {lam}")
            assert gap == pytest.approx(value("scs", "table6", road, f"T^2 / {lam}")
                                        - value("scs", "table6", road, f"T^1 / {lam}"), abs=1e-9)
    assert len(t6) == 24


def test_shared_cells_agree_across_papers():
    # scs Table 4 reprints deeprnn Table 6's rows (the three cells deeprnn's text lost included)
    for row in ("Polyg-LSTM 2", "Polyg-LSTM 5", "Polyg-LSTM 10", "Polyg-LSTM 15"):
        for col in ("# params of RNN", "IoU"):
            assert value("deeprnn", "table6", row, col) == value("scs", "table4", row, col)
    assert value("deeprnn", "table6", "Polygon-RNN++ [1]", "IoU") == value("scs", "table4", "Polygon-RNN++ [1]", "IoU")
    assert value("deeprnn", "table6", "Original Polygon-RNN [5]", "IoU") == \
        value("scs", "table4", "Original Polygon-RNN [4]", "IoU")
    for d in (5, 15):
        assert value("deeprnn", "table6", f"Polyg-CBM {d}", "IoU") == value("scs", "table4", f"Polyg-CBM [30] {d}", "IoU")
    # deeprnn Table 3's deep CBM is scs Table 2's stand-alone CBM
    for col in ("Kinetics", "UCF-101", "HMDB-51"):
        assert value("deeprnn", "table3", "Deep CBM without BB", col) == value("scs", "table2", "Stand-alone CBM [30]", col)
