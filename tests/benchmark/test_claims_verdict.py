"""The verdict rule on made-up numbers, edge cases included (benchmark/claims/verdict.py), and one claim
judged end to end from a made-up table of per-seed results (benchmark/claims/evaluate.py)."""
import math

import numpy as np
import pandas as pd
import pytest

from benchmark.claims import Better, Claim, Exact, Interaction, Peak, Source, Trend
from benchmark.claims import evaluate as E
from benchmark.claims import verdict as V


def test_clear_win_is_reproduced_and_ci_brackets_the_mean():
    out = V.better_than([80, 81, 82, 83, 84], [70, 70, 70, 70, 70])
    assert out.diff == pytest.approx(12.0)
    assert 10.0 <= out.ci_low < 12.0 < out.ci_high <= 14.0
    assert out.n == 5 and out.verdict == V.REPRODUCED


def test_clear_loss_is_contradicted():
    out = V.better_than([60, 61, 62], [70, 71, 72])
    assert out.diff == pytest.approx(-10.0) and out.ci_high < 0 and out.verdict == V.CONTRADICTED


def test_mixed_signs_are_inconclusive():
    out = V.better_than([71, 69, 71, 69], [70, 70, 70, 70])
    assert out.diff == 0.0 and out.ci_low < 0 < out.ci_high and out.verdict == V.INCONCLUSIVE


def test_lower_is_better_flips_the_orientation():
    assert V.better_than([4.0, 4.1, 3.9], [13.0, 14.0, 13.5], better="lower").verdict == V.REPRODUCED
    assert V.better_than([4.0, 4.1, 3.9], [13.0, 14.0, 13.5], better="higher").verdict == V.CONTRADICTED


def test_two_seeds_percentile_ci_is_exactly_the_two_values_and_zero_low_end_is_inconclusive():
    # resampled means of (0, 10): 0, 5, 10 with probabilities 1/4, 1/2, 1/4 -> 95% percentile CI [0, 10]
    out = V.better_than([10, 20], [10, 10])
    assert (out.ci_low, out.ci_high) == (0.0, 10.0)
    assert out.verdict == V.INCONCLUSIVE  # low end exactly 0 is not above 0


def test_identical_differences_give_a_point_ci():
    out = V.better_than([3, 3, 3], [1, 1, 1])
    assert (out.diff, out.ci_low, out.ci_high) == (2.0, 2.0, 2.0) and out.verdict == V.REPRODUCED
    tie = V.better_than([100, 100, 100], [100, 100, 100])  # both at the ceiling: no evidence either way
    assert (tie.ci_low, tie.ci_high) == (0.0, 0.0) and tie.verdict == V.INCONCLUSIVE


def test_one_seed_has_no_ci_and_no_seed_is_not_run():
    one = V.better_than([90], [10])
    assert one.diff == 80 and math.isnan(one.ci_low) and one.verdict == V.INCONCLUSIVE
    assert V.verdict(math.nan, math.nan, 0) == V.NOT_RUN


def test_bootstrap_is_deterministic():
    a, b = np.random.default_rng(1).normal(size=(2, 5))
    assert V.better_than(a, b) == V.better_than(a, b)


def test_trend_uses_endpoints_and_reports_the_share_of_steps():
    # 3 seeds x 4 depths; up overall, one step down in every seed
    vals = [[60, 65, 64, 70], [61, 66, 65, 72], [59, 64, 63, 69]]
    ends, share = V.trend(vals, "up")
    assert ends.diff == pytest.approx(10.333333, abs=1e-5) and ends.verdict == V.REPRODUCED
    assert share.diff == pytest.approx(2 / 3) and (share.ci_low, share.ci_high) == (2 / 3, 2 / 3)
    down, _ = V.trend(vals, "down")
    assert down.diff == pytest.approx(-10.333333, abs=1e-5) and down.verdict == V.CONTRADICTED
    with pytest.raises(ValueError):
        V.trend([[1], [2]], "up")


def test_peak_is_best_minus_best_of_others_per_seed():
    out = V.peak([45, 46, 44], [[40, 42], [47, 41], [43, 40]])
    assert out.diff == pytest.approx(((45 - 42) + (46 - 47) + (44 - 43)) / 3)
    low = V.peak([4, 4, 4], [[5, 6], [5, 7], [6, 5]], better="lower")
    assert low.diff == pytest.approx(1.0) and low.verdict == V.REPRODUCED


def test_interaction():
    out = V.interaction([70, 71], [60, 62], [50, 52], [55, 55])  # CBM +10/+9, LSTM -5/-3
    assert out.diff == pytest.approx(((10 + 5) + (9 + 3)) / 2)


def test_exact_at_the_printed_precision():
    out, verdict = V.exact(15.7149, 15.71)
    assert verdict == V.REPRODUCED and out.diff == 0.0 and out.ci_low == out.ci_high == 0.0
    out, verdict = V.exact(0.4812, 0.47)
    assert verdict == V.CONTRADICTED and out.diff == pytest.approx(0.01) and out.ci_low == out.ci_high == out.diff
    assert V.exact(2.04, 2.0, decimals=1)[1] == V.REPRODUCED
    assert V.exact(float("nan"), 2.0)[1] == V.NOT_RUN
    assert [V.decimals_of(x) for x in (0.47, 15.7, 12.0, 0.01156)] == [2, 1, 0, 5]


# ------------------------------------------------------------------ a claim judged from per-seed results
def _results():
    rows = []
    for seed in range(5):
        for cell, depth, iou in (("cbm", 2, 70), ("cbm", 15, 75), ("lstm", 2, 72), ("lstm", 15, 66)):
            rows.append({"cell": cell, "depth": depth, "seed": seed, "status": "done",
                         "test_iou": iou + 0.1 * seed})
    return pd.DataFrame(rows)


def _claim(form, **kw):
    return Claim(id="deeprnn.t.x", experiment="deeprnn.table6", statement="s", source=Source("deeprnn", "Table 6"),
                 metric="test_iou", form=form, **kw)


def test_evaluate_claim_forms_from_results(tmp_path):
    res = _results()
    better = E.evaluate_claim(_claim(Better({"cell": "cbm", "depth": 15}, {"cell": "lstm", "depth": 15})),
                              res, [], "cpu", tmp_path, with_baseline=False)
    assert better["n_seeds"] == 5 and better["diff"] == pytest.approx(9.0) and better["verdict"] == V.REPRODUCED
    assert better["a_mean"] == pytest.approx(75.2) and better["b_mean"] == pytest.approx(66.2)
    inter = E.evaluate_claim(_claim(Interaction({"cell": "cbm", "depth": 15}, {"cell": "cbm", "depth": 2},
                                                {"cell": "lstm", "depth": 15}, {"cell": "lstm", "depth": 2})),
                             res, [], "cpu", tmp_path, with_baseline=False)
    assert inter["diff"] == pytest.approx(11.0) and inter["verdict"] == V.REPRODUCED
    trend = E.evaluate_claim(_claim(Trend(({"cell": "lstm", "depth": 2}, {"cell": "lstm", "depth": 15}), "up")),
                             res, [], "cpu", tmp_path, with_baseline=False)
    assert trend["verdict"] == V.CONTRADICTED and trend["diff"] == pytest.approx(-6.0)


def test_missing_arm_and_untestable_are_not_run(tmp_path):
    res = _results()
    res.loc[(res["cell"] == "cbm") & (res["depth"] == 15), "status"] = "pending"
    row = E.evaluate_claim(_claim(Better({"cell": "cbm", "depth": 15}, {"cell": "lstm", "depth": 15})),
                           res, [], "cpu", tmp_path, with_baseline=False)
    assert row["verdict"] == V.NOT_RUN and row["n_seeds"] == 0 and "no finished run" in row["note"]
    row = E.evaluate_claim(_claim(Better({"cell": "cbm"}, {"cell": "lstm"}), untestable={"cpu": "no arm"}),
                           _results(), [], "cpu", tmp_path)
    assert row["verdict"] == V.NOT_RUN and row["note"] == "not testable at cpu scale: no arm"


def test_pairs_only_common_seeds(tmp_path):
    res = _results()
    res = res[~((res["cell"] == "lstm") & (res["seed"] == 4))]
    row = E.evaluate_claim(_claim(Better({"cell": "cbm", "depth": 15}, {"cell": "lstm", "depth": 15})),
                           res, [], "cpu", tmp_path, with_baseline=False)
    assert row["n_seeds"] == 4


def test_saturated_when_every_arm_is_within_the_baseline(monkeypatch, tmp_path):
    from benchmark import baselines
    from benchmark.config import RunConfig

    cfgs = [RunConfig(experiment="deeprnn.table6", scale="cpu", task="polygon", model=f"m{cell}{d}", seed=s,
                      labels=dict(cell=cell, depth=d)) for cell in ("cbm", "lstm") for d in (2, 15) for s in range(5)]
    claim = _claim(Better({"cell": "cbm", "depth": 15}, {"cell": "lstm", "depth": 15}))
    monkeypatch.setattr(baselines, "trivial_baselines", lambda cfg: {"test_iou": (76.0, "best fixed polygon")})
    row = E.evaluate_claim(claim, _results(), cfgs, "cpu", tmp_path)
    assert row["verdict"] == V.REPRODUCED and row["baseline"] == E.SATURATED and "76" in row["note"]
    monkeypatch.setattr(baselines, "trivial_baselines", lambda cfg: {"test_iou": (60.0, "rectangle")})
    assert E.evaluate_claim(claim, _results(), cfgs, "cpu", tmp_path)["baseline"] == E.ABOVE
    monkeypatch.setattr(baselines, "trivial_baselines", lambda cfg: {})
    assert E.evaluate_claim(claim, _results(), cfgs, "cpu", tmp_path)["baseline"] == ""


def test_exact_claim_reads_the_tidy_table(tmp_path):
    (tmp_path / "deeprnn").mkdir()
    pd.DataFrame([{"row": "Polyg-CBM 15", "column": "# params of RNN", "paper": 5.85, "reproduced": 5.85},
                  {"row": "Polyg-LSTM 15", "column": "# params of RNN", "paper": 15.71, "reproduced": 15.7}]
                 ).to_csv(tmp_path / "deeprnn" / "table6.csv", index=False)
    ok = E.evaluate_claim(_claim(Exact("Polyg-CBM 15", "# params of RNN")), pd.DataFrame(), [], "cpu", tmp_path)
    bad = E.evaluate_claim(_claim(Exact("Polyg-LSTM 15", "# params of RNN")), pd.DataFrame(), [], "cpu", tmp_path)
    assert ok["verdict"] == V.REPRODUCED and ok["diff"] == 0
    assert bad["verdict"] == V.CONTRADICTED and bad["diff"] == pytest.approx(-0.01) and bad["ci_low"] == bad["diff"]
