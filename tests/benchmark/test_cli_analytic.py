"""Analytic catalogue entries: no runs, exact counts written as CSV beside the figure."""
import pandas as pd

from benchmark.analytic.backprop_paths import cbm_closed_form
from benchmark.run import main


def test_fig2_writes_exact_counts_and_figure(tmp_path):
    assert main(["fig2", "--out-dir", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "tables" / "deeprnn" / "fig2_paths.csv")
    assert (tmp_path / "figures" / "deeprnn" / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    assert set(df["td_rate"]) == {0.0, 0.5, 1.0}
    # TD 1.0: only the pure representation path (length = depth) survives
    one = df[df["td_rate"] == 1.0]
    assert one[one["expected_paths"] > 0]["path_length"].tolist() == [one["depth"].iloc[0]]
    # TD 0: the CSV equals the closed form at every length
    zero = df[df["td_rate"] == 0.0]
    depth = int(zero["depth"].iloc[0])
    for r in zero.itertuples():
        assert r.expected_paths == float(cbm_closed_form(depth, r.path_length - depth, 0.0))


def test_scs_fig3_writes_counts_for_every_p(tmp_path):
    assert main(["scs.fig3", "--out-dir", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "tables" / "scs" / "fig3_chains.csv")
    assert set(df["p"]) == {0.0, 0.3, 0.5} and (tmp_path / "figures" / "scs" / "fig3.png").exists()
    # a larger p never increases the expected number of chains of any length
    piv = df.pivot_table(index=["depth", "seq_len", "path_length"], columns="p", values="expected_paths")
    assert (piv[0.0] >= piv[0.3]).all() and (piv[0.3] >= piv[0.5]).all()
