"""Auto-driving experiments of the scs paper (section 5.7): steering-angle prediction.

- ``scs.table5``: SCS (STSGD p = 0, 0.3, 0.5) vs CNN+LSTM vs CNN on comma.ai and LiVi-Set, observed
  length 7 and 3 (the CNN sees the current frame only: "length=1"); accuracy at lambda = 6 and 3
  degrees (eq. 24) and MSE of the sigmoid-normalised angle. Also ``figures/scs/table5.png``: accuracy vs p.
- ``scs.table6``: accuracy of T^1 (the spatial stream's prediction) and T^2 (the temporal stream's) by
  road type on LiVi-Set, read from the LiVi SCS run of Table 5 at p = 0.5, length 7 (the paper's best
  cell; r_s = r_t = the main goal in every SCS run, so nothing trains twice). Also ``figures/scs/table6.png``.

Task module: ``benchmark/train/steering.py`` (labels, loss, eq. 24, per-road-type accuracy).

At ``smoke`` / ``cpu`` scale both data sets are built-in variants of the generated roads
(``SteeringSequences``): "LiVi" has all four road types (crossroads, T-junction, curve, straight), "Comma"
curves and straight roads only (highway-like; comma.ai labels no road types), each from its own data seed.
At ``paper`` scale ``--data-root`` names one data set (comma.ai or LiVi-Set, told apart by its layout) and
only that data set's rows are run; run the id once per data set.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...config import RunConfig, validate
from ...reference import load_reference
from ...results import load_results
from ...tables import BASELINE_ROW, baseline_cells, comparison, write_table
from .prediction import stsgd_decay  # the scs STSGD schedule, shared with scs.table7)
from ...figures import plt, save_figure
from .. import scaled

CELL_COLUMNS = ["row", "column", "reproduced", "n_seeds", "dataset"]
PS = (0.0, 0.3, 0.5)
LENGTHS = (7, 3)
LAMBDAS = (6, 3)
# reference row prefix -> built-in variant (smoke/cpu) and real data set name (paper)
DATASETS = {
    "LiVi": dict(name="livi", builtin=dict(road_types=("crossroads", "t-junction", "curve", "straight"), seed=0)),
    "Comma": dict(name="commaai", builtin=dict(road_types=("curve", "straight"), seed=1)),
}
MODELS = {"scs": "steer_scs", "cnn_lstm": "steer_cnn_lstm", "cnn": "steer_cnn"}

STEER_SCALES = {
    # one training step, one test batch (the stand-in's first test windows hold all four road types)
    "smoke": dict(epochs=1, batch_size=8, lr=1e-3, scheme_kw=dict(precise_bn=8),
                  data_kw=dict(n_train=8, n_test=8, size=(12, 36)),
                  model_kw={"scs": dict(width=2), "cnn_lstm": dict(width=2), "cnn": dict(width=2)}),
    # 24 x 72 frames (the paper's 64 x 192 aspect), 240 training / 96 test windows, one per generated
    # sequence, 4 epochs of batch 16 (60 Adam steps). lr 3e-3 (SCS) and 6e-3 (CNN+LSTM, CNN): Table 8's 1:2
    # ratio, scaled up because 1e-4 / 2e-4 leave every net at the mean angle in 60 steps (measured: at 3e-3 the
    # ResNet-18 baselines start learning only after ~60 steps, at 6e-3 after ~30; the SCS after ~10).
    # Width 4: the 17-layer SCS has 4..32 channels, the ResNet-18s 4..32 (the grid must fit ~6 min on a core).
    # precise_bn=96: BatchNorm statistics re-estimated on 96 training windows before each evaluation (with
    # so few, large steps the running averages lag the weights: measured, the CNN+LSTM's last-epoch accuracy
    # fell from 70 to 25 with train loss still falling; 75 with the re-estimate; training is unchanged).
    # Issue 18: 96 test windows left every comparison inside the noise (the LiVi arms 89.6-91.6). Pilot of the
    # trivial baseline and one model (SCS p=0.5, length 7, LiVi, seed 0) on 512 test windows: the best
    # constant angle scores 83.7 (acc at 6 deg) / 80.4 (3 deg) / MSE 0.039 on LiVi (69.8 / 63.7 / 0.064 on
    # Comma: the mean angle is right on every straight road and crossing, wrong on curves), the SCS after the
    # same 60 steps 92.7 / 88.1 / 0.003: clearly above it and below the ceiling. Chosen: n_test 512, the
    # training unchanged (4x the steps would cost ~4x the 90-run grid).
    "cpu": dict(epochs=4, batch_size=16, lr={"scs": 3e-3, "cnn_lstm": 6e-3, "cnn": 6e-3}, scheme_kw=dict(precise_bn=96),
                data_kw=dict(n_train=240, n_test=512, size=(24, 72)),
                model_kw={"scs": dict(width=4), "cnn_lstm": dict(width=4), "cnn": dict(width=4)}),
    # scs Table 8 (auto driving): batch 128; lr 1e-4 (SCS) / 2e-4 (CNN+LSTM; the CNN, which Table 8 does not
    # list, takes the same: it is the same ResNet-18); feature dimension 512 (SCS width 64: 8 x 64 = 512
    # top channels; ResNet-18 512 features), ImageNet ResNet-18 for the CNNs; frames 192 x 64 (5.7).
    # Epochs: a choice (the paper gives none). Crop (top, left, height, width) of comma.ai's 160 x 320
    # frames: rows 40..146 (sky above, the hood below cut; 320 / 107 = 3:1 like 192 x 64), a choice;
    # LiVi-Set: no crop (its frame size depends on the copy; set data_kw["crop"] for yours).
    "paper": dict(epochs=20, batch_size=128, lr={"scs": 1e-4, "cnn_lstm": 2e-4, "cnn": 2e-4},
                  data_kw=dict(size=(64, 192), step=1),
                  crop={"commaai": (40, 0, 107, 320), "livi": None},
                  model_kw={"scs": dict(width=64), "cnn_lstm": dict(width=64, pretrained=True),
                            "cnn": dict(width=64, pretrained=True)}),
}
TABLE6_P, TABLE6_LENGTH, TABLE6_DATASET = 0.5, 7, "LiVi"
TABLE6_ROWS = {"crossroads": "Crossroads", "t_junction": "T-junction", "curve": "Curve road",
               "straight": "Straight road"}


def _row(kind: str, ds: str, p: float | None) -> str:
    if kind == "scs":
        return f"SCS model {ds} p={p:.1f}"
    return f"{'CNN+LSTM' if kind == 'cnn_lstm' else 'CNN'} {ds}"


def real_dataset(data_root: str) -> str:
    """Which real data set lies under ``data_root``: "commaai" (camera/*.h5) or "livi" (sequence folders)."""
    from ...data import commaai, livi

    if commaai.drive_names(data_root):
        return "commaai"
    if livi.sequences(data_root):
        return "livi"
    raise FileNotFoundError(f"--data-root {data_root} holds neither comma.ai nor LiVi-Set:\n"
                            + "\n".join(commaai.check_layout(data_root)[:1] + livi.check_layout(data_root)[:1]))


def steering_run(scale: str, seed: int, kind: str, ds: str, length: int, p: float | None,
                 data_root: str | None) -> RunConfig:
    s = scaled(STEER_SCALES, scale)
    data_kw = dict(s["data_kw"], observed=length)
    if data_root:
        dataset = DATASETS[ds]["name"]
        data_kw["crop"] = s.get("crop", {}).get(dataset)
    else:
        dataset = "builtin"
        data_kw.update(DATASETS[ds]["builtin"])
    lr = s["lr"][kind] if isinstance(s["lr"], dict) else s["lr"]
    cfg = RunConfig(experiment="scs.table5", scale=scale, task="steering", model=MODELS[kind], seed=seed,
                    model_kw=dict(s["model_kw"][kind]), dataset=dataset, data_root=data_root, data_kw=data_kw,
                    epochs=s["epochs"], batch_size=s["batch_size"], lr=lr, grad_clip=5.0,
                    stsgd_schedule=stsgd_decay(p, s["epochs"]) if p is not None else (),
                    scheme_kw=dict(s.get("scheme_kw", {})),
                    labels=dict(row=_row(kind, ds, p), kind=kind, data=ds, length=length, p=p))
    validate(cfg)
    return cfg


def table5_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    names = list(DATASETS)
    if data_root:
        real = real_dataset(data_root)
        names = [d for d in names if DATASETS[d]["name"] == real]
    grid = [("scs", length, p) for p in PS for length in LENGTHS] + [("cnn_lstm", length, None) for length in LENGTHS] \
        + [("cnn", 1, None)]
    return [steering_run(scale, seed, kind, ds, length, p, data_root)
            for ds in names for kind, length, p in grid for seed in range(seeds)]


def table6_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    if data_root and real_dataset(data_root) != DATASETS[TABLE6_DATASET]["name"]:
        raise ValueError("scs.table6 is on LiVi-Set: --data-root must hold LiVi-Set")
    return [steering_run(scale, seed, "scs", TABLE6_DATASET, TABLE6_LENGTH, TABLE6_P, data_root)
            for seed in range(seeds)]


# ---------------------------------------------------------------- outputs
def _done(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    res = load_results(runs_root, cfgs)
    return res[res["status"] == "done"] if len(res) else res


def _dataset(sub: pd.DataFrame) -> str:
    return ", ".join(sorted(set(sub["dataset"].dropna()))) if "dataset" in sub else ""


def _cell(sub: pd.DataFrame, row: str, column: str, key: str, digits: int) -> dict | None:
    if key not in sub or not sub[key].notna().any():
        return None
    return {"row": row, "column": column, "reproduced": round(float(sub[key].mean()), digits),
            "n_seeds": int(sub["seed"].nunique()), "dataset": _dataset(sub)}


def table5_cells(done: pd.DataFrame) -> pd.DataFrame:
    rows = []
    if len(done):
        for (row, length), sub in done.groupby(["row", "length"], sort=False):
            for lam in LAMBDAS:
                rows.append(_cell(sub, row, f"length={length} / λ={lam}", f"test_acc_l{lam}", 1))
            rows.append(_cell(sub, row, f"length={length} / MSE", "test_mse", 4))
    return pd.DataFrame([r for r in rows if r], columns=CELL_COLUMNS)


def table5_baseline(cfgs: list[RunConfig]) -> pd.DataFrame:
    """Per data set, the best constant angle's row ("trivial baseline <data set>: ...") under every observed
    length's columns, each measured on the test windows of a run of that data set and length."""
    parts = []
    for ds in DATASETS:
        for length in sorted({c.labels["length"] for c in cfgs if c.labels["data"] == ds}, reverse=True):
            cfg = next(c for c in cfgs if c.labels["data"] == ds and c.labels["length"] == length)
            cols = {f"length={length} / λ={lam}": f"test_acc_l{lam}" for lam in LAMBDAS}
            b = baseline_cells(cfg, {**cols, f"length={length} / MSE": "test_mse"})
            parts.append(b.assign(row=b["row"].str.replace(BASELINE_ROW, f"{BASELINE_ROW} {ds}", regex=False)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CELL_COLUMNS)


def table5_figure(tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """Accuracy (lambda = 6) vs STSGD p, one panel per data set: SCS per observed length (ours solid,
    paper dashed), CNN+LSTM and CNN as flat lines (ours)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(5.2 * len(DATASETS), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], DATASETS):
        for i, length in enumerate(LENGTHS):
            col = f"length={length} / λ=6"
            sub = tidy[(tidy["column"] == col)].set_index("row").reindex([_row("scs", ds, p) for p in PS])
            if sub["reproduced"].notna().any():
                ax.plot(PS, sub["reproduced"], "-o", color=f"C{i}", label=f"SCS, length {length} (ours)")
            ax.plot(PS, sub["paper"], "--", color=f"C{i}", alpha=0.6, label=f"SCS, length {length} (paper)")
        for j, (kind, length) in enumerate((("cnn_lstm", 7), ("cnn", 1))):
            sub = tidy[(tidy["row"] == _row(kind, ds, None)) & (tidy["column"] == f"length={length} / λ=6")]
            val = sub["reproduced"].dropna()
            if len(val):
                ax.axhline(float(val.iloc[0]), color=f"C{j + 2}", lw=1, ls="-",
                           label=f"{'CNN+LSTM, length 7' if kind == 'cnn_lstm' else 'CNN'} (ours)")
        base = tidy[tidy["row"].str.startswith(f"{BASELINE_ROW} {ds}:") & (tidy["column"] == "length=7 / λ=6")]
        if len(base):
            ax.axhline(float(base["reproduced"].iloc[0]), color="0.3", lw=1.5, ls=":",
                       label=base["row"].iloc[0].replace(f"{BASELINE_ROW} {ds}: ", "trivial baseline: "))
        ax.set_xlabel("initial STSGD p")
        ax.set_ylabel("accuracy at λ = 6 (%)")
        ax.set_xticks(PS)
        ax.set_title(f"{ds}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    data = _dataset(tidy[~tidy["row"].str.startswith(BASELINE_ROW)].dropna(subset=["dataset"])) or "no runs"
    fig.suptitle(f"scs Table 5: steering accuracy vs STSGD p ({scale} scale; ours on {data})", fontsize=8)
    return save_figure(fig, out)


def _caption(scale: str, what: str) -> str:
    if scale == "paper":
        return what
    return (what + f" -- {scale} scale: both 'Comma' and 'LiVi' rows are built-in generated-road variants "
            "(LiVi: crossroads / T-junction / curve / straight; Comma: curve / straight), not the real data "
            "sets; angles are steering-wheel degrees (15 x the generated road-wheel angle)")


def table5_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    tidy = comparison(load_reference("scs", "table5"),
                      pd.concat([table5_cells(_done(runs_root, cfgs)), table5_baseline(cfgs)]), scale)
    columns = [f"length={n} / {m}" for n in (7, 3, 1) for m in ("λ=6", "λ=3", "MSE")]
    files = write_table(tidy, out_dir / "tables" / "scs", "table5",
                        _caption(scale, "scs Table 5: steering accuracy (%) at λ = 6, 3 (eq. 24) and MSE, SCS at "
                                        "STSGD p vs CNN+LSTM vs CNN, observed length 7 / 3 / 1"), columns=columns)
    files.append(table5_figure(tidy, out_dir / "figures" / "scs" / "table5.png", scale))
    return files


def table6_cells(done: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, row in TABLE6_ROWS.items():
        for lam in LAMBDAS:
            t1 = _cell(done, row, f"T^1 / λ={lam}", f"t1_acc_l{lam}_{key}", 1) if len(done) else None
            t2 = _cell(done, row, f"T^2 / λ={lam}", f"t2_acc_l{lam}_{key}", 1) if len(done) else None
            rows += [t1, t2]
            if t1 and t2:
                gap = (done[f"t2_acc_l{lam}_{key}"] - done[f"t1_acc_l{lam}_{key}"]).mean()
                rows.append(dict(t2, column=f"T^2 - T^1 / λ={lam}", reproduced=round(float(gap), 1)))
    return pd.DataFrame([r for r in rows if r], columns=CELL_COLUMNS)


def table6_figure(tidy: pd.DataFrame, out: Path, scale: str) -> Path:
    """T^2 - T^1 accuracy gap (lambda = 6) by road type: ours beside the paper's."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sub = tidy[tidy["column"] == "T^2 - T^1 / λ=6"].set_index("row").reindex(list(TABLE6_ROWS.values()))
    x = np.arange(len(sub))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    ax.bar(x - 0.2, sub["paper"], 0.4, color="0.7", label="paper (LiVi-Set)")
    ax.bar(x + 0.2, sub["reproduced"], 0.4, color="C0", label="ours")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(sub.index, fontsize=8)
    ax.set_ylabel("T² − T¹ accuracy at λ = 6 (points)")
    ax.legend(fontsize=7)
    data = _dataset(tidy.dropna(subset=["dataset"])) or "no runs"
    ax.set_title(f"scs Table 6: temporal minus spatial sub-goal accuracy by road type\n({scale} scale; ours on {data})",
                 fontsize=8)
    return save_figure(fig, out)


def table6_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    tidy = comparison(load_reference("scs", "table6"), table6_cells(_done(runs_root, cfgs)), scale)
    columns = [f"{t} / λ={lam}" for t in ("T^1", "T^2", "T^2 - T^1") for lam in LAMBDAS]
    files = write_table(tidy, out_dir / "tables" / "scs", "table6",
                        _caption(scale, f"scs Table 6: accuracy (%) of T^1 (spatial stream) and T^2 (temporal "
                                        f"stream) by road type, LiVi, SCS p={TABLE6_P}, length {TABLE6_LENGTH} "
                                        "(r_s = r_t = the main goal)"), columns=columns)
    files.append(table6_figure(tidy, out_dir / "figures" / "scs" / "table6.png", scale))
    return files
