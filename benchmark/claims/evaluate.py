"""Judging an experiment's claims from its finished runs, and the files that say what was found.

``evaluate_experiment`` writes ``tables/<paper>/<id>.claims.csv`` (one row per claim: the columns of
``CLAIM_COLUMNS``); ``write_summary`` writes ``tables/claims.md`` from every committed claims CSV. The
numbers come from the runs (``results.load_results``: each run's final metrics, one row per seed), from
the rows an experiment derives from its runs (``Experiment.claim_values``: e.g. a two-stream fusion of two
runs, one row per seed, labelled as ``Experiment.claim_arms`` declares) and, for exact claims, from the
experiment's own tidy table; the rule that turns them into a verdict is :mod:`benchmark.claims.verdict`.

Trivial baselines (:mod:`benchmark.baselines`): a claim whose every arm is within what a predictor that
learns nothing scores (the 95% CI of the arm's per-seed margin over the baseline reaches 0) is marked
``saturated`` in the ``baseline`` column, whatever its verdict; ``above`` when some arm clears it; empty
when the metric has no baseline.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import RunConfig
from . import DERIVED, Better, Claim, Exact, Interaction, Peak, Trend, claims_for, PAPERS
from . import verdict as V

if TYPE_CHECKING:
    from ..catalogue import Experiment

CLAIM_COLUMNS = ["claim", "experiment", "statement", "source", "metric", "n_seeds", "a_mean", "b_mean", "diff",
                 "ci_low", "ci_high", "verdict", "baseline", "note"]
SATURATED, ABOVE = "saturated", "above"


# ------------------------------------------------------------------------------------------ arms
def arms_of(form) -> list[tuple[str, dict]]:
    """(name, label filter) of every run group a form compares."""
    if isinstance(form, Better):
        return [("A", form.a), ("B", form.b)]
    if isinstance(form, Trend):
        return [(f"step {i}", a) for i, a in enumerate(form.arms)]
    if isinstance(form, Peak):
        return [("best", form.best)] + [(f"other {i}", a) for i, a in enumerate(form.others)]
    if isinstance(form, Interaction):
        return [("A1", form.a1), ("A0", form.a0), ("B1", form.b1), ("B0", form.b0)]
    return []


def matches(labels: dict, arm: dict) -> bool:
    """The labels pass the arm's filter; a derived row's labels (``DERIVED``) only when the arm names it."""
    return labels.get(DERIVED) == arm.get(DERIVED) and all(k in labels and labels[k] == v for k, v in arm.items())


def arm_problems(claim: Claim, scale: str) -> list[str]:
    """What is wrong with a claim's arms at ``scale`` (empty when each arm selects one run per seed)."""
    from ..catalogue import UnknownExperiment, resolve

    if claim.reason_untestable(scale):
        return []
    problems = []
    if claim.better not in ("higher", "lower"):
        problems.append(f"better={claim.better!r}: use 'higher' or 'lower'")
    if isinstance(claim.form, Trend) and claim.form.direction not in ("up", "down"):
        problems.append(f"trend direction {claim.form.direction!r}: use 'up' or 'down'")
    try:
        exp = resolve(claim.experiment)
        try:
            cfgs = exp.runs(scale, 2, None)
        except (ValueError, FileNotFoundError):  # a grid on a real data set: declared with a placeholder root
            cfgs = exp.runs(scale, 2, "/path/to/data")
    except (UnknownExperiment, ValueError, FileNotFoundError) as e:
        return problems + [f"experiment {claim.experiment!r} has no {scale} grid: {e}"]
    rows = {seed: [c.labels for c in cfgs if c.seed == seed] for seed in (0, 1)}
    if exp.claim_arms is not None:  # the experiment's derived rows (Experiment.claim_values) count as runs
        for seed in rows:
            derived = exp.claim_arms([c for c in cfgs if c.seed == seed])
            if any(not lab.get(DERIVED) for lab in derived):
                return problems + [f"{claim.experiment}: claim_arms gives labels without a {DERIVED!r} label"]
            rows[seed] = rows[seed] + derived
    for name, arm in arms_of(claim.form):
        for seed, labels in rows.items():
            n = sum(1 for lab in labels if matches(lab, arm))
            if n != 1:
                problems.append(f"arm {name} {arm} selects {n} runs of seed {seed} at scale {scale} (needs 1)")
                break
    return problems


def arm_values(results: pd.DataFrame, arm: dict, metric: str) -> pd.Series:
    """Per-seed values of ``metric`` for the finished runs an arm selects (index: seed)."""
    if not len(results) or "status" not in results:
        return pd.Series(dtype=float)
    sel = results["status"] == "done"
    if DERIVED in results and DERIVED not in arm:  # runs only: an arm selects derived rows by name
        sel &= results[DERIVED].isna()
    for k, v in arm.items():
        if k not in results:
            return pd.Series(dtype=float)
        sel &= results[k].map(lambda x, v=v: x == v)
    sub = results[sel]
    if metric not in sub:
        return pd.Series(dtype=float)
    return sub.set_index("seed")[metric].astype(float).dropna()


# ------------------------------------------------------------------------------------------ baselines
def _arm_config(cfgs: list[RunConfig], arm: dict) -> RunConfig | None:
    return next((c for c in cfgs if matches(c.labels, arm)), None)


def baseline_mark(claim: Claim, cfgs: list[RunConfig], values: dict[str, pd.Series], seeds) -> tuple[str, str]:
    """(``saturated`` | ``above`` | "", note) for a claim's arms against the trivial baseline of its metric."""
    from ..baselines import trivial_baselines

    within, base_note = [], ""
    for name, arm in arms_of(claim.form):
        cfg = _arm_config(cfgs, arm)
        if cfg is None:
            return "", ""
        base = trivial_baselines(cfg).get(claim.metric)
        if base is None:
            return "", ""
        value, what = base
        base_note = f"trivial baseline {value:.4g} ({what})"
        margin = V._sign(claim.better) * (values[name].loc[seeds].to_numpy() - value)
        _, lo, _ = V.mean_ci(margin)
        within.append(math.isnan(lo) or lo <= 0)
    return (SATURATED if all(within) else ABOVE), base_note


# ------------------------------------------------------------------------------------------ one claim
def _row(claim: Claim, **kw) -> dict:
    row = {"claim": claim.id, "experiment": claim.experiment, "statement": claim.statement,
           "source": str(claim.source), "metric": claim.metric, "n_seeds": 0, "a_mean": math.nan,
           "b_mean": math.nan, "diff": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "verdict": V.NOT_RUN, "baseline": "", "note": ""}
    row.update(kw)
    return row


def _exact_row(claim: Claim, tables_dir: Path) -> dict:
    f = claim.form
    name = f.table or claim.experiment.split(".", 1)[1]
    path = tables_dir / claim.paper / f"{name}.csv"
    if not path.exists():
        return _row(claim, note=f"table {path.name} not written")
    tidy = pd.read_csv(path)
    cell = tidy[(tidy["row"].astype(str) == f.row) & (tidy["column"].astype(str) == f.column)]
    if not len(cell) or pd.isna(cell["paper"].iloc[0]) or pd.isna(cell["reproduced"].iloc[0]):
        return _row(claim, note=f"cell ({f.row!r}, {f.column!r}) of {path.name} has no paper or reproduced value")
    ours, printed = float(cell["reproduced"].iloc[0]), float(cell["paper"].iloc[0])
    out, verdict = V.exact(ours, printed, f.decimals)
    d = V.decimals_of(printed) if f.decimals is None else f.decimals
    return _row(claim, n_seeds=0, a_mean=ours, b_mean=printed, diff=out.diff, ci_low=out.ci_low,
                ci_high=out.ci_high, verdict=verdict, note=f"exact at {d} decimals (ours vs printed)")


def evaluate_claim(claim: Claim, results: pd.DataFrame, cfgs: list[RunConfig], scale: str,
                   tables_dir: Path, with_baseline: bool = True) -> dict:
    """One row of the claims CSV."""
    reason = claim.reason_untestable(scale)
    if reason:
        return _row(claim, note=f"not testable at {scale} scale: {reason}")
    if isinstance(claim.form, Exact):
        return _exact_row(claim, tables_dir)
    arms = arms_of(claim.form)
    values = {name: arm_values(results, arm, claim.metric) for name, arm in arms}
    missing = [f"{name} {arm}" for name, arm in arms if not len(values[name])]
    if missing:
        return _row(claim, note="no finished run for " + "; ".join(missing))
    seeds = sorted(set.intersection(*(set(v.index) for v in values.values())))
    if not seeds:
        return _row(claim, note="the arms share no seed")
    col = {name: values[name].loc[seeds].to_numpy() for name, _ in arms}
    f, note = claim.form, ""
    if isinstance(f, Better):
        out = V.better_than(col["A"], col["B"], claim.better)
        a_mean, b_mean = col["A"].mean(), col["B"].mean()
    elif isinstance(f, Trend):
        mat = np.stack([col[name] for name, _ in arms], axis=1)
        out, share = V.trend(mat, f.direction)
        a_mean, b_mean = mat[:, -1].mean(), mat[:, 0].mean()
        means = " / ".join(f"{m:.4g}" for m in mat.mean(axis=0))
        note = (f"means along {f.over or 'the sweep'}: {means}; share of steps {f.direction}: {share.diff:.2f} "
                f"[{share.ci_low:.2f}, {share.ci_high:.2f}]")
    elif isinstance(f, Peak):
        others = np.stack([col[name] for name, _ in arms[1:]], axis=1)
        out = V.peak(col["best"], others, claim.better)
        pick = others.max(axis=1) if claim.better == "higher" else others.min(axis=1)
        a_mean, b_mean = col["best"].mean(), pick.mean()
        note = "b_mean: best of the others per seed"
    else:  # Interaction
        out = V.interaction(col["A1"], col["A0"], col["B1"], col["B0"], claim.better)
        a_mean, b_mean = (col["A1"] - col["A0"]).mean(), (col["B1"] - col["B0"]).mean()
        note = "a_mean = A1 - A0, b_mean = B1 - B0"
    row = _row(claim, n_seeds=len(seeds), a_mean=a_mean, b_mean=b_mean, diff=out.diff, ci_low=out.ci_low,
               ci_high=out.ci_high, verdict=out.verdict, note=note)
    if len(seeds) < V.MIN_SEEDS_FOR_CI:
        row["note"] = "; ".join(x for x in (note, f"{len(seeds)} seed: no CI") if x)
    if with_baseline:
        mark, base_note = baseline_mark(claim, cfgs, values, seeds)
        row["baseline"] = mark
        row["note"] = "; ".join(x for x in (row["note"], base_note) if x)
    return row


# ------------------------------------------------------------------------------------------ files
def claims_path(out_dir: Path, experiment: str) -> Path:
    paper, name = experiment.split(".", 1)
    return Path(out_dir) / "tables" / paper / f"{name}.claims.csv"


def with_claim_values(results: pd.DataFrame, exp: Experiment, runs_root: Path,
                      cfgs: list[RunConfig]) -> pd.DataFrame:
    """The runs' rows and, below them, the experiment's derived rows (``Experiment.claim_values``)."""
    if exp.claim_values is None:
        return results
    extra = exp.claim_values(Path(runs_root), cfgs)
    if not len(extra):
        return results
    lacking = [c for c in ("seed", "status", DERIVED) if c not in extra or extra[c].isna().any()]
    if lacking:
        raise ValueError(f"{exp.id}: claim_values rows lack {lacking}")
    return pd.concat([results, extra], ignore_index=True) if len(results) else extra.reset_index(drop=True)


def evaluate_experiment(experiment: str, runs_root: Path, cfgs: list[RunConfig], out_dir: Path,
                        scale: str) -> list[Path]:
    """Judge every claim of ``experiment`` and write its claims CSV (nothing when it has no claims)."""
    from ..catalogue import resolve
    from ..results import load_results

    claims = claims_for(experiment)
    if not claims:
        return []
    results = with_claim_values(load_results(runs_root, cfgs), resolve(experiment), runs_root, cfgs)
    rows = [evaluate_claim(c, results, cfgs, scale, Path(out_dir) / "tables") for c in claims]
    path = claims_path(out_dir, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    df.to_csv(path, index=False, float_format="%.6g")
    return [path]


def load_claims(out_dir: Path) -> pd.DataFrame:
    """Every committed ``tables/<paper>/*.claims.csv``, in paper order."""
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""])
              for paper in PAPERS for p in sorted((Path(out_dir) / "tables" / paper).glob("*.claims.csv"))]
    if not frames:
        return pd.DataFrame(columns=CLAIM_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    for col in ("baseline", "note"):  # text columns that may be empty in every row
        df[col] = df[col].astype(object).where(df[col].notna(), "")
    return df
