"""The trivial-baseline row of a table is drawn in its figure (deeprnn Table 8, scs Table 5): a dotted line
at the row's value, labelled with what the trivial predictor is."""
import numpy as np
import pandas as pd

from benchmark.catalogue.tasks import action, driving
from benchmark.tables import BASELINE_ROW


def _captured(monkeypatch, module):
    figs = []
    monkeypatch.setattr(module, "save_figure", lambda fig, out, **kw: figs.append(fig) or out)
    return figs


def _baseline_lines(fig):
    return [(ln.get_label(), ln.get_ydata()[0]) for ax in fig.axes for ln in ax.get_lines()
            if ln.get_label().startswith("trivial baseline")]


def test_table8_figure_draws_the_majority_baseline(monkeypatch, tmp_path):
    figs = _captured(monkeypatch, action)
    rows = [{"row": f"TD rate {r}", "column": "Acc", "paper": 75.0 + r, "reproduced": 40.0 + r} for r in action.TABLE8_RATES]
    rows.append({"row": f"{BASELINE_ROW}: majority training class (6)", "column": "Acc", "paper": np.nan,
                 "reproduced": 8.984})
    action.td_rate_plot(pd.DataFrame(rows), tmp_path / "t8.png", "cpu")
    assert _baseline_lines(figs[0]) == [(f"{BASELINE_ROW}: majority training class (6)", 8.984)]


def test_table5_figure_draws_each_data_sets_baseline(monkeypatch, tmp_path):
    figs = _captured(monkeypatch, driving)
    rows = []
    for ds, value in (("LiVi", 83.74), ("Comma", 69.79)):
        for p in driving.PS:
            rows.append({"row": driving._row("scs", ds, p), "column": "length=7 / λ=6", "paper": 30.0, "reproduced": 90.0,
                         "dataset": "x"})
        rows.append({"row": f"{BASELINE_ROW} {ds}: mean training angle", "column": "length=7 / λ=6", "paper": np.nan,
                     "reproduced": value, "dataset": "x"})
    driving.table5_figure(pd.DataFrame(rows), tmp_path / "t5.png", "cpu")
    assert [v for _, v in _baseline_lines(figs[0])] == [83.74, 69.79]
