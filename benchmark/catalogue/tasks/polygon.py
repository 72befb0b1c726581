"""The polygon task's experiments (deeprnn Tables 5/6, Fig. 7; scs Table 4, Fig. 5): the regime at each
scale, the depth-sweep grid, its tables and figures."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from models.nets.polygon_rnn import CELL_DEFAULTS, POLYGON_WIDTHS, scaled_widths
from models.stacks import build_stack, count_parameters

from ...config import RunConfig, validate
from ...figures import plt, save_figure, training_curves
from ...reference import load_reference
from ...results import load_curves, load_results, run_dir, run_status
from ...tables import baseline_cells, comparison, write_table
from ...train.loop import load_finished
from .. import scaled

# ---------------------------------------------------------------- polygon task, shared by table6/fig7
# Each scale inherits nothing but what it states; `paper` is deeprnn section 4.2.
#
# The `cpu` regime (issue 15), chosen from the mechanism under test and fixed before any cell was compared.
# The claim: deep CBM stacks keep training (lower training loss, higher IoU) where deep ConvLSTM stacks
# degrade; the paper's own explanation is that deep ConvLSTM "suffers from higher training loss". So the
# stand-in has to (1) make the image matter, (2) not be memorised, (3) give every depth the same budget and
# (4) measure with less noise than the effect:
# - data: 4096 distinct Fashion-MNIST silhouettes for training and 512 for test (disjoint files), each crop
#   drawing its four margins from 5-60% of the object box, so the object's position and size vary (with
#   the fixed 12-18% margins a fixed rectangle scored 74.9 IoU and beat every trained cell);
# - epochs of 1280 items drawn afresh from the 4096 (`epoch_items`), 4 of them: 320 Adam steps of 16, each
#   item seen about 1.25 times, so training loss measures fitting, not memorising; 320 steps is what the
#   README's main command affords in 45 minutes on 2 cores at 5 seeds (the step count of the previous
#   regime, measured 28 min for 8 cells x 5 seeds);
# - widths: Table 5 x 0.25 with a floor of 8 channels (Table 5's own narrowest layer; x 0.25 alone left
#   2-channel top layers that starve every head alike);
# - lr 2e-3 with a cosine decay to 0 (the paper decays on plateaus, which 4 epochs cannot detect). Pilot
#   (the trivial baseline and one model, CBM-2, seed 0, before any other cell ran): baselines 56.7 IoU
#   (mean training mask) and 3.55 NLL (per-step token frequencies); CBM-2 after 320 steps: lr 1e-3 57.9 IoU
#   / 3.23 NLL (at the baseline, still falling), 2e-3 73.1 / 2.80, 3e-3 73.4 / 2.75; 640 steps at 2e-3
#   77.4 / 2.13 (the ceiling, a perfect decoder on the 12x12 grid, is about 90). 2e-3: clear of the
#   baseline within the budget, and below the fastest rate a 2-layer net tolerates, since the claim is about
#   how deep stacks train;
# - TD 1.0 -> 0.8 -> 0.5 at 5% and 10% of training, the paper's proportion (one epoch each of 20);
# - the end token is forbidden before the third vertex at decoding (PolygonRNN.decode), and the final
#   metrics average the last 2 evaluations (after 240 and 320 steps) to damp single-checkpoint noise; only
#   those 2 epochs are evaluated (`eval_last`; evaluation draws no random numbers, so training is the same):
#   evaluating all 4 took 46 min 07 s for the 50 runs, over the 45-minute budget (an evaluation of the 512
#   test outlines is ~21% of a ConvLSTM-15 run);
# - primary metrics: training loss (mean of the last epochs) and test NLL; IoU beside the trivial
#   baselines (mean mask, fixed rectangle at the data's mean margin).
# Overlap coherence is not used at cpu/smoke: their outlines have at most 10 vertices, and the paper applies
# the scheme only to long sequences ("we do not adopt the overlap coherence training scheme since the
# sequence is not too long", Sec. 4.4); `paper` trains the 10/15-layer nets with it (lambda 0.8).
POLYGON_SCALES = {
    "smoke": dict(dataset="builtin", epochs=3, batch_size=8, lr=1e-3, td_starts=(1, 2),
                  data_kw=dict(n_train=16, n_test=8, image_size=32, grid=8, max_vertices=6, source="shapes"),
                  model_kw=dict(encoder="small", feat_channels=8, width_mult=1 / 16)),
    # precision bf16: measured 1.3-1.6x faster per training step than fp32 on the 2-core AVX512_BF16 CPU
    # (tables/perf/mfu.csv, tables/perf/seeds.csv); `--precision fp32` gives the fp32 runs.
    "cpu": dict(dataset="builtin", epochs=4, epoch_items=1280, batch_size=16, lr=2e-3, lr_schedule="cosine",
                average_last=2, eval_last=2, precision="bf16", td_starts=(0.2, 0.4),
                data_kw=dict(n_train=4096, n_test=512, image_size=48, grid=12, max_vertices=10, source="auto",
                             margin=[0.05, 0.6]),
                model_kw=dict(encoder="small", feat_channels=32, width_mult=0.25, width_floor=8)),
    # Cityscapes, 224x224 crops, 28x28 grid, VGG16 skip encoder (ImageNet weights), Table 5 widths; lr 1e-4
    # decayed on loss plateaus; 10/15 layers with overlap coherence (POLYGON_OVERLAP).
    "paper": dict(dataset="cityscapes", epochs=20, batch_size=16, lr=1e-4, lr_schedule="plateau", td_starts=(1, 2),
                  data_kw=dict(image_size=224, grid=28, max_vertices=70),
                  model_kw=dict(encoder="vgg16", pretrained=True, feat_channels=128, width_mult=1.0)),
}
# NOTES.md: polygon sequences of 58 vertices in 8 clips of 10 (overlap rate 0.25); deeprnn 4.2: lambda 0.8,
# for the 10- and 15-layer models.
POLYGON_OVERLAP = dict(depths=(10, 15), scheme_kw=dict(clip_len=10, overlap_rate=0.25, lam=0.8))
CELL_ROW = {"convlstm": "Polyg-LSTM", "cbm": "Polyg-CBM"}
# the BN factor (issue 15; no paper reports it): the deepest ConvLSTM and CBM again with BatchNorm in the cell
BN_ABLATION_DEPTH = 15
PAPER_INPUT_CHANNELS = 128 + 3


def polygon_td(scale: str, final: float = 0.5) -> tuple:
    """The paper's TD decay at ``scale``: 1.0, 0.8 from the first start, ``final`` from the second (a final
    rate >= 0.8 is reached at the first start). Starts are epochs, fractional at cpu (5% and 10% of it)."""
    first, second = scaled(POLYGON_SCALES, scale)["td_starts"]
    if final >= 0.8:
        return ((0, 1.0), (first, float(final)))
    return ((0, 1.0), (first, 0.8), (second, float(final)))


def polygon_dataset(scale: str, data_root: str | None) -> str:
    """The data set a polygon grid reads: built-in; Cityscapes for a ``--data-root``; at the smoke/cpu
    scales a ``--data-root`` folder of PNG masks (no ``gtFine/``) is a held-out test set of real outlines
    (``benchmark.data.masks``: trained on the built-in silhouettes, tested on the masks)."""
    if not data_root:
        return scaled(POLYGON_SCALES, scale)["dataset"]
    from ...data.masks import is_mask_folder

    return "masks" if scale != "paper" and is_mask_folder(data_root) else "cityscapes"


def polygon_config(experiment: str, scale: str, seed: int, cell: str, depth: int, row: str, data_root: str | None,
                   bn: bool | None = None, **labels) -> RunConfig:
    """One polygon run: ``cell`` stack of ``depth`` layers at ``scale``; the cell's options (CELL_DEFAULTS,
    ``bn`` overriding its BatchNorm) are written into ``model_kw``, so they are part of the run's hash."""
    s = scaled(POLYGON_SCALES, scale)
    cell_kw = {**CELL_DEFAULTS[cell], **({} if bn is None else {"bn": bn})}
    model_kw = {**s["model_kw"], **cell_kw}
    widths = scaled_widths(depth, model_kw["width_mult"], model_kw.get("width_floor", 2))
    cost = count_parameters(build_stack(cell, model_kw["feat_channels"] + 3, widths, **cell_kw))
    overlap = scale == "paper" and depth in POLYGON_OVERLAP["depths"]
    cfg = RunConfig(
        experiment=experiment, scale=scale, task="polygon", model=f"polygon_{cell}_{depth}", seed=seed,
        model_kw=model_kw, dataset=polygon_dataset(scale, data_root), data_root=data_root,
        data_kw=dict(s["data_kw"]), epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"], grad_clip=5.0,
        td_schedule=polygon_td(scale) if cell == "cbm" else (), precision=s.get("precision", "fp32"),
        lr_schedule=s.get("lr_schedule", "constant"), average_last=s.get("average_last", 1),
        epoch_items=s.get("epoch_items", 0), eval_last=s.get("eval_last", 0),
        scheme="overlap" if overlap else "bptt", scheme_kw=dict(POLYGON_OVERLAP["scheme_kw"]) if overlap else {},
        labels=dict(cell=cell, depth=depth, row=row, cost=cost, **labels))
    validate(cfg)
    return cfg


def polygon_runs(experiment: str, scale: str, seeds: int, data_root: str | None,
                 rows: dict = CELL_ROW, depths=(2, 5, 10, 15), bn_ablation: bool = False) -> list[RunConfig]:
    """The polygon grid: one run per (cell, depth, seed); ``rows`` maps each cell to its table row label.
    ``bn_ablation``: the ConvLSTM and CBM at BN_ABLATION_DEPTH again with BatchNorm in the cell (rows
    "<label> <depth> + BN")."""
    cfgs = [polygon_config(experiment, scale, seed, cell, depth, f"{rows[cell]} {depth}", data_root)
            for cell in rows for depth in depths for seed in range(seeds)]
    if bn_ablation:
        cfgs += [polygon_config(experiment, scale, seed, cell, BN_ABLATION_DEPTH,
                                f"{rows[cell]} {BN_ABLATION_DEPTH} + BN", data_root, bn=True, norm="BN")
                 for cell in ("convlstm", "cbm") for seed in range(seeds)]
    return cfgs


def rnn_params_millions(cell: str, depth: int) -> float:
    """RNN parameters of the paper-size stack, counted from the built module (head not counted)."""
    stack = build_stack(cell, PAPER_INPUT_CHANNELS, POLYGON_WIDTHS[depth], **CELL_DEFAULTS[cell])
    return round(count_parameters(stack) / 1e6, 2)


# the polygon tables' run columns: IoU (the paper's) and the cpu regime's primary metrics
POLYGON_METRICS = {"IoU": "test_iou", "test NLL": "test_loss", "train loss": "train_loss"}


def _metric_cells(results: pd.DataFrame) -> pd.DataFrame:
    done = results[results["status"] == "done"] if len(results) else results
    if not len(done):
        return pd.DataFrame(columns=["row", "column", "reproduced", "n_seeds", "dataset"])
    g = done.groupby("row", sort=False)
    parts = []
    for column, metric in POLYGON_METRICS.items():
        if metric in done:
            parts.append(pd.DataFrame({"reproduced": g[metric].mean().round(3 if metric != "test_iou" else 2),
                                       "n_seeds": g["seed"].nunique(),
                                       "dataset": g["dataset"].agg(lambda s: ", ".join(sorted(set(s))))}
                                      ).reset_index().assign(column=column))
    return pd.concat(parts, ignore_index=True)


def polygon_table(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str, paper: str, table: str,
                  rows: dict, caption: str, rename: dict | None = None) -> list[Path]:
    """IoU, test NLL and training loss from the runs (the mean over seeds of each run's final metrics) and
    RNN parameters counted from the paper-size modules, beside the paper's, with the trivial baselines.
    ``rename``: run row label -> the row it fills in this table (runs shared with another table)."""
    results = load_results(runs_root, cfgs)
    if rename and len(results):
        results["row"] = results["row"].replace(rename)
    params = pd.DataFrame([
        {"row": f"{label} {d}", "column": "# params of RNN", "reproduced": rnn_params_millions(c, d),
         "n_seeds": 0, "dataset": "none (counted from the built paper-size modules)"}
        for c, label in rows.items() for d in POLYGON_WIDTHS])
    base = baseline_cells(cfgs[0], {k: v for k, v in POLYGON_METRICS.items() if v != "train_loss"}) if cfgs else None
    tidy = comparison(load_reference(paper, table), pd.concat([params, _metric_cells(results), base]), scale)
    return write_table(tidy, out_dir / "tables" / paper, table, caption)


def table6_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    files = polygon_table(runs_root, cfgs, out_dir, scale, "deeprnn", "table6", CELL_ROW,
                          "deeprnn Table 6: Polygon-RNN IoU (%) on Cityscapes and RNN parameters by depth")
    curves = load_curves(runs_root, cfgs)
    for cell, name, what in (("convlstm", "fig7a", "Polyg-LSTM"), ("cbm", "fig7b", "Polyg-CBM (TD 1.0 -> 0.8 -> 0.5)")):
        sub = curves[curves["cell"] == cell] if len(curves) else curves
        files.append(training_curves(sub, "depth", out_dir / "figures" / "deeprnn" / f"{name}.png",
                                     f"deeprnn Fig. 7{name[-1]}: {what} by depth ({scale} scale)",
                                     hue_label="layers"))
    return files


def table5_outputs(runs_root: Path, cfgs: list[RunConfig], out_dir: Path, scale: str) -> list[Path]:
    """deeprnn Table 5: how many layers of each width the 2/5/10/15-layer polygon RNNs have, read off the
    widths the models are built from."""
    cells = pd.DataFrame([{"row": f"{d}-layer model", "column": str(w), "reproduced": POLYGON_WIDTHS[d].count(w),
                           "n_seeds": 0, "dataset": "none (the built models' widths)"}
                          for d in POLYGON_WIDTHS for w in sorted(set(POLYGON_WIDTHS[d]), reverse=True)])
    tidy = comparison(load_reference("deeprnn", "table5"), cells, scale)
    return write_table(tidy, out_dir / "tables" / "deeprnn", "table5",
                       "deeprnn Table 5: layers of each width in the polygon RNNs (exact)",
                       columns=["256", "128", "64", "32", "8"])


# ---------------------------------------------------------------- Polygon-RNN depth sweep (Table 4)
SCS_TABLE4_ROWS = {"convlstm": "Polyg-LSTM", "convgru": "Polyg-GRU", "cbm": "Polyg-CBM [30]", "scs": "Polyg-SCS"}


def table4_outputs(runs_root, cfgs, out_dir, scale):
    # the ConvLSTM / CBM runs shared with deeprnn Table 6 carry its row labels; the table prints scs's
    rename = {f"Polyg-CBM {d}": f"{SCS_TABLE4_ROWS['cbm']} {d}" for d in POLYGON_WIDTHS}
    return polygon_table(runs_root, cfgs, out_dir, scale, "scs", "table4", SCS_TABLE4_ROWS,
                         "scs Table 4: Polygon-RNN IoU (%) and RNN parameters, LSTM / GRU / CBM / SCS by depth",
                         rename=rename)


# The grid is deeprnn Table 6's (polygon_runs above): the same cpu regime (its reasons are
# written above POLYGON_SCALES), the released cells without BN, the CBM paper's polygon training at the paper
# scale (overlap coherence, clips of 10, for the 10/15-layer nets; lr decay on plateaus). Its ConvLSTM and CBM
# runs ARE Table 6's (the same configs: one run serves both tables, as Fig. 7a/b do), except at the paper
# scale, where scs Table 8 trains its ConvLSTM with other settings (its own runs then).
# scs Table 8, outline annotation: LSTM batch 8 / lr 1e-4, SCS batch 4 / lr 2e-4 (GRU and CBM keep the CBM
# paper's polygon settings). The SCS column's "STSGD" and "LTSC 10 x 4" are not applied: the outline task has
# no sub-goal heads, so neither ASTSGD's q nor scs's LTSC partition is wired (the deep nets' clips are
# deeprnn's overlap coherence, 10 with 25% overlap).
TABLE8_OUTLINE = {"convlstm": dict(batch_size=8, lr=1e-4), "scs": dict(batch_size=4, lr=2e-4)}


def table4_runs(scale, seeds, root):
    own = {k: v for k, v in SCS_TABLE4_ROWS.items() if k in ("convgru", "scs")}
    if scale == "paper":
        own["convlstm"] = SCS_TABLE4_ROWS["convlstm"]
    shared = [c for c in polygon_runs("deeprnn.table6", scale, seeds, root)
              if c.labels["cell"] == "cbm" or (c.labels["cell"] == "convlstm" and "convlstm" not in own)]
    cfgs = shared + polygon_runs("scs.table4", scale, seeds, root, rows=own)
    if scale != "paper":
        return cfgs
    import dataclasses

    return [dataclasses.replace(c, **TABLE8_OUTLINE.get(c.labels["cell"], {})) if c.experiment == "scs.table4" else c
            for c in cfgs]


def _replace(cfg, experiment: str, labels: dict, **changes):
    return dataclasses.replace(cfg, experiment=experiment, labels={**cfg.labels, **labels}, **changes)


# ---------------------------------------------------------------- deeprnn Fig. 7
FIG7C_FINAL_TD = (0.0, 1.0)  # plus 0.5, the Table 6 runs'
FIG7C_DEPTHS = (10, 15)


def fig7_runs(scale, seeds, root):
    base = polygon_runs("deeprnn.table6", scale, seeds, root)  # Fig. 7a/b are the Table 6 runs
    extra = []
    for cfg in polygon_runs("deeprnn.fig7", scale, seeds, root, rows={"cbm": "Polyg-CBM"}, depths=FIG7C_DEPTHS):
        for final in FIG7C_FINAL_TD:
            extra.append(_replace(cfg, "deeprnn.fig7", dict(td_final=final, row=f"{cfg.labels['row']} TD {final}"),
                                  td_schedule=polygon_td(scale, final)))
    return base + extra  # (labels are hashed: the Table 6 runs keep theirs; no td_final label = 0.5)


def _with_default(curves: pd.DataFrame, label: str, value: float) -> pd.DataFrame:
    if len(curves):
        curves[label] = curves[label].fillna(value) if label in curves else value
    return curves


def curves_by_depth(curves: pd.DataFrame, panels: tuple, setting: str, default, fig_dir: Path) -> list[Path]:
    """One training-curve figure per (cell, file name, title) of ``panels``: that cell's runs at the default
    ``setting`` (Table 6's / Table 4's runs), one curve per depth."""
    files = []
    for cell, name, title in panels:
        sub = curves[(curves["cell"] == cell) & (curves[setting] == default)] if len(curves) else curves
        files.append(training_curves(sub, "depth", fig_dir / f"{name}.png", title, hue_label="layers"))
    return files


def fig7_outputs(runs_root, cfgs, out_dir, scale):
    curves = _with_default(load_curves(runs_root, cfgs), "td_final", 0.5)
    fig_dir = Path(out_dir) / "figures" / "deeprnn"
    files = curves_by_depth(curves, (
        ("convlstm", "fig7a", f"deeprnn Fig. 7a: Polyg-LSTM by depth ({scale} scale)"),
        ("cbm", "fig7b", f"deeprnn Fig. 7b: Polyg-CBM (TD 1.0 -> 0.8 -> 0.5) by depth ({scale} scale)")),
        "td_final", 0.5, fig_dir)
    sub = curves[(curves["cell"] == "cbm") & curves["depth"].isin(FIG7C_DEPTHS)] if len(curves) else curves
    if len(sub):
        sub = sub.assign(setting=[f"{d} layers, TD {t:g}" for d, t in zip(sub["depth"], sub["td_final"])])
    files.append(training_curves(sub, "setting", fig_dir / "fig7c.png",
                                 f"deeprnn Fig. 7c: final TD rate on 10/15-layer Polyg-CBM ({scale} scale)",
                                 hue_label=""))
    # the final numbers behind the curves, so the report can show them as a table too
    if len(curves):
        last = curves.sort_values("epoch").groupby(["row", "seed"], sort=False).tail(1)
        summary = last.groupby("row", sort=False).agg(train_loss=("train_loss", "mean"), test_iou=("test_iou", "mean"),
                                                      epochs=("epoch", "max"), n_seeds=("seed", "nunique")).round(3)
    else:
        summary = pd.DataFrame(columns=["train_loss", "test_iou", "epochs", "n_seeds"])
    csv = Path(out_dir) / "tables" / "deeprnn" / "fig7_final.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    summary.assign(scale=scale).to_csv(csv)
    return files + [csv]


# ---------------------------------------------------------------- scs Fig. 5 c
# Without the sub-goal heads in the outline task, ASTSGD cannot move q, so "initial q" is an STSGD p that
# starts at q0 and decays linearly to 0 over the first half of training (a named choice).
FIG5_Q0 = (0.5, 0.9)  # plus q0 = 0: the Table 4 SCS run
FIG5_Q_DEPTH = 10


def q_decay(q0: float, epochs: int) -> tuple:
    half = max(1, epochs // 2)
    return tuple((e, round(q0 * (1 - e / half), 4)) for e in range(half)) + ((half, 0.0),)


def scs_fig5_runs(scale, seeds, root):
    rows = {"convlstm": SCS_TABLE4_ROWS["convlstm"], "scs": SCS_TABLE4_ROWS["scs"]}
    base = [c for c in table4_runs(scale, seeds, root) if c.labels["cell"] in rows]
    extra = []  # (labels are hashed: the Table 4 runs keep theirs; no q0 label = 0)
    paper = TABLE8_OUTLINE["scs"] if scale == "paper" else {}
    for cfg in polygon_runs("scs.fig5", scale, seeds, root, rows={"scs": rows["scs"]}, depths=(FIG5_Q_DEPTH,)):
        for q0 in FIG5_Q0:
            extra.append(_replace(cfg, "scs.fig5", dict(q0=q0, row=f"{cfg.labels['row']} q0 {q0}"),
                                  stsgd_schedule=q_decay(q0, cfg.epochs), **paper))
    return base + extra


def outline_examples(runs_root: Path, cfg, out: Path, title: str, n: int = 6) -> Path:
    """Predicted (red) and ground-truth (green) outlines of a trained polygon run on test images."""
    from ...data.polygon import collate_polygons, target_to_polygon

    model, test = load_finished(runs_root, cfg)
    batch = collate_polygons([test[i] for i in range(min(n, len(test)))])
    with torch.no_grad():
        pred = model.decode(batch["image"], max_len=test.max_len).numpy()
    fig, axes = plt.subplots(1, len(pred), figsize=(1.9 * len(pred), 2.2), squeeze=False)
    for ax, img, p, gt in zip(axes[0], batch["image"], pred, batch["polygon"]):
        im = img.permute(1, 2, 0).numpy()
        ax.imshow(np.clip(im, 0, 1) if im.shape[2] == 3 else im[..., 0], cmap="gray")
        for poly, colour in ((gt, "lime"), (target_to_polygon(p, test.grid, test.image_size), "red")):
            if len(poly):
                closed = np.vstack([poly, poly[:1]])
                ax.plot(closed[:, 0], closed[:, 1], "-o", color=colour, ms=2, lw=1.2)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, out, dpi=110)


def scs_fig5_outputs(runs_root, cfgs, out_dir, scale):
    curves = _with_default(load_curves(runs_root, cfgs), "q0", 0.0)
    fig_dir = Path(out_dir) / "figures" / "scs"
    files = curves_by_depth(curves, (("convlstm", "fig5c_lstm", f"scs Fig. 5c: Polyg-LSTM by depth ({scale} scale)"),
                                     ("scs", "fig5c_scs", f"scs Fig. 5c: Polyg-SCS by depth ({scale} scale)")),
                            "q0", 0.0, fig_dir)
    sub = curves[(curves["cell"] == "scs") & (curves["depth"] == FIG5_Q_DEPTH)] if len(curves) else curves
    files.append(training_curves(sub, "q0", fig_dir / "fig5c_q.png",
                                 f"scs Fig. 5c: {FIG5_Q_DEPTH}-layer Polyg-SCS by initial q ({scale} scale)",
                                 hue_label="initial q"))
    done = [c for c in cfgs if c.labels["cell"] == "scs" and c.labels.get("q0", 0.0) == 0.0
            and run_status(run_dir(runs_root, c)) == "done"]
    if done:
        best = max(done, key=lambda c: c.labels["depth"])
        files.append(outline_examples(runs_root, best, fig_dir / "fig5b.png",
                                      f"scs Fig. 5b: outlines by the {best.labels['depth']}-layer Polyg-SCS "
                                      f"(green: ground truth, red: predicted; {scale} scale)"))
    return files
