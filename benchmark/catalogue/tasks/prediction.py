"""Frame prediction experiments: deeprnn Table 4 (KTH, 10 -> 20 frames: ConvLSTM, MCnet, MCnet with a
15-layer CBM motion encoder) and scs Table 7 (radar echo nowcasting, 5 -> 5: ConvLSTM vs SCS under
STSGD p = 0, 0.3, 0.5). Task modules: benchmark/train/prediction.py and benchmark/train/nowcast.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...claims import DERIVED
from ...config import RunConfig, validate
from ...reference import load_reference
from ...results import load_results
from ...tables import BASELINE_ROW, baseline_cells, comparison, write_table
from ...figures import plt, save_figure
from .. import scaled

CELL_COLUMNS = ["row", "column", "reproduced", "n_seeds", "dataset"]


def _done(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    res = load_results(runs_root, cfgs)
    return res[res["status"] == "done"] if len(res) else res


def _dataset(sub: pd.DataFrame) -> str:
    return ", ".join(sorted(set(sub["dataset"].dropna()))) if "dataset" in sub else ""


# ---------------------------------------------------------------- deeprnn Table 4: video prediction on KTH
# model -> Table 4 row prefix ("<prefix> PSNR" / "<prefix> SSIM")
TABLE4_MODELS = {"nowcast_convlstm": "ConvLSTM [50]", "mcnet_convlstm": "MCnet [45]", "mcnet_cbm15": "Ours"}
TABLE4_STEPS = 20
TABLE4_COLUMNS = [f"T{k}" for k in range(1, TABLE4_STEPS + 1)] + ["Avg"]
# deeprnn 4.3: "TD rate is finally set to 0.5 with similar process as the above" (4.2: 1.0, 0.8 after one
# epoch, 0.5 after another)
TABLE4_TD = ((0, 1.0), (1, 0.8), (2, 0.5))
TABLE4_SCALES = {
    "smoke": dict(epochs=1, batch_size=2, lr=1e-3,
                  data_kw=dict(n_in=3, n_out=2, n_out_test=TABLE4_STEPS, size=16, n_train=4, n_test=2,
                               source="moving-digits"),
                  model_kw={"mcnet": dict(width=4), "nowcast_convlstm": dict(width=4, depth=2, patch=4)}),
    # The cpu regime (issue 18), fixed from a pilot of copy-last-frame and one model (MCnet-ConvLSTM, seed 0)
    # before any other arm ran. Mechanism: Table 4 compares motion models, so the windows must move and the
    # nets must spend their steps on the motion. The regime before (256 vtest.avi windows, direct tanh /
    # sigmoid output, 256 steps) left every net below copy-last-frame: the ConvLSTM [50] output was a
    # nearly static blur (per-pixel std over the 20 steps 0.006 vs 0.023 in the truth; loss still falling
    # at 4x the steps), a bad setting, not a bug. Pilot on the motion windows (256 test windows, 20 steps),
    # PSNR T1 / T20 / avg: copy-last-frame 32.62 / 18.67 / 21.82; MCnet-ConvLSTM with its tanh output after
    # 256 steps 22.37 / 18.03 / 19.62 (still learning to redraw the frame); with a residual output (the
    # change from the last frame, zero-initialised: the untrained net is copy-last-frame) 32.39 / 19.81 /
    # 22.76. Chosen: the residual output for all three nets, 512 training windows, 8 epochs of 64 Adam steps
    # at lr 2e-3 (2x the pilot's steps), 256 test windows, final metrics the mean of the last 2 epochs.
    # Data: `source="motion"` (benchmark/data/motion_clips.py): windows from every packaged video that move at
    # least as much as the median training window, clip-level split, no shot cut inside a window.
    "cpu": dict(epochs=8, batch_size=8, lr=2e-3, average_last=2, eval_last=2,
                data_kw=dict(n_in=10, n_out=10, n_out_test=TABLE4_STEPS, size=32, n_train=512, n_test=256,
                             source="motion"),
                model_kw={"mcnet": dict(width=16, residual=True),
                          "nowcast_convlstm": dict(width=16, depth=2, patch=4, residual=True)}),
    # MCnet (Villegas et al. 2017) on KTH: 128 x 128 grey, 10 -> 10 in training, 20 at test, batch 8,
    # Adam 1e-4, gf 64 (motion RNN 256 channels), L_img = L_2 + L_gdl. Epochs: a choice (the papers give
    # iterations only loosely); ConvLSTM [50]: Shi et al.'s radar setting, 2 x 64 ConvLSTM on 4x4 patches
    "paper": dict(epochs=100, batch_size=8, lr=1e-4,
                  data_kw=dict(n_in=10, n_out=10, n_out_test=TABLE4_STEPS, size=128, protocol="mcnet"),
                  model_kw={"mcnet": dict(width=256), "nowcast_convlstm": dict(width=64, depth=2, patch=4)}),
}


def table4_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    s = scaled(TABLE4_SCALES, scale)
    dataset = "kth" if data_root else "builtin"
    data_kw = dict(s["data_kw"])
    if dataset == "builtin":
        data_kw.pop("protocol", None)
    cfgs = []
    for model, row in TABLE4_MODELS.items():
        mkw = s["model_kw"]["mcnet" if model.startswith("mcnet") else model]
        for seed in range(seeds):
            cfg = RunConfig(experiment="deeprnn.table4", scale=scale, task="prediction", model=model, seed=seed,
                            model_kw=dict(mkw), dataset=dataset, data_root=data_root, data_kw=dict(data_kw),
                            epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], grad_clip=5.0,
                            average_last=s.get("average_last", 1), eval_last=s.get("eval_last", 0),
                            td_schedule=TABLE4_TD if model == "mcnet_cbm15" else (),
                            scheme_kw=dict(gdl=1.0), labels=dict(row=row))
            validate(cfg)
            cfgs.append(cfg)
    return cfgs


def table4_cells(done: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for row in TABLE4_MODELS.values():
        sub = done[done["row"] == row] if len(done) else done
        if not len(sub):
            continue
        for metric, digits in (("psnr", 2), ("ssim", 3)):
            for col in TABLE4_COLUMNS:
                key = f"{metric}_{'avg' if col == 'Avg' else col}"
                if key not in sub:
                    continue
                rows.append({"row": f"{row} {metric.upper()}", "column": col,
                             "reproduced": round(float(sub[key].mean()), digits),
                             "n_seeds": int(sub["seed"].nunique()), "dataset": _dataset(sub)})
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def table4_baseline(cfgs: list[RunConfig]) -> pd.DataFrame:
    """Copy-last-frame's PSNR and SSIM rows ("trivial baseline: ... PSNR" / "... SSIM") on the runs' test set."""
    if not cfgs:
        return pd.DataFrame(columns=CELL_COLUMNS)
    parts = []
    for metric in ("psnr", "ssim"):
        cols = {c: f"{metric}_{'avg' if c == 'Avg' else c}" for c in TABLE4_COLUMNS}
        b = baseline_cells(cfgs[0], cols)
        parts.append(b.assign(row=b["row"] + f" {metric.upper()}"))
    return pd.concat(parts, ignore_index=True)


def table4_figure(tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """PSNR and SSIM vs predicted step: ours solid, the paper's dashed in the same colour, the trivial
    baseline (copy the last frame) dotted grey."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.arange(1, TABLE4_STEPS + 1)
    cols = TABLE4_COLUMNS[:-1]
    for ax, metric in zip(axes, ("PSNR", "SSIM")):
        for i, row in enumerate(TABLE4_MODELS.values()):
            sub = tidy[tidy["row"] == f"{row} {metric}"].set_index("column").reindex(cols)
            colour = f"C{i}"
            if sub["reproduced"].notna().any():
                ax.plot(steps, sub["reproduced"], "-o", ms=3, color=colour, label=f"{row} (ours)")
            if sub["paper"].notna().any():
                ax.plot(steps, sub["paper"], "--", color=colour, alpha=0.7, label=f"{row} (paper, KTH)")
        base = tidy[tidy["row"].str.startswith(BASELINE_ROW) & tidy["row"].str.endswith(metric)]
        if len(base):
            b = base.set_index("column").reindex(cols)["reproduced"]
            ax.plot(steps, b, ":", color="0.4", lw=2, label=base["row"].iloc[0].replace(f" {metric}", ""))
        ax.set_xlabel("predicted step")
        ax.set_ylabel(metric + (" (dB)" if metric == "PSNR" else ""))
        ax.set_xticks(steps)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    data = _dataset(tidy[~tidy["row"].str.startswith(BASELINE_ROW)].dropna(subset=["dataset"])) or "no runs"
    fig.suptitle(f"deeprnn Table 4: prediction quality per step, 10 observed frames ({scale} scale)\nours on "
                 f"{data.replace('+', ' + ')}", fontsize=8)
    return save_figure(fig, out)


def table4_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    tidy = comparison(load_reference("deeprnn", "table4"),
                      pd.concat([table4_cells(_done(runs_root, cfgs)), table4_baseline(cfgs)]), scale)
    files = write_table(tidy, out_dir / "tables" / "deeprnn", "table4",
                        "deeprnn Table 4: video prediction, PSNR / SSIM per predicted step (10 frames observed)",
                        columns=TABLE4_COLUMNS)
    files.append(table4_figure(tidy, out_dir / "figures" / "deeprnn" / "table4.png", scale))
    return files


# The 10-frame means of deeprnn 4.3's prose ("1.8% on PSNR for 10-frame prediction") as claim values: per
# finished run, the mean of its final psnr_T1..psnr_T10 (ssim likewise), a row labelled like the run plus
# derived "T1-T10 mean" (metrics psnr_mean_T1_T10, ssim_mean_T1_T10)
TABLE4_FIRST, FIRST_STEPS = "T1-T10 mean", 10


def table4_claim_values(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    steps = [f"T{k}" for k in range(1, FIRST_STEPS + 1)]
    rows = []
    for cfg, (_, r) in zip(cfgs, load_results(runs_root, cfgs).iterrows()):  # one result row per config
        keys = [f"{m}_{t}" for m in ("psnr", "ssim") for t in steps]
        if r["status"] == "done" and all(k in r and pd.notna(r[k]) for k in keys):
            rows.append({**cfg.labels, DERIVED: TABLE4_FIRST, "seed": cfg.seed, "status": "done",
                         **{f"{m}_mean_T1_T{FIRST_STEPS}": float(np.mean([r[f"{m}_{t}"] for t in steps]))
                            for m in ("psnr", "ssim")}})
    return pd.DataFrame(rows)


def table4_claim_arms(cfgs: list[RunConfig]) -> list[dict]:
    return [{**c.labels, DERIVED: TABLE4_FIRST} for c in cfgs]


# ---------------------------------------------------------------- scs Table 7: radar echo nowcasting
TABLE7_PS = (0.0, 0.3, 0.5)
TABLE7_COLUMNS = {"MSE": "test_mse", "CSI": "test_csi", "FAR": "test_far", "POD": "test_pod", "COR": "test_cor"}
TABLE7_SCALES = {
    "smoke": dict(epochs=1, lr=1e-3, batch_size={"nowcast_convlstm": 2, "nowcast_scs15": 2},
                  data_kw=dict(n_in=5, n_out=5, size=16, n_train=4, n_test=2),
                  model_kw={"nowcast_convlstm": dict(width=4, depth=15), "nowcast_scs15": dict(width=4)}),
    # 32 px maps on 4x4 patches, width 8. Depth 5 (one SCS skip block) for both nets, a choice: at width 8
    # the 15-layer nets do not train within a CPU budget (measured: SCS-15's loss stays at the zero
    # predictor's over 160 steps, its gradients explode; ConvLSTM-15's first-layer gradients are ~1e-11),
    # SCS-5 passes the copy-last-frame baseline in ~150 steps. lr 3e-3, 256 steps per run.
    # Issue 18, fixed from a pilot of persistence and the ConvLSTM before any SCS run: with the sigmoid output
    # the ConvLSTM baseline had collapsed (CSI 0.09, POD 0.12 against persistence's 0.53 / 0.60: it
    # predicted almost no rain), so "SCS >> ConvLSTM" was measured against nothing. Both nets now predict
    # the change from the last map (`residual=True`, zero-initialised: the untrained net is persistence).
    # Pilot, seed 0, 512 test sequences: persistence MSE 0.0458 / CSI 0.547 / FAR 0.190 / POD 0.616;
    # residual ConvLSTM-5 after the same 256 steps 0.0121 / 0.801 / 0.142 / 0.923 (clearly above
    # persistence, below the ceiling). n_test 512 (was 128).
    "cpu": dict(epochs=8, lr=3e-3, batch_size={"nowcast_convlstm": 16, "nowcast_scs15": 16},
                data_kw=dict(n_in=5, n_out=5, size=32, n_train=512, n_test=512),
                model_kw={"nowcast_convlstm": dict(width=8, depth=5, residual=True),
                          "nowcast_scs15": dict(width=8, depth=5, residual=True)}),
    # scs Table 8 (precipitation): batch 8 / 4, lr 1e-4, 15 layers, feature dimension 64 / 128. Maps 224 x 224
    # (5.8 prints a 224 x 244 crop; 224 is taken as meant). Epochs: a choice (not in the paper)
    "paper": dict(epochs=20, lr=1e-4, batch_size={"nowcast_convlstm": 8, "nowcast_scs15": 4},
                  data_kw=dict(n_in=5, n_out=5, size=224),
                  model_kw={"nowcast_convlstm": dict(width=64, depth=15), "nowcast_scs15": dict(width=128)}),
}


def stsgd_decay(p: float, epochs: int) -> tuple:
    """STSGD p from its initial value down to 0 over training (scs 5.2: "as the training goes on, p
    decreases to 0"): p for the first third of the epochs, p/2 for the second, 0 for the last.
    Choice: the paper gives the start only. p = 0 is plain SGD (the schedule stays at 0)."""
    if p == 0:
        return ((0, 0.0),)
    a = max(1, epochs // 3)
    b = max(a + 1, (2 * epochs) // 3)
    return ((0, float(p)), (a, round(p / 2, 4)), (b, 0.0))


def table7_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    s = scaled(TABLE7_SCALES, scale)
    dataset = "radar" if data_root else "builtin"
    grid = [("nowcast_convlstm", None, "ConvLSTM [50]")] + [("nowcast_scs15", p, f"SCS p={p:.1f}") for p in TABLE7_PS]
    cfgs = []
    for model, p, row in grid:
        for seed in range(seeds):
            cfg = RunConfig(experiment="scs.table7", scale=scale, task="nowcast", model=model, seed=seed,
                            model_kw=dict(s["model_kw"][model]), dataset=dataset, data_root=data_root,
                            data_kw=dict(s["data_kw"]), epochs=s["epochs"], batch_size=s["batch_size"][model],
                            lr=s["lr"], grad_clip=5.0,
                            stsgd_schedule=stsgd_decay(p, s["epochs"]) if p is not None else (),
                            labels=dict(row=row, p=p))
            validate(cfg)
            cfgs.append(cfg)
    return cfgs


def table7_cells(done: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for row in dict.fromkeys(done["row"]) if len(done) else ():
        sub = done[done["row"] == row]
        for col, key in TABLE7_COLUMNS.items():
            if key in sub:
                rows.append({"row": row, "column": col, "reproduced": round(float(sub[key].mean()), 5),
                             "n_seeds": int(sub["seed"].nunique()), "dataset": _dataset(sub)})
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def table7_figure(tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """One panel per metric: bars of ours beside the paper's, one pair per model; the trivial baseline
    (persistence) a dotted line."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cols = list(TABLE7_COLUMNS)
    is_base = tidy["row"].str.startswith(BASELINE_ROW)
    base, tidy = tidy[is_base], tidy[~is_base]
    rows = list(dict.fromkeys(tidy["row"]))
    fig, axes = plt.subplots(1, len(cols), figsize=(3 * len(cols), 3.4))
    x = np.arange(len(rows))
    for ax, col in zip(axes, cols):
        sub = tidy[tidy["column"] == col].set_index("row").reindex(rows)
        ax.bar(x - 0.2, sub["paper"], 0.4, color="0.7", label="paper (REEC-2018)")
        ax.bar(x + 0.2, sub["reproduced"], 0.4, color="C0", label="ours")
        b = base[base["column"] == col]["reproduced"]
        if len(b):
            ax.axhline(float(b.iloc[0]), color="0.3", ls=":", lw=1.5, label=base["row"].iloc[0])
        ax.set_xticks(x)
        ax.set_xticklabels(rows, rotation=45, ha="right", fontsize=7)
        ax.set_title(col + (" (lower is better)" if col in ("MSE", "FAR") else ""), fontsize=9)
    axes[0].legend(fontsize=7)
    data = _dataset(tidy.dropna(subset=["dataset"])) or "no runs"
    fig.suptitle(f"scs Table 7: nowcasting 5 -> 5 frames ({scale} scale; ours on {data})", fontsize=9)
    return save_figure(fig, out)


def table7_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    base = baseline_cells(cfgs[0], TABLE7_COLUMNS) if cfgs else None
    tidy = comparison(load_reference("scs", "table7"), pd.concat([table7_cells(_done(runs_root, cfgs)), base]), scale)
    files = write_table(tidy, out_dir / "tables" / "scs", "table7",
                        "scs Table 7: radar echo nowcasting (5 frames in, 5 out), ConvLSTM vs SCS at STSGD p",
                        columns=list(TABLE7_COLUMNS))
    files.append(table7_figure(tidy, out_dir / "figures" / "scs" / "table7.png", scale))
    return files
