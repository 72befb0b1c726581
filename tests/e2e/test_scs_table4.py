"""scs Table 4 end to end at the smoke scale: exact parameter rows, a row for every reference cell."""
import pandas as pd

from benchmark.reference import load_reference


def test_scs_table4_smoke(smoke_sweep, tmp_path):
    assert smoke_sweep.run("scs.table4", tmp_path / "out") == 0
    df = pd.read_csv(tmp_path / "out" / "tables" / "scs" / "table4.csv")
    params = df[df["column"] == "# params of RNN"].set_index("row")["reproduced"].to_dict()
    assert params["Polyg-GRU 5"] == 2.20 and params["Polyg-GRU 15"] == 11.78
    assert [params[f"Polyg-SCS {d}"] for d in (2, 5, 10, 15)] == [0.20, 1.13, 2.68, 5.85]
    ref = load_reference("scs", "table4")
    assert set(zip(ref["row"], ref["column"])) <= set(zip(df["row"], df["column"]))  # every printed cell has a row
    extra = df[df["paper"].isna() & ~df["reference_only"]]
    assert "Polyg-GRU 2" in set(extra["row"])  # reproduced although the paper prints no number for it
    iou = df[(df["column"] == "IoU") & ~df["reference_only"]]
    assert iou["row"].str.startswith("trivial baseline: ").sum() == 1  # the floor, beside the 16 models
    iou = iou[~iou["row"].str.startswith("trivial baseline: ")]
    assert len(iou) == 16 and iou["reproduced"].notna().all()
