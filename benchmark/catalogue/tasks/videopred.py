"""beyond.videopred (issue 19): modern video predictors on Moving Fashion-MNIST at matched parameter
budgets -- the grid, the width matching, the table and the figure. Task module: benchmark/train/videopred.py.

Six families on OpenSTL's RNN frame (patch frames -> recurrent core -> 1x1 conv, ``models.nets.openstl``) or
SimVP: ConvLSTM (the target), CBM, SCS, PredRNN-V2, SimVP-gSTA, ConvMinGRU. Every family keeps its own
structure (layers, filter, patch; SimVP's N_S / N_T) and only its ``width_mult`` changes: ``match_width``
picks the one whose parameter count is nearest the ConvLSTM's at the scale's width, and refuses (ValueError)
when the nearest is more than the scale's tolerance away. The ConvLSTM is built without OpenSTL's
never-called convs (``openstl_unused=False``): parameters that compute nothing are no budget.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ...config import RunConfig, validate
from ...figures import plt, save_figure
from ...results import load_curves, load_results
from ...tables import BASELINE_ROW, TIDY_COLUMNS, baseline_cells, write_table
from .. import scaled

EXPERIMENT = "beyond.videopred"
TARGET = "mmnist_convlstm_s"
# registered model -> (table row, its fixed options, whether it takes the RNN frame's knobs)
FAMILIES = {
    "mmnist_convlstm_s": ("ConvLSTM", dict(openstl_unused=False), True),
    "mmnist_cbm": ("CBM", {}, True),
    "mmnist_scs": ("SCS", {}, True),
    "mmnist_predrnn_v2": ("PredRNN-V2", {}, True),
    "mmnist_simvp_gsta_s": ("SimVP-gSTA", {}, False),
    "mmnist_convmingru": ("ConvMinGRU", {}, True),
}
COLUMNS = {"test MSE": "test_mse", "test MAE": "test_mae", "PSNR (dB)": "test_psnr", "SSIM": "test_ssim"}
PARAMS_COLUMN = "parameters"
# whether a model trained at all: its train loss (OpenSTL's, per pixel) after the first and the last epoch
LOSS_COLUMNS = ("train loss, epoch 1", "train loss, last epoch")
WIDTH_GRID = 512  # width_mult is searched on k / 512: every RNN hidden width (128 x k / 512) lies on it

SCALES = {
    # seconds: 32 px, 3 -> 2 frames, a few sequences, 1 epoch; widths matched to the nearest (no tolerance)
    "smoke": dict(epochs=1, batch_size=2, lr=1e-3, lr_schedule="constant", tol=None,
                  data_kw=dict(n_train=4, n_test=2, size=32, n_in=3, n_out=2),
                  frame=dict(width=4, num_layers=2, filter_size=3, patch_size=4),
                  speed={"mmnist_convmingru": dict(mode="sequential")}),
    # The cpu regime (issue 19). Budget: the full grid, 6 models x 5 seeds, at most 30 CPU-minutes (a mean of
    # 60 s a run on one core). Fixed before any run: 48 px frames (items move 2 px a frame), 10 -> 10, 256
    # training and 256 test sequences (data seed 0), batch 16, Adam lr 2e-3 with a cosine decay over the run
    # (the polygon cpu scale's; OpenSTL's OneCycle is not in the loop), the OpenSTL ConvLSTM-S frame at width
    # 16 (4 layers, filter 5, patch 4: 205,312 parameters) as the budget every family is matched to within 5%
    # (matched: CBM 27 wide 204,498; SCS 27, 204,930; PredRNN-V2 11, 204,490; SimVP-gSTA hid_S 4 / hid_T 30,
    # 206,253; ConvMinGRU 34, 201,416).
    # Measured one epoch (16 steps) / one evaluation (256 sequences) a model, one thread, the 2-core machine
    # shared with 4 other training processes (this process still got ~1 core): ConvLSTM 8.4 / 5.3 s, CBM
    # 10.7 / 5.7, SCS 11.4 / 5.9, PredRNN-V2 19.1 / 7.0, SimVP-gSTA 7.1 / 5.4, ConvMinGRU 12.5 / 6.4 (+ ~1 s
    # start): the grid costs ~5 x (69 e + 42) s at e epochs, 8.4 / 15.0 / 20.8 / 26.6 CPU-min at e = 1 / 2 / 3
    # / 4, 32 at 5. Candidates: 1, 2, 3, 4 epochs.
    # Rule, fixed before the pilot: candidates by training length (epochs) in increasing order; pick the
    # fewest at which the ConvLSTM (seed 0) beats copy-last-frame on test MSE by >= 10%; if none within the
    # budget, the longest that fits, and the result reported. The pilot ran only copy-last-frame and the
    # ConvLSTM (never another model: a regime is not chosen by which arm wins).
    # Pilot (256 test sequences): copy-last-frame test MSE 229.14 (MAE 346.06, PSNR 10.72, SSIM 0.301); the
    # ConvLSTM after 1 epoch 183.44 (MAE 446.99, PSNR 11.27, SSIM 0.042), 19.9% below copy-last: the rule
    # stops at the first candidate. But that bar is met by a blur: the 1-epoch ConvLSTM's SSIM is 0.042
    # (copy-last 0.301), and the mean of the 10 observed frames scores about the same MSE (187.0, SSIM 0.217).
    # Second rule, fixed before its pilot (same two arms): of 2, 3, 4 epochs the fewest at which the ConvLSTM
    # beats copy-last on test MSE by >= 10% AND scores an SSIM >= copy-last's 0.301; if none, 4 (the longest in
    # the budget) and the blur reported. Pilot 2 (MSE / SSIM): 2 epochs 156.8 / 0.080, 3: 141.7 / 0.098,
    # 4: 136.4 / 0.107 (107 s with the machine shared). Chosen: 4 epochs (64 Adam steps, the grid ~27 CPU-min).
    # Read the verdicts as what each family learns in 64 steps on a CPU: the ConvLSTM there still predicts a
    # blur (lower MSE than copy-last, far lower SSIM), not sharp motion.
    # Found by the 5-seed sweep (not a setting chosen from it): the CBM arm does not train here. Its train loss
    # diverges in the first epoch (seed mean 1.2e5) and then stays at ~0.118 (a constant output); the SCS's
    # falls only from 0.196 to 0.164. The table's two train-loss columns show it. A diagnostic after the sweep
    # (CBM, seed 1, 2 epochs): with BatchNorm on, loss 0.194 -> 0.179, test MSE 403; at lr 5e-4 instead of
    # 2e-3, loss 0.105 -> 0.082, test MSE 205.9 (below copy-last): the shared lr is too high for the
    # unnormalised CBM. Until a per-family lr rule (on training loss only, fixed before its pilot) is run,
    # the CBM and SCS verdicts measure a collapse at lr 2e-3, not the cells.
    # Per-family lr rule, fixed before its pilot, judged on training loss only: per family the largest lr of
    # (2e-3, 1e-3, 5e-4) at which its seed-0 run's mean train loss falls after every one of the 4 epochs and
    # its first epoch's is below 1; if none, 5e-4. At 2e-3 (the sweep's seed-0 runs) ConvLSTM, PredRNN-V2,
    # SimVP-gSTA, ConvMinGRU and SCS pass; CBM fails (0.1192, 0.1151, 0.1156, 0.1150). Pilot, CBM: 1e-3 fails
    # (0.439, 0.117, 0.118, 0.118), 5e-4 passes (0.108, 0.101, 0.094, 0.086). So the CBM trains at 5e-4
    # (``lr_by_model``), every other family at 2e-3. The 5-seed sweep at 5e-4: seed 0 trains (test MSE 194.7),
    # seeds 1-4 collapse again (train loss flat at ~0.113, seed 2 at 2.96 in its first epoch; MSE 284-287):
    # the unnormalised CBM is unstable in this frame at every lr tried. Reported as it is; the cause (the
    # unbounded R unit fed back through the linear readout is the suspect) is not settled.
    "cpu": dict(epochs=4, batch_size=16, lr=2e-3, lr_schedule="cosine", tol=0.05,
                data_kw=dict(n_train=256, n_test=256, size=48, n_in=10, n_out=10),
                frame=dict(width=16, num_layers=4, filter_size=5, patch_size=4),
                speed={"mmnist_convmingru": dict(mode="sequential")}, lr_by_model={"mmnist_cbm": 5e-4}),
    # OpenSTL's Moving-MNIST protocol (configs/mmnist): 64 x 64, 10 -> 10, batch 16, Adam lr 1e-3, 200
    # epochs, ConvLSTM-S's widths (4 x 128, filter 5, patch 4) as the budget every family is matched to.
    # OpenSTL schedules the lr with OneCycle; the loop has no OneCycle (config.LR_SCHEDULES: constant,
    # cosine, plateau), so cosine: OneCycle's annealing without its warm-up. 10000 / 10000 sequences of
    # the built-in Moving Fashion-MNIST (generated, not OpenSTL's files).
    "paper": dict(epochs=200, batch_size=16, lr=1e-3, lr_schedule="cosine", tol=0.05,
                  data_kw=dict(n_train=10000, n_test=10000, size=64, n_in=10, n_out=10),
                  frame=dict(width=128, num_layers=4, filter_size=5, patch_size=4)),
}


def param_count(model: str, width_mult: float, **kw) -> int:
    """Parameters of ``model`` at ``width_mult`` (built on the meta device: nothing allocated)."""
    from models import create_model
    from models.stacks import count_parameters

    with torch.device("meta"):
        return count_parameters(create_model(model, width_mult=width_mult, **kw))


def match_width(model: str, target: int, tol: float | None = 0.05, max_mult: float = 4.0,
                **kw) -> tuple[float, int]:
    """(width_mult, parameters) of ``model`` (options ``kw``) nearest ``target`` parameters, width_mult on
    the grid k / WIDTH_GRID (k = 1 .. max_mult * WIDTH_GRID; parameters grow with k, so a bisection). A
    ValueError when the nearest is more than ``tol`` (relative) away (``None``: no tolerance)."""
    if target < 1:
        raise ValueError(f"match_width: target must be a positive parameter count, got {target}")
    count = lru_cache(maxsize=None)(lambda k: param_count(model, k / WIDTH_GRID, **kw))
    lo, hi = 1, int(max_mult * WIDTH_GRID)
    if count(hi) < target:
        raise ValueError(f"{model}: {count(hi)} parameters at width_mult {max_mult} stay below the target {target}")
    while lo < hi:  # the smallest k with count(k) >= target
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if count(mid) >= target else (mid + 1, hi)
    k = min((j for j in (lo - 1, lo) if j >= 1), key=lambda j: (abs(count(j) - target), j))
    off = abs(count(k) - target) / target
    if tol is not None and off > tol:
        raise ValueError(f"{model}: the nearest width_mult {k / WIDTH_GRID} has {count(k)} parameters, "
                         f"{off:.1%} from the target {target} (tolerance {tol:.0%})")
    return k / WIDTH_GRID, count(k)


def family_kw(model: str, s: dict) -> dict:
    """The options every run of ``model`` gets at settings ``s`` besides its width: its fixed ones, for the
    RNN frame the scale's layers, filter and patch, and the scale's ``speed`` options (how a model runs, not
    what it computes: ConvMinGRU's sequential scan, 0.72 s a cpu training step against 1.06 s for the
    parallel one on this CPU, the same numbers up to rounding)."""
    _, fixed, rnn_frame = FAMILIES[model]
    frame = {k: v for k, v in s["frame"].items() if k != "width"} if rnn_frame else {}
    return {**fixed, **frame, **s.get("speed", {}).get(model, {})}


@lru_cache(maxsize=None)
def matched_widths(scale: str) -> dict[str, tuple[float, int]]:
    """model -> (width_mult, parameters) at ``scale``: the ConvLSTM at the frame's width, every other family
    matched to its count (``match_width``, the scale's tolerance). Counted at the scale's n_in / n_out
    (SimVP's translator width depends on n_in)."""
    s = scaled(SCALES, scale)
    seq = dict(in_channels=1, pre_seq_length=s["data_kw"]["n_in"], aft_seq_length=s["data_kw"]["n_out"])
    width = s["frame"]["width"] / 128
    target = param_count(TARGET, width, **seq, **family_kw(TARGET, s))
    out = {TARGET: (width, target)}
    for model in FAMILIES:
        if model != TARGET:
            out[model] = match_width(model, target, s["tol"], **seq, **family_kw(model, s))
    return out


def videopred_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    if data_root:
        raise ValueError(f"{EXPERIMENT} trains on the built-in Moving Fashion-MNIST; it takes no --data-root")
    s = scaled(SCALES, scale)
    cfgs = []
    for model, (width, params) in matched_widths(scale).items():
        for seed in range(seeds):
            cfg = RunConfig(experiment=EXPERIMENT, scale=scale, task="videopred", model=model, seed=seed,
                            model_kw={"width_mult": width, **family_kw(model, s)}, data_kw=dict(s["data_kw"]),
                            epochs=s["epochs"], batch_size=s["batch_size"],
                            lr=s.get("lr_by_model", {}).get(model, s["lr"]),
                            lr_schedule=s["lr_schedule"], eval_last=1,
                            labels=dict(row=FAMILIES[model][0], params=params))
            validate(cfg)
            cfgs.append(cfg)
    return cfgs


# ---------------------------------------------------------------------------------------------- outputs
def _done(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    res = load_results(runs_root, cfgs)
    return res[res["status"] == "done"] if len(res) else res


def videopred_table(runs_root: Path, cfgs: list[RunConfig], scale: str) -> pd.DataFrame:
    """Tidy cells: per model the mean over finished seeds of each metric and its parameter count, then
    copy-last-frame's scores on the same test set (0 parameters)."""
    done, rows = _done(runs_root, cfgs), []
    curves = load_curves(runs_root, [c for c in cfgs if len(done) and ((done["row"] == c.labels["row"]) &
                                                                      (done["seed"] == c.seed)).any()])
    common = dict(paper=float("nan"), delta=float("nan"), unit="", scale=scale, reference_only=False, note=None)
    for row, params in dict.fromkeys((c.labels["row"], c.labels["params"]) for c in cfgs):
        sub = done[done["row"] == row] if len(done) else done
        data = ", ".join(sorted(set(sub["dataset"].dropna()))) if len(sub) else None
        cells = {col: round(float(sub[m].mean()), 4) if len(sub) else float("nan") for col, m in COLUMNS.items()}
        cells[PARAMS_COLUMN] = params
        mine = curves[curves["row"] == row].sort_values("epoch") if len(curves) else curves
        for col, pick in zip(LOSS_COLUMNS, ("first", "last")):
            per_seed = mine.groupby("seed")["train_loss"].agg(pick) if len(mine) else pd.Series(dtype=float)
            cells[col] = round(float(per_seed.mean()), 4) if len(per_seed) else float("nan")
        rows += [{"row": row, "column": col, "reproduced": v, "dataset": data, "n_seeds": int(len(sub)),
                  "source": f"{EXPERIMENT} (issue 19; no paper prints these)", **common} for col, v in cells.items()]
    if cfgs:
        base = baseline_cells(cfgs[0], COLUMNS)
        base = pd.concat([base, base.iloc[:1].assign(column=PARAMS_COLUMN, reproduced=0)], ignore_index=True)
        rows += [{**r, "source": "benchmark.baselines (no training)", **common} for r in base.to_dict("records")]
    return pd.DataFrame(rows).reindex(columns=TIDY_COLUMNS)


def mse_figure(runs_root: Path, cfgs: list[RunConfig], tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """Test MSE per model: one dot per seed, a bar for the mean, copy-last-frame as a dotted line."""
    done = _done(runs_root, cfgs)
    rows = list(dict.fromkeys(c.labels["row"] for c in cfgs))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for i, row in enumerate(rows):
        vals = done[done["row"] == row]["test_mse"].to_numpy(float) if len(done) else np.array([])
        if len(vals):
            ax.bar(i, vals.mean(), 0.6, color=f"C{i}", alpha=0.35)
            ax.plot(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals, "o", color=f"C{i}", ms=4)
    base = tidy[tidy["row"].str.startswith(BASELINE_ROW) & (tidy["column"] == "test MSE")]
    if len(base):
        ax.axhline(float(base["reproduced"].iloc[0]), color="0.3", ls=":", lw=1.5, label="copy the last frame")
        ax.legend(fontsize=8)
    counts = tidy[tidy["column"] == PARAMS_COLUMN]
    params = dict(zip(counts["row"], counts["reproduced"]))
    ax.set_xticks(range(len(rows)), [f"{r}\n{int(params.get(r, 0)) / 1e3:.0f}k params" for r in rows], fontsize=8)
    ax.set_ylabel("test MSE per frame (lower is better)")
    ax.set_title(f"{EXPERIMENT}: Moving Fashion-MNIST, matched parameters ({scale} scale; dots: seeds)", fontsize=9)
    return save_figure(fig, out)


def videopred_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    tidy = videopred_table(runs_root, cfgs, scale)
    files = write_table(tidy, out_dir / "tables" / "beyond", "videopred",
                        "beyond.videopred: video prediction on Moving Fashion-MNIST at matched parameter budgets "
                        "(OpenSTL's metrics: MSE / MAE per frame, PSNR, SSIM; train loss after the first and the last "
                        "epoch: did the model train?)", columns=[*COLUMNS, PARAMS_COLUMN, *LOSS_COLUMNS])
    files.append(mse_figure(runs_root, cfgs, tidy, out_dir / "figures" / "beyond" / "videopred.png", scale))
    return files
