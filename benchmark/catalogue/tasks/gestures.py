"""prernn section 4.2, online hand-gesture recognition on NVGesture with C3D and CTC: Table 4 (accuracy of
traditional RNNs vs PreRNN vs PreRNN-SIH, VRNN/LSTM/GRU), Fig. 4 (training curves, VRNN and LSTM) and Table 6
(the best PreRNN model beside published methods). Fig. 4 and Table 6 read the Table 4 runs (the same configs:
nothing trains twice); Table 6 adds, at paper scale only, the colour stream and the colour + depth fusion.

The paper states: C3D pretrained on Sports1M as the base CNN ("the method of [28]"), CTC loss, colour and
depth streams, NVGesture's subject split (1050 / 482), SGD with momentum; fc6 and/or fc7 made recurrent for
PreRNN / PreRNN-SIH, traditional RNNs built on fc7. Everything else is our choice:

- Which stream Table 4 is on: depth (``TABLE4_SENSOR``). The paper does not say; Table 4's best cell
  (84.4%) is exactly Table 6's "Ours, Depth" (84.4%), and no Table 4 cell matches the colour (76.5%) or
  colour + depth (85.0%) rows.
- ``paper``: 80 frames per gesture (NVIDIA's reader), 112 x 112 frames (C3D's input), consecutive 16-frame
  clips (C3D's length: 5 clips per gesture), pixels 0-255 minus mid-grey, dropout 0.5 (C3D's), the true-size
  C3D with Sports1M weights from ``$BENCHMARK_C3D_WEIGHTS`` (a converted state dict; neither timm nor
  torchvision has C3D, so without it the run stops with the conversion instructions); batch 8, lr 1e-4,
  30 epochs (the paper gives no schedule); the shared loop uses Adam, not the paper's SGD with momentum.
- ``cpu``: the built-in gesture stand-in (one gesture per video, like NVGesture's segmented test videos),
  6 classes, 48 frames of 16 x 16 px (3 clips of 16), C3D at width 1/16 (fc6/fc7: 256 units) with a
  BatchNorm after each conv (``norm="bn"``: without it the from-scratch C3D does not train in this budget).
  16 px, not 32: the C3D costs ~15 ms per 32-px clip on one core, ~3-4 ms at 16 px, and the 21-run grid has
  ~15 s a run. Sports1M weights exist only at width 1, and trained from scratch with CTC no model leaves
  chance level within the budget (measured: 20 epochs at 15.6%), so the "pretrained C3D" is a stand-in:
  the narrow C3D pretrained once as a clip classifier (all 8 stand-in gestures + "none") on other stand-in
  videos (``benchmark.train.gesture.pretrain_standin``, cached in ``~/.cache/benchmark``). It is pretrained
  on a closely related task (unlike Sports1M), which favours any model that keeps its fc layers intact.
  Then 24 epochs of 192 videos, batch 16, lr 5e-4; 512 test videos, frames with noise 0.3 (issue 18: with 96
  test videos at noise 0.05 every net sat at 96-100%; see ``GESTURE_SCALES``).
- ``smoke``: seconds; numbers mean nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.ticker import MaxNLocator
import pandas as pd

from ...claims import DERIVED
from ...config import RunConfig, validate
from ...reference import load_reference
from ...results import load_curves, load_results, run_dir, run_status
from ...tables import baseline_cells, comparison, write_table
from .layouts import COLUMNS, KINDS, layout_cells
from ...figures import plt, save_figure
from .. import scaled

PAPER = "prernn"
TABLE4 = "prernn.table4"
TABLE6 = "prernn.table6"
TABLE4_SENSOR = "depth"   # see the module docstring

# ---------------------------------------------------------------- scales
# The stand-in "pretrained C3D" of the cpu scale: 256 videos of 48 frames from data seed 1000 (the task's
# videos use seed 0), clips of 16 every 8 frames (1280 clips), 300 Adam steps of 32 clips (measured: the
# grid's one-layer models then reach 60-98% within 4 epochs); trained once, ~45 s on one core.
STANDIN_CPU = dict(n=256, T=48, size=16, num_classes=8, seed=1000, clip_len=16, steps=300, batch=32, lr=1e-3)
GESTURE_SCALES = {
    "smoke": dict(dataset="builtin", epochs=1, batch_size=4, lr=1e-3,
                  data_kw=dict(n_train=4, n_test=4, T=32, size=16, num_classes=5, max_gestures=1, clip_len=16),
                  model_kw=dict(width=1 / 32, norm="bn",
                                pretrained=dict(n=2, T=32, size=16, num_classes=8, seed=1000, clip_len=16, steps=2,
                                                batch=4, lr=1e-3))),
    # 192 training videos; first 8 epochs (96 steps; measured: after 4 the stacked 2-layer LSTM / GRU nets were
    # still at chance): ~10 s of CPU a run, 21 runs + the stand-in ~4 min of one core.
    # lr 5e-4: fine-tuning the stand-in (1e-3 pretrained it); with 1e-3 most runs lost 10-70 points of test
    # accuracy in their last epoch (measured), with 5e-4 none did. Dropout 0.5 (the nets' default, C3D's) kept.
    # Issue 18: with 96 test videos of noise 0.05 Table 4 sat at the ceiling (96-100%). At cpu the test set is
    # 512 videos (the rule for classification claims) and the frame noise 0.3, chosen by a rule fixed before
    # its pilot: the lowest noise of (0.05, 0.15, 0.3, 0.5) at which the traditional 1-layer LSTM (seed 0,
    # 512 test videos) scores <= 90% while staying >= twice the trivial baseline (16.6, the most common
    # training label sequence). Pilot: 98.6, 97.5, 63.9, 11.1.
    # Then, with the 8-epoch Table 4 at 5 seeds, the stacked 2-layer nets sat at or under that baseline
    # (traditional LSTM 9.2) with their CTC loss still falling. Second rule, fixed before its pilot: the fewest
    # epochs of (16, 24) after which the traditional 2-layer LSTM (seed 0) scores >= twice the baseline (33.2),
    # else 24 and the collapse reported. Pilot 2: 18.2 at 16 epochs, 19.9 at 24 (train loss 1.18: it over-fits
    # the 192 videos rather than failing to train), so 24 epochs, and the 2-layer collapse is a result.
    "cpu": dict(dataset="builtin", epochs=24, batch_size=16, lr=5e-4,
                data_kw=dict(n_train=192, n_test=512, T=48, size=16, num_classes=6, max_gestures=1, clip_len=16,
                             noise=0.3),
                model_kw=dict(width=1 / 16, norm="bn", pretrained=STANDIN_CPU)),
    # NVGesture: see the module docstring (batch, lr, epochs are ours: the paper gives no schedule).
    "paper": dict(dataset="nvgesture", epochs=30, batch_size=8, lr=1e-4,
                  data_kw=dict(sensor=TABLE4_SENSOR, max_frames=80, size=(112, 112), clip_len=16,
                               pixel_scale=255.0, pixel_mean=128.0),
                  model_kw=dict(width=1.0)),
}

# Table 4 has Table 2's layout: KINDS, COLUMNS, layout_cells from .layouts


def model_name(family: str, kind: str, suffix: str) -> str:
    return f"{family}_c3d_{kind}_{suffix}"


def scale_settings(scale: str, data_root: str | None) -> dict:
    """The scale's settings; at paper scale the C3D weights come from ``$BENCHMARK_C3D_WEIGHTS`` (``True``
    when unset: the run then stops with the instructions to convert them, ``models.backbones.C3D_NO_WEIGHTS``)."""
    s = scaled(GESTURE_SCALES, scale)
    s["dataset"] = "nvgesture" if data_root else s["dataset"]
    if scale == "paper":
        s["model_kw"]["pretrained"] = os.environ.get("BENCHMARK_C3D_WEIGHTS") or True
    pre = s["model_kw"].get("pretrained")
    if isinstance(pre, dict) and (pre["size"], pre["clip_len"]) != (s["data_kw"]["size"], s["data_kw"]["clip_len"]):
        raise ValueError(f"{scale}: the stand-in pretraining's frame size / clip length differ from the task's")
    return s


def gesture_run(scale: str, seed: int, data_root: str | None, model: str, labels: dict,
                experiment: str = TABLE4, model_kw: dict | None = None, **data_over) -> RunConfig:
    """One run of the gesture task; ``model_kw`` updates the scale's, ``data_over`` the real data's data_kw."""
    s = scale_settings(scale, data_root)
    data_kw = {**s["data_kw"], **(data_over if s["dataset"] != "builtin" else {})}
    cfg = RunConfig(experiment=experiment, scale=scale, task="gesture", model=model, seed=seed,
                    model_kw={**s["model_kw"], **(model_kw or {})}, dataset=s["dataset"], data_root=data_root,
                    data_kw=data_kw,
                    epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], grad_clip=5.0, labels=labels)
    validate(cfg)
    return cfg


def table4_runs(scale: str, seeds: int, data_root: str | None, only=None) -> list[RunConfig]:
    """One run per (row, column, seed) of Table 4 (PreRNN-SIH VRNN does not exist: the paper's '-').
    ``only``: a predicate on (row, column) to keep a subset (the same configs, so the same run dirs)."""
    return [gesture_run(scale, seed, data_root, model_name(*parts), labels)
            for parts, labels in layout_cells(only) for seed in range(seeds)]


def _cells(results: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    done = results[results["status"] == "done"] if len(results) else results
    if not len(done):
        return pd.DataFrame(columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    g = done.groupby(["row", "column"], sort=False)
    return pd.DataFrame({"reproduced": g[metric].mean().round(1), "n_seeds": g["seed"].nunique(),
                         "dataset": g["dataset"].agg(lambda s: ", ".join(sorted(set(map(str, s)))))}).reset_index()


# ---------------------------------------------------------------- Table 4
def table4_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    results = load_results(runs_root, cfgs)
    # what a predictor that learns nothing scores on the runs' test set, under every column
    base = baseline_cells(cfgs[0], {c: "test_acc" for c in COLUMNS}) if cfgs else None
    tidy = comparison(load_reference(PAPER, "table4"), pd.concat([_cells(results), base]), scale)
    files = write_table(tidy, out_dir / "tables" / PAPER, "table4",
                        "prernn Table 4: gesture classification accuracy (%) with C3D + CTC, paper: NVGesture "
                        f"(depth stream assumed); ours: {scale} scale", columns=list(COLUMNS))
    keep = [c for c in ("row", "column", "model", "seed", "status", "test_acc", "test_acc_avg", "test_loss",
                        "train_loss", "params_rnn", "params_total") if c in results]
    csv = out_dir / "tables" / PAPER / "table4_runs.csv"
    results[keep].to_csv(csv, index=False)
    return files + [csv]


# ---------------------------------------------------------------- Fig. 4: training curves
FIG4_ROWS = ("VRNN", "LSTM")   # the paper's two panels (left VRNN, right LSTM)
FAMILY_COLOURS = {"tra": plt.get_cmap("Blues"), "prernn": plt.get_cmap("Oranges"), "prernn_sih": plt.get_cmap("Greens")}


def fig4_runs(scale, seeds, root):
    return table4_runs(scale, seeds, root, only=lambda row, col: row in FIG4_ROWS)


def fig4_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    """Training CTC loss (top) and test accuracy (bottom) per epoch, VRNN (left) and LSTM (right), one line
    per Table 4 column (blue: traditional, orange: PreRNN, green: PreRNN-SIH), mean over seeds."""
    curves = load_curves(runs_root, cfgs)
    cols = ["row", "column", "family", "model", "seed", "epoch", "train_loss", "test_loss", "test_acc"]
    curves = curves.reindex(columns=cols) if len(curves) else pd.DataFrame(columns=cols)
    tdir, fdir = out_dir / "tables" / PAPER, out_dir / "figures" / PAPER
    tdir.mkdir(parents=True, exist_ok=True)
    fdir.mkdir(parents=True, exist_ok=True)
    csv = tdir / "fig4_curves.csv"
    curves.to_csv(csv, index=False)

    fig, axes = plt.subplots(2, len(FIG4_ROWS), figsize=(11, 7.5), sharex=True, squeeze=False)
    for j, row in enumerate(FIG4_ROWS):
        sub = curves[curves["row"] == row]
        for col, (family, _) in COLUMNS.items():
            c = sub[sub["column"] == col]
            if not len(c):
                continue
            n_fam = sum(f == family for f, _ in COLUMNS.values())
            k = [cc for cc, (f, _) in COLUMNS.items() if f == family].index(col)
            colour = FAMILY_COLOURS[family](0.45 + 0.5 * (k + 1) / n_fam)
            g = c.groupby("epoch")
            axes[0, j].plot(g["train_loss"].mean().index, g["train_loss"].mean().values, "-o", ms=3, color=colour,
                            label=col)
            axes[1, j].plot(g["test_acc"].mean().index, g["test_acc"].mean().values, "-o", ms=3, color=colour,
                            label=col)
        axes[0, j].set_title(f"{row}", fontsize=10)
        axes[0, j].set_ylabel("training CTC loss")
        axes[1, j].set_ylabel("test accuracy (%)")
        axes[1, j].set_xlabel("epoch")
        axes[1, j].set_ylim(-2, 102)
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(sub):
            axes[0, j].legend(fontsize=7)
    fig.suptitle(f"prernn Fig. 4: training of traditional RNNs vs PreRNN vs PreRNN-SIH on C3D + CTC "
                 f"({scale} scale, mean over seeds)", fontsize=10)
    fig.tight_layout()
    png = fdir / "fig4.png"
    save_figure(fig, png, dpi=110, tight=False)
    return [csv, png]


# Convergence speed as a claim value (the prernn.fig4 claims): for every finished run, the mean of its
# training loss over its epochs (metrics.jsonl), a row labelled like the run plus derived "loss curve"
LOSS_CURVE = "loss curve"


def curve_claim_values(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    rows = []
    for cfg in cfgs:
        if run_status(run_dir(runs_root, cfg)) != "done":
            continue
        curve = load_curves(runs_root, [cfg])
        if "train_loss" in curve and curve["train_loss"].notna().any():
            rows.append({**cfg.labels, DERIVED: LOSS_CURVE, "seed": cfg.seed, "status": "done",
                         "train_loss_mean_over_epochs": float(curve["train_loss"].mean())})
    return pd.DataFrame(rows)


def curve_claim_arms(cfgs: list[RunConfig]) -> list[dict]:
    return [{**c.labels, DERIVED: LOSS_CURVE} for c in cfgs]


# ---------------------------------------------------------------- Table 6
# The best PreRNN model of the paper's Table 4: PreRNN VRNN fc6/7 (84.4%, tied with PreRNN-SIH GRU fc6; Table 6
# prints the same 84.4% for "Ours, Depth"). Chosen before training, so the cell never depends on a selection
# among our own test results.
TABLE6_ROW, TABLE6_COLUMN = "VRNN", "PreRNN / fc6/7"
TABLE6_MODEL = model_name(*COLUMNS[TABLE6_COLUMN][:1], KINDS[TABLE6_ROW], COLUMNS[TABLE6_COLUMN][1])
STREAM_ROWS = {"color": "Ours Color", "depth": "Ours Depth"}
FUSION_ROW = "Ours Color + Depth"
# The paper's "Baseline (w/o RNN)" (81.0% colour + depth; "significantly outperform the baseline by 4.0%"): the
# same C3D, input, CTC loss and training as "Ours" with the recurrent layer replaced by the per-clip output
# layer: C3D -> fc6 -> fc7 (stand-in / Sports1M pretrained, feedforward) -> a new output layer per clip. It is
# Table 4's traditional net with no recurrent layer (models.nets.prernn_nets.tra_net, ``num_layers=0``: the
# traditional rows' backbone, fc7 tap and output layer), so it differs from them only by the recurrence. One
# run per stream and seed, as "Ours"; the paper prints only the baseline's colour + depth fusion.
BASELINE_MODEL, BASELINE_KW = model_name("tra", "vrnn", 1), dict(num_layers=0)
BASELINE_METHOD = "w/o RNN"
BASELINE_ROWS = {"color": "Baseline (w/o RNN) Color", "depth": "Baseline (w/o RNN) Depth"}
BASELINE_FUSION_ROW = "Baseline (w/o RNN) Color + Depth"


def _is_baseline(cfg: RunConfig) -> bool:
    return cfg.labels.get("method") == BASELINE_METHOD


def table6_runs(scale: str, seeds: int, data_root: str | None) -> list[RunConfig]:
    """The Table 4 run of the chosen model (the depth stream; the built-in stand-in's single stream stands
    for it) and, on NVGesture, the same model on the colour stream (fused with depth in the outputs); then
    the baseline without RNN on the same stream(s)."""
    cfgs = table4_runs(scale, seeds, data_root, only=lambda row, col: (row, col) == (TABLE6_ROW, TABLE6_COLUMN))
    if data_root:
        cfgs += [gesture_run(scale, seed, data_root, TABLE6_MODEL,
                             dict(row=STREAM_ROWS["color"], column="Accuracy", stream="color"),
                             experiment=TABLE6, sensor="color") for seed in range(seeds)]
    streams = ("depth", "color") if data_root else ("depth",)
    cfgs += [gesture_run(scale, seed, data_root, BASELINE_MODEL,
                         dict(row=BASELINE_ROWS[st], column="Accuracy", stream=st, method=BASELINE_METHOD),
                         experiment=TABLE6, model_kw=BASELINE_KW, sensor=st)
             for st in streams for seed in range(seeds)]
    return cfgs


def _stream(cfg: RunConfig) -> str:
    return cfg.data_kw.get("sensor", TABLE4_SENSOR) if cfg.dataset != "builtin" else TABLE4_SENSOR


def _table6_row(cfg: RunConfig) -> str:
    return (BASELINE_ROWS if _is_baseline(cfg) else STREAM_ROWS)[_stream(cfg)]


def fused_by_seed(runs_root: Path, cfgs: list[RunConfig]) -> dict[str, dict[int, float]]:
    """Colour + depth late fusion (the average of the two streams' clip probabilities) of "Ours" and of the
    baseline, per seed where both streams' runs are done: {fusion row: {seed: accuracy}}."""
    from ...train import gesture as task

    pairs: dict[tuple[bool, int], dict[str, RunConfig]] = {}
    for cfg in cfgs:
        pairs.setdefault((_is_baseline(cfg), cfg.seed), {})[_stream(cfg)] = cfg
    out: dict[str, dict[int, float]] = {}
    for (base, seed), pair in pairs.items():
        if set(pair) == {"color", "depth"} and all(task.is_done(runs_root, c) for c in pair.values()):
            row = BASELINE_FUSION_ROW if base else FUSION_ROW
            out.setdefault(row, {})[seed] = task.fused_accuracy(runs_root, [pair["color"], pair["depth"]])
    return out


# The colour + depth fusion as a claim value (prernn.table6.fusion_gt_baseline), one row per seed labelled like
# the table's cell plus derived "late fusion". For catalogue/prernn.py to register as prernn.table6's
# claim_values / claim_arms.
LATE_FUSION = "late fusion"


def fusion_claim_values(runs_root: Path, cfgs: list[RunConfig]) -> pd.DataFrame:
    return pd.DataFrame([{"row": row, "column": "Accuracy", DERIVED: LATE_FUSION, "seed": seed, "test_acc": acc,
                          "status": "done"}
                         for row, per_seed in fused_by_seed(runs_root, cfgs).items() for seed, acc in per_seed.items()])


def fusion_claim_arms(cfgs: list[RunConfig]) -> list[dict]:
    """The fusion rows of one seed's runs: one per kind ("Ours" / baseline) whose two streams are in the grid."""
    kinds = {(_is_baseline(c), _stream(c)) for c in cfgs}
    return [{"row": row, "column": "Accuracy", DERIVED: LATE_FUSION}
            for base, row in ((False, FUSION_ROW), (True, BASELINE_FUSION_ROW))
            if {(base, "color"), (base, "depth")} <= kinds]


def table6_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    results = load_results(runs_root, cfgs)
    if len(results):
        results["row"] = [_table6_row(c) for c in cfgs]
        results["column"] = "Accuracy"
    cells = [_cells(results), baseline_cells(cfgs[0], {"Accuracy": "test_acc"}) if cfgs else None]
    fused = fused_by_seed(runs_root, cfgs)
    if fused:
        cells.append(pd.DataFrame([{"row": row, "column": "Accuracy",
                                    "reproduced": round(sum(v.values()) / len(v), 1), "n_seeds": len(v),
                                    "dataset": "nvgesture (late fusion of the colour and depth runs)"}
                                   for row, v in fused.items()]))
    tidy = comparison(load_reference(PAPER, "table6"), pd.concat(cells, ignore_index=True), scale)
    return write_table(tidy, out_dir / "tables" / PAPER, "table6",
                       f"prernn Table 6: NVGesture accuracy (%), ours = {TABLE6_MODEL}, baseline (w/o RNN) = "
                       f"{BASELINE_MODEL} without its recurrent layer ({scale} scale; the built-in stand-in's one "
                       f"stream fills the depth rows; literature rows are reference only)")
